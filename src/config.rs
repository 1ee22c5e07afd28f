//! Command-line options and the data directory: where the database and the
//! log's signing key live, and how the log's origin is fixed.

use std::fs;
use std::io::Write;
use std::net::SocketAddr;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use veche_log::checkpoint::LogSigner;
use veche_store::{DatabaseConfig, Store};

#[derive(Parser, Debug)]
#[command(
    name = "veche",
    version,
    about = "Veche: petitions and votes on an append-only, publicly verifiable log"
)]
pub struct Cli {
    #[command(flatten)]
    pub storage: StorageArgs,
    /// Run a demonstration on a data directory of its own (`<data-dir>/demo`):
    /// demo jurisdictions, citizens and petitions in every state, seeded
    /// through the real API. With another command, act on that demo data.
    #[arg(long)]
    pub demo: bool,
    /// How log lines are written to stderr: `text` for people, `json` (one
    /// object a line) for log collectors.
    #[arg(long, global = true, env = "VECHE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Args, Debug, Clone)]
pub struct StorageArgs {
    /// Directory for the embedded database and the keys.
    #[arg(
        long,
        global = true,
        env = "VECHE_DATA_DIR",
        default_value = "veche-data"
    )]
    pub data_dir: PathBuf,
    /// PostgreSQL URL (postgres://…); the embedded SQLite database in the data
    /// directory is used when absent.
    #[arg(long, global = true, env = "VECHE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The log's origin: the first line of every checkpoint and the name of
    /// its key. Fixed at first start; derived from --public-url by default.
    #[arg(long, global = true, env = "VECHE_ORIGIN")]
    pub origin: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the web server (the default).
    Serve(ServeArgs),
    /// Jurisdictions and their official populations.
    #[command(subcommand)]
    Jurisdiction(JurisdictionCommand),
    /// The public log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Staff accounts.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Write a consistent backup of the database (also while the server
    /// runs): SQLite by VACUUM INTO, PostgreSQL by pg_dump. The secrets of
    /// the data directory are backed up separately (specs/operations.md).
    Backup {
        /// The backup file to create (never overwritten).
        #[arg(long)]
        to: PathBuf,
    },
    /// Restore a backup made by `veche backup` into a fresh data directory
    /// (SQLite) or an empty database (PostgreSQL), and check it.
    Restore {
        /// The backup file.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, env = "VECHE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// The URL people reach this service at; printed, and used to derive the
    /// log's origin at first start. Default: http://localhost:<port>.
    #[arg(long, env = "VECHE_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Least time between two signed checkpoints (e.g. 1s, 250ms).
    #[arg(long, env = "VECHE_CHECKPOINT_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub checkpoint_interval: Duration,
    /// Most entries the sequencer commits in one transaction.
    #[arg(long, env = "VECHE_MAX_BATCH", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..=65536))]
    pub max_batch: u32,
    /// How long a sign-in lasts (e.g. 12h is `720m`).
    #[arg(long, env = "VECHE_SESSION_TTL", default_value = "720m", value_parser = parse_duration)]
    pub session_ttl: Duration,
    /// Argon2id cost for roll and code hashes: `production`, or `test` (fast
    /// and weak: only for tests).
    #[arg(long, env = "VECHE_ARGON2", value_enum, default_value_t = Argon2Profile::Production)]
    pub argon2: Argon2Profile,
    #[command(flatten)]
    pub limits: crate::limits::LimitArgs,
    /// A witness to gather cosignatures from (C2SP tlog-witness):
    /// `name=NAME,vkey=VKEY,url=URL`. Repeatable; in VECHE_WITNESSES,
    /// separated by `;`.
    #[arg(long = "witness", env = "VECHE_WITNESSES", value_delimiter = ';', value_parser = crate::witness::parse_witness)]
    pub witnesses: Vec<crate::witness::WitnessSpec>,
    /// Serve demo data from `<data-dir>/demo`, seeding it on first start
    /// (the same as `veche --demo`).
    #[arg(long)]
    pub demo: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Argon2Profile {
    Production,
    Test,
}

impl Default for ServeArgs {
    fn default() -> Self {
        Self {
            listen: "127.0.0.1:8080".parse().expect("valid address"),
            public_url: None,
            checkpoint_interval: Duration::from_secs(1),
            max_batch: 4096,
            session_ttl: Duration::from_secs(12 * 3600),
            argon2: Argon2Profile::Production,
            limits: crate::limits::LimitArgs::default(),
            witnesses: Vec::new(),
            demo: false,
        }
    }
}

#[derive(Subcommand, Debug)]
pub enum JurisdictionCommand {
    /// Declare a jurisdiction (or update its population) in the log.
    Add(crate::jurisdictions::JurisdictionArgs),
    /// List the jurisdictions as the log declares them.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Subcommand, Debug)]
pub enum AdminCommand {
    /// Print a one-time link that creates a staff account with a passkey.
    Invite {
        /// admin, registrar, moderator, clerk or organiser.
        #[arg(long)]
        role: String,
        /// The jurisdiction a registrar or clerk works for.
        #[arg(long)]
        jurisdiction: Option<String>,
        /// The service's public URL, for the link.
        #[arg(
            long,
            env = "VECHE_PUBLIC_URL",
            default_value = "http://localhost:8080"
        )]
        public_url: String,
        /// How long the link stays valid.
        #[arg(long, default_value = "4320m", value_parser = parse_duration)]
        valid_for: Duration,
    },
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Write the log as static C2SP tlog-tiles files (a mirror any web server can serve).
    Export {
        /// Target directory; files already there are kept (tile paths are immutable).
        dir: PathBuf,
        /// Keep the mirror in sync: export again whenever a new checkpoint
        /// is signed, until interrupted.
        #[arg(long)]
        follow: bool,
        /// How often `--follow` looks for a new checkpoint.
        #[arg(long, default_value = "1s", value_parser = parse_duration)]
        interval: Duration,
    },
}

