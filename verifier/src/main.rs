//! `veche-verify`: the command-line verifier (see `specs/verifier.md`).

use clap::{Args, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use veche_log::cosignature::Cosignature;
use veche_verify::checkpoint::{Show, Verified, key_name, verify_log_checkpoint};
use veche_verify::{
    Error, Result, audit, eligibility, petitions, polls, quorum, receipt, source, state, witness,
};

mod pb;

const EXIT_CODES: &str = "\
Exit codes:
  0  verified
  1  verification failed: the log (or the receipt) is wrong
  2  could not check: bad usage, unreadable file, network or I/O problem";

/// Verifies a Veche transparency log from the outside, trusting only its
/// public key: signed checkpoints, consistency with checkpoints seen
/// before, receipts, and full audits of every entry and tile.
#[derive(Parser)]
#[command(name = "veche-verify", version, after_help = EXIT_CODES)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct LogArgs {
    /// The log: a tlog-tiles URL prefix (`http://host:port` means
    /// `http://host:port/log`) or a directory holding a static mirror.
    #[arg(long, value_name = "URL|DIR")]
    log: String,
    /// The log's verifier key `name+hexid+base64`, or `@FILE` to read it
    /// from a file.
    #[arg(long, value_name = "VKEY|@FILE")]
    vkey: String,
    /// The file remembering the latest checkpoint seen [default:
    /// $XDG_STATE_HOME or ~/.local/state, then veche-verify/<origin>.json].
    #[arg(long, value_name = "FILE")]
    state: Option<PathBuf>,
    /// A witness trusted to cosign the log's checkpoints: its cosigner key
    /// `name+hexid+base64(0x04||key)`. Repeatable.
    #[arg(long = "witness", value_name = "VKEY")]
    witnesses: Vec<String>,
    /// Fail unless at least K of the `--witness` witnesses cosigned the
    /// log's checkpoint.
    #[arg(long, value_name = "K", default_value_t = 0)]
    quorum: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Verify the log's signed checkpoint and prove it consistent with the
    /// one remembered from the previous run; then remember it.
    #[command(after_help = EXIT_CODES)]
    Checkpoint(LogArgs),
    /// Verify a receipt: its entry, inclusion proof and checkpoint, and
    /// that the log's current checkpoint extends the receipt's.
    #[command(after_help = EXIT_CODES)]
    Inclusion {
        #[command(flatten)]
        log: LogArgs,
        /// The receipt file (JSON, format veche-receipt/v1).
        #[arg(long, value_name = "FILE")]
        receipt: PathBuf,
    },
    /// Verify the checkpoint, then every entry and every hash tile of the
    /// log, recomputing the root; summarise the log's contents.
    #[command(after_help = EXIT_CODES)]
    Audit {
        #[command(flatten)]
        log: LogArgs,
        /// Print one JSON object on standard output instead of a summary.
        #[arg(long)]
        json: bool,
        /// Judge the legislature's deadlines at this time: RFC 3339
        /// (2026-11-23T14:00:00Z) or milliseconds since the Unix epoch
        /// [default: now].
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Audit the log (as `audit`), then show one petition as the log
    /// declares it: counts, threshold, deadlines, the legislature's answers.
    #[command(after_help = EXIT_CODES)]
    Petition {
        #[command(flatten)]
        log: LogArgs,
        /// The petition id: the log index of its petition_filed entry.
        #[arg(value_name = "ID")]
        id: u64,
        /// Print one JSON object on standard output instead of text.
        #[arg(long)]
        json: bool,
        /// Judge the legislature's deadlines at this time: RFC 3339 or
        /// milliseconds since the Unix epoch [default: now].
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Audit the log (as `audit`), then show one poll recounted from its
    /// ballots: question, method, window, turnout, counts or Schulze
    /// ranking, winners, and the declared closing.
    #[command(name = "poll", after_help = EXIT_CODES)]
    Poll {
        #[command(flatten)]
        log: LogArgs,
        /// The poll id: the log index of its poll_opened entry.
        #[arg(value_name = "ID")]
        id: u64,
        /// Print one JSON object on standard output instead of text.
        #[arg(long)]
        json: bool,
        /// Judge the poll's status at this time: RFC 3339 or milliseconds
        /// since the Unix epoch [default: now].
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Audit the log (as `audit`), then show one participatory-budgeting
    /// round recounted from its ballots: phases, projects with approvals
    /// and costs, winners, spent against the budget, the declared result.
    #[command(name = "pb-round", after_help = EXIT_CODES)]
    PbRound {
        #[command(flatten)]
        log: LogArgs,
        /// The round id: the log index of its pb_round_opened entry.
        #[arg(value_name = "ID")]
        id: u64,
        /// Print one JSON object on standard output instead of text.
        #[arg(long)]
        json: bool,
        /// Judge the round's phase at this time: RFC 3339 or milliseconds
        /// since the Unix epoch [default: now].
        #[arg(long, value_name = "TIME")]
        now: Option<String>,
    },
    /// Audit the log (as `audit`), then check every petition signature
    /// against an eligibility export: each must be backed by a valid passkey
    /// assertion of a registered credential.
    #[command(after_help = EXIT_CODES)]
    Eligibility {
        #[command(flatten)]
        log: LogArgs,
        /// The export (JSON, format veche-eligibility-export/v1).
        #[arg(long, value_name = "FILE")]
        export: PathBuf,
        /// Print one JSON object on standard output instead of a report.
        #[arg(long)]
        json: bool,
    },
    /// Count a participatory-budgeting election from a Pabulib file
    /// (greedy or Method of Equal Shares, see specs/pb.md); print the winners.
    #[command(after_help = EXIT_CODES)]
    Pb(pb::PbArgs),
    /// Run a C2SP tlog-witness: cosign the checkpoints of the given logs
    /// that are consistent with the last one cosigned (`POST
    /// /add-checkpoint`), keeping its key and state in --state.
    Witness(WitnessArgs),
}

#[derive(Args)]
struct WitnessArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, value_name = "ADDR")]
    listen: std::net::SocketAddr,
    /// Directory for the witness's key (made at first start, mode 0600)
    /// and the latest checkpoint it cosigned for each log.
    #[arg(long, value_name = "DIR")]
    state: PathBuf,
    /// Verifier key of a log to witness (its name is the log's origin), or
    /// `@FILE`. Repeatable.
    #[arg(long = "log-vkey", value_name = "VKEY|@FILE", required = true)]
    log_vkeys: Vec<String>,
    /// The witness's name (e.g. witness.example.org/w1); required at first
    /// start, when the key is made.
    #[arg(long)]
    name: Option<String>,
    /// Request-handling threads.
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    threads: u16,
}