/// Parses `1s`, `250ms`, `2m` or a bare number of seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration like 1s or 250ms"))?;
    let d = match unit {
        "ms" => Duration::from_millis(n),
        "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        _ => return Err(format!("`{s}`: unknown unit `{unit}` (use ms, s or m)")),
    };
    if d.is_zero() {
        return Err("duration must be more than zero".into());
    }
    Ok(d)
}

impl StorageArgs {
    pub fn database(&self) -> DatabaseConfig {
        match &self.database_url {
            Some(url) => DatabaseConfig::Postgres(url.clone()),
            None => DatabaseConfig::Sqlite(self.data_dir.join("veche.db")),
        }
    }

    /// Creates the data directory (mode 0700) and opens the database.
    pub async fn open_store(&self) -> Result<Store> {
        ensure_private_dir(&self.data_dir)?;
        let db = self.database();
        Store::open(&db).await.with_context(|| match &db {
            DatabaseConfig::Sqlite(p) => format!("opening SQLite database {}", p.display()),
            DatabaseConfig::Postgres(_) => "connecting to PostgreSQL".to_string(),
        })
    }
}

fn ensure_private_dir(dir: &Path) -> Result<()> {
    if !dir.exists() {
        fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// Turns a public URL into a log origin: the URL without its scheme and
/// without a trailing slash (`https://veche.example/` → `veche.example`).
pub fn origin_from_url(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .with_context(|| format!("public URL `{url}` must start with http:// or https://"))?;
    let origin = rest.trim_end_matches('/');
    validate_origin(origin)?;
    Ok(origin.to_string())
}

pub fn validate_origin(origin: &str) -> Result<()> {
    if origin.is_empty()
        || origin.len() > 200
        || origin
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '+')
    {
        bail!(
            "log origin `{origin}` is not valid: it must be 1–200 characters with no spaces or `+` (e.g. veche.example.org/log)"
        );
    }
    Ok(())
}

/// Fixes the log's origin: the one stored at first start wins; a different
/// `--origin` later is refused, since the origin names the log.
pub async fn resolve_origin(
    store: &Store,
    requested: Option<&str>,
    default: &str,
) -> Result<String> {
    if let Some(o) = requested {
        validate_origin(o)?;
    }
    match store.meta("origin").await? {
        Some(stored) => {
            if let Some(o) = requested
                && o != stored
            {
                bail!(
                    "this log's origin is `{stored}`; --origin `{o}` differs. The origin names the log and cannot change"
                );
            }
            Ok(stored)
        }
        None => {
            let origin = requested.unwrap_or(default);
            validate_origin(origin)?;
            Ok(store.meta_set_if_absent("origin", origin).await?)
        }
    }
}

/// Loads the log signing key: from `VECHE_LOG_KEY` if set, else from
/// `<data-dir>/log.key`, created (mode 0600) on first use.
pub fn load_or_create_key(data_dir: &Path, origin: &str) -> Result<LogSigner> {
    if let Ok(skey) = std::env::var("VECHE_LOG_KEY") {
        let signer = LogSigner::from_skey(skey.trim())
            .map_err(|e| anyhow::anyhow!("VECHE_LOG_KEY is not a valid note signing key: {e}"))?;
        return check_key_name(signer, origin, "VECHE_LOG_KEY");
    }
    let path = data_dir.join("log.key");
    if path.exists() {
        let mode = fs::metadata(&path)?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            bail!(
                "{} is readable by others (mode {mode:o}); run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
        let skey =
            fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let signer = LogSigner::from_skey(skey.trim()).map_err(|e| {
            anyhow::anyhow!("{} is not a valid note signing key: {e}", path.display())
        })?;
        return check_key_name(signer, origin, &path.display().to_string());
    }
    ensure_private_dir(data_dir)?;
    let (signer, skey) = LogSigner::generate(origin);
    write_secret_file(&path, &skey)?;
    tracing::info!(path = %path.display(), "created a new log signing key");
    Ok(signer)
}

/// Creates `path` with mode 0600 holding `secret` and a newline, durably;
/// refuses to overwrite an existing file.
pub fn write_secret_file(path: &Path, secret: &str) -> Result<()> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    file.write_all(b"\n")?;
    file.sync_all()?;
    Ok(())
}

/// The WebAuthn relying party for a public URL: RP ID = its host, the one
/// allowed origin = its scheme, host and port.
pub fn relying_party(public_url: &str) -> Result<veche_passkey::RelyingParty> {
    let rest = public_url
        .strip_prefix("https://")
        .or_else(|| public_url.strip_prefix("http://"))
        .with_context(|| {
            format!("public URL `{public_url}` must start with http:// or https://")
        })?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority.rsplit_once(':').map_or(authority, |(h, _)| h);
    let scheme_len = public_url.len() - rest.len();
    let origin = format!("{}{authority}", &public_url[..scheme_len]);
    veche_passkey::RelyingParty::new(host.to_ascii_lowercase(), "Veche", vec![origin])
        .map_err(|e| anyhow::anyhow!("passkeys cannot work at {public_url}: {e} (use http://localhost:PORT or an https URL with a domain)"))
}

/// The nullifier key (32 bytes): from `VECHE_NULLIFIER_KEY` (64 hex digits)
/// or `<data-dir>/nullifier.key` (created, 0600). Losing it changes every
/// nullifier: back it up with the log key.
pub fn nullifier_key(data_dir: &Path) -> Result<[u8; 32]> {
    let parse = |hex_text: &str, from: &str| -> Result<[u8; 32]> {
        hex::decode(hex_text.trim())
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                anyhow::anyhow!("{from}: expected 64 hex digits (the value is not shown)")
            })
    };
    if let Ok(v) = std::env::var("VECHE_NULLIFIER_KEY") {
        return parse(&v, "VECHE_NULLIFIER_KEY");
    }
    let path = data_dir.join("nullifier.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => parse(&text, &path.display().to_string()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = [0u8; 32];
            rand_core::RngCore::fill_bytes(&mut rand_core::OsRng, &mut key);
            write_secret_file(&path, &hex::encode(key))?;
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("reading {}: {e}", path.display())),
    }
}