/// The verifier key, the log source and the state file of a command.
struct Target {
    vkey: String,
    origin: String,
    src: std::sync::Arc<dyn source::LogSource>,
    state: PathBuf,
    witnesses: quorum::Policy,
}

impl Target {
    /// [`verify_log_checkpoint`], then the witness quorum on its note.
    fn verify(&self) -> Result<(Verified, Vec<Cosignature>)> {
        let v = verify_log_checkpoint(self.src.as_ref(), &self.vkey, &self.state)?;
        let cosignatures = if self.witnesses.is_empty() {
            Vec::new()
        } else {
            self.witnesses.check(
                v.note.as_bytes(),
                &self.vkey,
                &self.src.locate("checkpoint"),
            )?
        };
        Ok((v, cosignatures))
    }
}

/// A key given as text or as `@FILE`.
fn key_arg(flag: &str, value: &str) -> Result<String> {
    Ok(match value.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .map_err(|e| Error::CouldNotCheck(format!("{flag} @{file}: {e}")))?
            .trim()
            .to_owned(),
        None => value.trim().to_owned(),
    })
}

fn target(args: &LogArgs) -> Result<Target> {
    let vkey = key_arg("--vkey", &args.vkey)?;
    let witnesses = quorum::Policy::new(&args.witnesses, args.quorum)?;
    let origin = key_name(&vkey)?;
    let state = match &args.state {
        Some(p) => p.clone(),
        None => state::default_path(&origin)?,
    };
    Ok(Target {
        src: source::open(&args.log)?,
        vkey,
        origin,
        state,
        witnesses,
    })
}

fn cosigners_line(cosignatures: &[Cosignature]) -> String {
    let mut names: Vec<&str> = cosignatures.iter().map(|c| c.name.as_str()).collect();
    names.dedup();
    format!(
        "cosigned by {} trusted witness(es): {}",
        names.len(),
        names.join(", ")
    )
}

fn consistency_line(v: &Verified, state: &Path) -> String {
    match &v.previous {
        Some(old) => format!(
            "consistent with the checkpoint seen before ({}), from {}",
            Show(old),
            state.display()
        ),
        None => format!(
            "first checkpoint seen of this log; remembered in {}",
            state.display()
        ),
    }
}

fn checkpoint(args: &LogArgs) -> Result<()> {
    let t = target(args)?;
    let (v, cosignatures) = t.verify()?;
    v.remember(&t.state)?;
    println!("OK: checkpoint of {} verified", t.origin);
    println!("  {}", Show(&v.checkpoint));
    println!("  {}", consistency_line(&v, &t.state));
    if !t.witnesses.is_empty() {
        println!("  {}", cosigners_line(&cosignatures));
    }
    Ok(())
}

fn inclusion(args: &LogArgs, receipt_file: &Path) -> Result<()> {
    let t = target(args)?;
    let r = receipt::read(receipt_file)?;
    let checked = receipt::check(&r, &t.vkey)?;
    let (v, _) = t.verify()?;
    receipt::check_in_log(t.src.as_ref(), &checked, &v.checkpoint)?;
    v.remember(&t.state)?;
    println!("OK: entry {} is in the log {}", checked.index, t.origin);
    println!("  leaf hash {}", checked.leaf_hash.to_base64());
    match &checked.entry {
        Some(e) => println!(
            "  entry ({}): {}",
            e.kind_name(),
            serde_json::to_string_pretty(e).unwrap_or_default()
        ),
        None => println!("  (the receipt does not carry the entry itself)"),
    }
    println!(
        "  included in the receipt's checkpoint ({})",
        Show(&checked.checkpoint)
    );
    println!(
        "  the log's current checkpoint ({}) extends it",
        Show(&v.checkpoint)
    );
    println!("  {}", consistency_line(&v, &t.state));
    Ok(())
}

fn run_audit(args: &LogArgs) -> Result<(Verified, audit::Audit, PathBuf)> {
    run_audit_visiting(args, &mut |_, _| {})
}

/// [`run_audit`], showing every entry to `visit` (see `audit::audit_with`).
fn run_audit_visiting(
    args: &LogArgs,
    visit: &mut dyn FnMut(u64, &veche_entry::Entry),
) -> Result<(Verified, audit::Audit, PathBuf)> {
    let t = target(args)?;
    let (v, _) = t.verify()?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(v.checkpoint.size);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} auditing [{bar:40}] {human_pos}/{human_len} entries, {per_sec}, eta {eta}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar
    });
    let result = audit::audit_with(
        t.src.clone(),
        &v.checkpoint,
        &mut |n| {
            if let Some(bar) = &bar {
                bar.set_position(n);
            }
        },
        visit,
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let report = result?;
    v.remember(&t.state)?;
    Ok((v, report, t.state))
}