/// The Argon2id hasher for the roll and enrolment codes, with the pepper
/// from `VECHE_PEPPER` or `<data-dir>/pepper` (created, 0600).
pub fn identity_hasher(
    data_dir: &Path,
    profile: Argon2Profile,
) -> Result<veche_roll::IdentityHasher> {
    let pepper = match std::env::var("VECHE_PEPPER") {
        Ok(p) => {
            veche_roll::Pepper::parse(p.trim()).map_err(|e| anyhow::anyhow!("VECHE_PEPPER: {e}"))?
        }
        Err(_) => {
            let path = data_dir.join("pepper");
            if path.exists() {
                let text = fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                veche_roll::Pepper::parse(text.trim())
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
            } else {
                ensure_private_dir(data_dir)?;
                let pepper = veche_roll::Pepper::generate();
                write_secret_file(&path, &pepper.expose_hex())?;
                pepper
            }
        }
    };
    let params = match profile {
        Argon2Profile::Production => veche_roll::HashParams::production(),
        Argon2Profile::Test => veche_roll::HashParams::fast_for_tests(),
    };
    veche_roll::IdentityHasher::new(pepper, params).map_err(|e| anyhow::anyhow!("{e}"))
}

fn check_key_name(signer: LogSigner, origin: &str, source: &str) -> Result<LogSigner> {
    if signer.name() != origin {
        bail!(
            "the key in {source} is named `{}`, but the log's origin is `{origin}`",
            signer.name()
        );
    }
    Ok(signer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("1h").is_err());
        assert!(parse_duration("fast").is_err());
    }

    #[test]
    fn origins_from_urls() {
        assert_eq!(
            origin_from_url("https://veche.example.org/").unwrap(),
            "veche.example.org"
        );
        assert_eq!(
            origin_from_url("http://localhost:8080").unwrap(),
            "localhost:8080"
        );
        assert_eq!(
            origin_from_url("https://gov.example/veche/log").unwrap(),
            "gov.example/veche/log"
        );
        assert!(origin_from_url("ftp://x").is_err());
        assert!(origin_from_url("https://").is_err());
        assert!(validate_origin("a b").is_err());
        assert!(validate_origin("a+b").is_err());
    }
}