fn audit_command(args: &LogArgs, json: bool, now: Option<&str>) -> Result<()> {
    let now = time_arg(now, json)?;
    // The recount of every declared poll and round tally is part of the
    // audit: a disagreement fails it like any refused entry.
    let result = run_audit(args).and_then(|(v, a, st)| {
        let tallies = polls::Summary::new(&a.state)?;
        Ok((v, a, st, tallies))
    });
    if json {
        let out = match &result {
            Ok((v, a, _, tallies)) => {
                let jurisdictions: Vec<_> = a
                    .jurisdictions
                    .iter()
                    .map(|(id, r)| {
                        serde_json::json!({
                            "id": id,
                            "name_en": r.current.name_en,
                            "name_ru": r.current.name_ru,
                            "population": r.current.population,
                            "declarations": r.declarations,
                            "first_index": r.first_index,
                            "last_index": r.last_index,
                        })
                    })
                    .collect();
                let rolls: Vec<_> = a
                    .rolls
                    .iter()
                    .map(|(id, r)| {
                        serde_json::json!({
                            "jurisdiction": id,
                            "version": r.current.version,
                            "records": r.current.records,
                            "commitment": hex::encode(r.current.commitment),
                            "actor": r.current.actor,
                            "last_index": r.last_index,
                        })
                    })
                    .collect();
                serde_json::json!({
                    "ok": true,
                    "rolls": rolls,
                    "origin": v.checkpoint.origin,
                    "size": v.checkpoint.size,
                    "root": v.checkpoint.root.to_base64(),
                    "previous": v.previous.as_ref().map(|p| serde_json::json!({
                        "size": p.size, "root": p.root.to_base64()
                    })),
                    "entries_by_kind": a.entries_by_kind,
                    "jurisdictions": jurisdictions,
                    "petitions": petitions::Summary::new(&a.state, now).to_json(),
                    "polls": tallies.to_json(),
                })
            }
            Err(e) => serde_json::json!({
                "ok": false,
                "exit_code": e.exit_code(),
                "error": e.to_string(),
            }),
        };
        println!("{out}");
        return result.map(|_| ());
    }
    let (v, a, state, tallies) = result?;
    let cp = &v.checkpoint;
    println!("OK: audited the log {}", cp.origin);
    println!("  size {} entries, root {}", cp.size, cp.root.to_base64());
    println!("  {}", consistency_line(&v, &state));
    println!("  entries by kind:");
    for (kind, n) in &a.entries_by_kind {
        println!("    {kind:<20} {n}");
    }
    println!("  jurisdictions ({}):", a.jurisdictions.len());
    for (id, r) in a.jurisdictions.iter() {
        println!(
            "    {id:<24} population {:>12}  {} (declared {}×, latest at entry {})",
            r.current.population, r.current.name_en, r.declarations, r.last_index
        );
    }
    if a.rolls.iter().next().is_some() {
        println!("  electoral rolls:");
        for (id, r) in a.rolls.iter() {
            println!(
                "    {id:<24} version {:>4}  {:>10} records (latest at entry {}, loaded by {} {})",
                r.current.version,
                r.current.records,
                r.last_index,
                r.current.actor.role,
                r.current.actor.pseudonym
            );
        }
    }
    let summary = petitions::Summary::new(&a.state, now);
    if summary.petitions > 0 {
        for line in summary.lines() {
            println!("  {line}");
        }
    }
    if tallies.polls + tallies.rounds > 0 {
        for line in tallies.lines() {
            println!("  {line}");
        }
    }
    Ok(())
}

/// What `poll ID` or `pb-round ID` shows: JSON, or text lines.
enum Shown {
    Poll,
    Round,
}

fn tally_command(
    args: &LogArgs,
    what: Shown,
    id: u64,
    json: bool,
    now: Option<&str>,
) -> Result<()> {
    let now = time_arg(now, json)?;
    let result = run_audit(args).and_then(|(v, a, _)| {
        polls::Summary::new(&a.state)?;
        let (name, body, lines) = match what {
            Shown::Poll => {
                let p = polls::find_poll(&a.state, id)?;
                (
                    "poll",
                    polls::poll_json(p, now)?,
                    polls::poll_lines(p, now)?,
                )
            }
            Shown::Round => {
                let r = polls::find_round(&a.state, id)?;
                (
                    "round",
                    polls::round_json(r, now)?,
                    polls::round_lines(r, now)?,
                )
            }
        };
        Ok((v, name, body, lines))
    });
    let (v, name, body, lines) = match result {
        Ok(ok) => ok,
        Err(e) => {
            if json {
                println!("{}", failure_json(&e));
            }
            return Err(e);
        }
    };
    let cp = &v.checkpoint;
    if json {
        let out = serde_json::json!({
            "ok": true,
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.to_base64(),
            name: body,
        });
        println!("{out}");
        return Ok(());
    }
    let title = if name == "poll" { "poll" } else { "PB round" };
    println!(
        "OK: {title} {id} as the log {} declares it, recounted",
        cp.origin
    );
    println!(
        "  (audited all {} entries, root {})",
        cp.size,
        cp.root.to_base64()
    );
    for line in lines {
        println!("  {line}");
    }
    Ok(())
}

/// The failure as the JSON object of `--json`.
fn failure_json(e: &Error) -> serde_json::Value {
    serde_json::json!({
        "ok": false,
        "exit_code": e.exit_code(),
        "error": e.to_string(),
    })
}

/// The `--now` argument in ms (default: the system clock); a bad one is
/// also reported on standard output with `--json`.
fn time_arg(now: Option<&str>, json: bool) -> Result<u64> {
    now.map_or_else(|| Ok(petitions::now_ms()), petitions::parse_time)
        .inspect_err(|e| {
            if json {
                println!("{}", failure_json(e));
            }
        })
}

fn petition_command(args: &LogArgs, id: u64, json: bool, now: Option<&str>) -> Result<()> {
    let now = time_arg(now, json)?;
    let result = run_audit(args).and_then(|(v, a, _)| {
        petitions::find(&a.state, id)?;
        Ok((v, a))
    });
    let (v, a) = match result {
        Ok(ok) => ok,
        Err(e) => {
            if json {
                println!("{}", failure_json(&e));
            }
            return Err(e);
        }
    };
    let p = petitions::find(&a.state, id)?;
    let cp = &v.checkpoint;
    if json {
        let out = serde_json::json!({
            "ok": true,
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.to_base64(),
            "petition": petitions::petition_json(&a.state, p, now),
        });
        println!("{out}");
        return Ok(());
    }
    println!("OK: petition {id} as the log {} declares it", cp.origin);
    println!(
        "  (audited all {} entries, root {})",
        cp.size,
        cp.root.to_base64()
    );
    for line in petitions::petition_lines(&a.state, p, now) {
        println!("  {line}");
    }
    Ok(())
}

fn eligibility_command(args: &LogArgs, export: &Path, json: bool) -> Result<()> {
    let mut signatures = Vec::new();
    let result = eligibility::read(export).and_then(|export| {
        let t = target(args)?;
        export.check_for_log(&t.origin)?;
        let (v, a, _) = run_audit_visiting(args, &mut |i, e| {
            signatures.extend(eligibility::LoggedSignature::of(i, e));
        })?;
        let report = eligibility::check(&export, &a.state, v.checkpoint.size, &signatures);
        Ok((v, report))
    });
    let (v, report) = match result {
        Ok(ok) => ok,
        Err(e) => {
            if json {
                println!("{}", failure_json(&e));
            }
            return Err(e);
        }
    };
    let cp = &v.checkpoint;
    let failure = report.failure().map(Error::Failed);
    if json {
        let mut out = serde_json::json!({
            "ok": report.ok(),
            "origin": cp.origin,
            "size": cp.size,
            "root": cp.root.to_base64(),
        });
        if let (serde_json::Value::Object(m), serde_json::Value::Object(r)) =
            (&mut out, report.to_json())
        {
            m.extend(r);
            if let Some(e) = &failure {
                m.insert("exit_code".into(), e.exit_code().into());
                m.insert("error".into(), e.to_string().into());
            }
        }
        println!("{out}");
    } else {
        println!(
            "{}: eligibility of the signatures of the log {}",
            if report.ok() { "OK" } else { "FAILED" },
            cp.origin
        );
        println!(
            "  (audited all {} entries, root {})",
            cp.size,
            cp.root.to_base64()
        );
        for line in report.lines() {
            println!("  {line}");
        }
    }
    failure.map_or(Ok(()), Err)
}

fn run_witness(args: &WitnessArgs) -> Result<()> {
    let log_vkeys = args
        .log_vkeys
        .iter()
        .map(|k| key_arg("--log-vkey", k))
        .collect::<Result<Vec<_>>>()?;
    let w = witness::Witness::start(&witness::WitnessConfig {
        listen: args.listen,
        state_dir: args.state.clone(),
        name: args.name.clone(),
        log_vkeys,
        threads: usize::from(args.threads),
    })?;
    // Printed, not logged: operators and tests read the key and address.
    println!("witness verifier key: {}", w.vkey());
    println!("listening on http://{}/add-checkpoint", w.addr());
    w.wait();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Checkpoint(args) => checkpoint(args),
        Command::Inclusion { log, receipt } => inclusion(log, receipt),
        Command::Audit { log, json, now } => audit_command(log, *json, now.as_deref()),
        Command::Petition { log, id, json, now } => {
            petition_command(log, *id, *json, now.as_deref())
        }
        Command::Poll { log, id, json, now } => {
            tally_command(log, Shown::Poll, *id, *json, now.as_deref())
        }
        Command::PbRound { log, id, json, now } => {
            tally_command(log, Shown::Round, *id, *json, now.as_deref())
        }
        Command::Eligibility { log, export, json } => eligibility_command(log, export, *json),
        Command::Pb(args) => pb::run(args),
        Command::Witness(args) => run_witness(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            match &e {
                Error::Failed(m) => eprintln!("veche-verify: VERIFICATION FAILED: {m}"),
                Error::CouldNotCheck(m) => eprintln!("veche-verify: could not check: {m}"),
            }
            ExitCode::from(e.exit_code())
        }
    }
}
