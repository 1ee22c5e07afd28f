//! The audit replays the petition rules (`veche-state`) over the log: an
//! honest log passes, forged counts, thresholds, nullifiers and windows fail
//! at the right entry; missed legislature deadlines are reported, not
//! failures. `petition` shows one petition; `eligibility` re-verifies every
//! signature's passkey assertion from an auditor's export.

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use common::*;
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Command, Output};
use tempfile::TempDir;
use veche_entry::{
    Actor, CloseReason, ConsiderationScheduled, Date, Decision, Entry, Jurisdiction, Payload,
    PetitionAcknowledged, PetitionAnswered, PetitionClosed, PetitionDelivered, PetitionFiled,
    PetitionOpened, PetitionRejected, PetitionRules, Signature, StaffRole, ThresholdReached,
    add_months_ms,
};
use veche_passkey::software::SoftwareAuthenticator;
use veche_passkey::{
    ActionChallenge, Algorithm, AssertionEvidence, RegisteredCredential, RelyingParty,
};
use veche_state::{DAY_MS, DeadlineStatus, State, signature_action};
use veche_verify::petitions::Summary;

/// 2026-11-23T14:00:00Z.
const T0: u64 = 1_795_442_400_000;
const HOUR: u64 = 3_600_000;
const CONTENT: [u8; 32] = [0xC0; 32];

fn staff(role: StaffRole, name: &str) -> Actor {
    Actor::new(role, name)
}

fn jurisdiction(population: u64) -> Entry {
    Entry::new(
        T0,
        Jurisdiction {
            id: "region-a".into(),
            name_ru: "Тестовая область".into(),
            name_en: "Test Oblast".into(),
            population,
            population_source: "Test".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Дума".into(),
            legislature_en: "Duma".into(),
        },
    )
}

fn signature(at_ms: u64, petition: u64, signer: u8) -> Entry {
    Entry::new(
        at_ms,
        Signature {
            petition,
            nullifier: [signer; 32],
            assertion: [signer ^ 0xFF; 32],
        },
    )
}

/// A log built entry by entry, each admitted by the same fold the server's
/// sequencer uses, the owed `threshold_reached` appended right after the
/// crossing signature.
#[derive(Default)]
struct Log {
    entries: Vec<Entry>,
    state: State,
}

impl Log {
    /// Appends `e` (and the threshold entry it makes owed); returns its index.
    fn push(&mut self, e: Entry) -> u64 {
        let i = self.entries.len() as u64;
        let owed = self
            .state
            .admit(&e)
            .unwrap_or_else(|v| panic!("entry {i} refused: {v:?}"));
        self.entries.push(e);
        if let Some(owed) = owed {
            self.state.admit(&owed).unwrap();
            self.entries.push(owed);
        }
        i
    }
}

/// Indexes of the honest log's entries.
struct Honest {
    log: Log,
    petition: u64,
    closes_at_ms: u64,
    threshold: u64,
    close: u64,
}

/// Jurisdiction of 5,000 (threshold: 6 signatures), rules (1 month open,
/// 3 days to acknowledge, 30 to answer), a petition opened and signed 7
/// times (the 6th crosses: threshold entry right after), delivered,
/// acknowledged, scheduled, answered, closed at expiry; and a second
/// petition rejected.
fn honest() -> Honest {
    let mut log = Log::default();
    log.push(jurisdiction(5000));
    log.push(Entry::new(
        T0 + 1,
        PetitionRules {
            jurisdiction: "region-a".into(),
            open_months: 1,
            acknowledge_days: 3,
            answer_days: 30,
            actor: staff(StaffRole::Admin, "admin-1"),
        },
    ));
    let petition = log.push(Entry::new(
        T0 + HOUR,
        PetitionFiled {
            jurisdiction: "region-a".into(),
            content: CONTENT,
            author: [0xA0; 32],
        },
    ));
    let opened_at = T0 + 2 * HOUR;
    let closes_at_ms = add_months_ms(opened_at, 1).unwrap();
    log.push(Entry::new(
        opened_at,
        PetitionOpened {
            petition,
            jurisdiction: "region-a".into(),
            content: CONTENT,
            population: 5000,
            closes_at_ms,
            actor: staff(StaffRole::Moderator, "moderator-1"),
        },
    ));
    for k in 1..=7u8 {
        log.push(signature(
            T0 + 3 * HOUR + u64::from(k) * 60_000,
            petition,
            k,
        ));
    }
    let threshold = log
        .entries
        .iter()
        .position(|e| matches!(e.payload, Payload::ThresholdReached(_)))
        .unwrap() as u64;
    log.push(Entry::new(
        T0 + 4 * HOUR,
        PetitionDelivered {
            petition,
            attempts: 1,
        },
    ));
    log.push(Entry::new(
        T0 + DAY_MS,
        PetitionAcknowledged {
            petition,
            actor: staff(StaffRole::Clerk, "clerk-1"),
        },
    ));
    log.push(Entry::new(
        T0 + 2 * DAY_MS,
        ConsiderationScheduled {
            petition,
            date: Date::new(2026, 12, 10).unwrap(),
            actor: staff(StaffRole::Clerk, "clerk-1"),
        },
    ));
    log.push(Entry::new(
        T0 + 10 * DAY_MS,
        PetitionAnswered {
            petition,
            decision: Decision::Solved,
            deadline: None,
            text: "Принято.".into(),
            document: None,
            actor: staff(StaffRole::Clerk, "clerk-1"),
        },
    ));
    let close = log.push(Entry::new(
        closes_at_ms,
        PetitionClosed {
            petition,
            reason: CloseReason::Expired,
            valid_signatures: 7,
        },
    ));
    let other = log.push(Entry::new(
        closes_at_ms + 1,
        PetitionFiled {
            jurisdiction: "region-a".into(),
            content: [0xC1; 32],
            author: [0xA1; 32],
        },
    ));
    log.push(Entry::new(
        closes_at_ms + 2,
        PetitionRejected {
            petition: other,
            rule: 3,
            reason: "Duplicate of an open petition.".into(),
            text_hidden: false,
            actor: staff(StaffRole::Moderator, "moderator-1"),
        },
    ));
    Honest {
        log,
        petition,
        closes_at_ms,
        threshold,
        close,
    }
}

fn mirror_of(entries: &[Entry]) -> TempDir {
    let bytes: Vec<Vec<u8>> = entries.iter().map(|e| e.encode().unwrap()).collect();
    mirror_with(bytes.len() as u64, |i| bytes[i as usize].clone()).0
}

/// Asserts that the audit of `entries` fails naming entry `index` and
/// every one of `words`.
fn fails_at(entries: &[Entry], index: u64, words: &[&str]) -> String {
    let dir = mirror_of(entries);
    let msg = failure(audit_once(dir.path()));
    assert!(msg.contains(&format!("entry {index} ")), "{msg}");
    for w in words {
        assert!(msg.contains(w), "{w:?} missing: {msg}");
    }
    msg
}

fn threshold_of(e: &mut Entry) -> &mut ThresholdReached {
    match &mut e.payload {
        Payload::ThresholdReached(t) => t,
        other => panic!("not a threshold entry: {other:?}"),
    }
}

#[test]
fn an_honest_log_with_a_petition_reaching_its_threshold_passes() {
    let h = honest();
    assert_eq!(h.threshold, 10, "the 6th signature is entry 9");
    let dir = mirror_of(&h.log.entries);
    let a = audit_once(dir.path()).unwrap();
    let p = a.state.petition(h.petition).unwrap();
    assert_eq!(p.valid_signatures, 7);
    assert_eq!(p.threshold.as_ref().unwrap().index, 10);
    assert_eq!(p.threshold.as_ref().unwrap().valid_signatures, 6);
    assert_eq!(a.entries_by_kind["signature"], 7);
    assert_eq!(a.jurisdictions.len(), 1);

    let s = Summary::new(&a.state, h.closes_at_ms + DAY_MS);
    assert_eq!(s.petitions, 2);
    assert_eq!(s.by_status["closed"], 1);
    assert_eq!(s.by_status["rejected"], 1);
    assert_eq!(s.by_status["open"], 0);
    assert_eq!(s.thresholds_reached, 1);
    assert_eq!((s.signatures_valid, s.signatures_invalidated), (7, 0));
    assert_eq!(s.deadlines[0].acknowledge.status, DeadlineStatus::Met);
    assert_eq!(s.deadlines[0].answer.status, DeadlineStatus::Met);
    assert_eq!(s.count(DeadlineStatus::Met), 2);
}

#[test]
fn a_closing_declaring_a_wrong_count_fails() {
    let mut e = honest();
    let close = e.close;
    match &mut e.log.entries[close as usize].payload {
        Payload::PetitionClosed(c) => c.valid_signatures = 8,
        _ => unreachable!(),
    }
    fails_at(
        &e.log.entries,
        close,
        &["petition_closed", "count-mismatch", "declares 8"],
    );
}

#[test]
fn a_threshold_entry_with_a_wrong_count_fails() {
    let mut e = honest().log.entries;
    threshold_of(&mut e[10]).valid_signatures = 7;
    fails_at(
        &e,
        10,
        &[
            "threshold-entry-missing",
            "valid_signatures (found 7, expected 6)",
        ],
    );
}

#[test]
fn a_threshold_entry_missing_after_the_crossing_signature_fails() {
    let mut e = honest().log.entries;
    e.remove(10);
    fails_at(
        &e,
        10,
        &["(signature)", "threshold-entry-missing", "petition 2"],
    );

    // The log ends with the crossing signature.
    e.truncate(10);
    let dir = mirror_of(&e);
    let msg = failure(audit_once(dir.path()));
    assert!(
        msg.contains("threshold entry missing at the end of the log") && msg.contains("entry 10"),
        "{msg}"
    );
}

#[test]
fn a_threshold_entry_written_early_fails() {
    let mut e = honest().log.entries;
    let mut early = e[10].clone();
    threshold_of(&mut early).valid_signatures = 3;
    threshold_of(&mut early).signature = 6;
    e.insert(7, early);
    fails_at(&e, 7, &["threshold_reached", "threshold-entry-unowed"]);
}

#[test]
fn a_second_signature_under_the_same_nullifier_fails() {
    let mut e = honest().log.entries;
    let Payload::Signature(first) = e[4].payload.clone() else {
        unreachable!()
    };
    match &mut e[6].payload {
        Payload::Signature(s) => s.nullifier = first.nullifier,
        _ => unreachable!(),
    }
    fails_at(&e, 6, &["duplicate-signature", "(entry 4)"]);
}

#[test]
fn a_signature_after_closing_fails() {
    let h = honest();
    let mut e = h.log.entries;
    let at = e.len() as u64;
    e.push(signature(h.closes_at_ms + 10, h.petition, 42));
    fails_at(&e, at, &["petition-not-open", "closed"]);

    // Or one made after the closing date, before the petition_closed entry.
    let mut e = honest().log.entries;
    e.insert(h.close as usize, signature(h.closes_at_ms, h.petition, 42));
    fails_at(&e, h.close, &["petition-not-open"]);
}

#[test]
fn a_threshold_entry_with_a_forged_answer_deadline_fails() {
    let mut e = honest().log.entries;
    let t = threshold_of(&mut e[10]);
    t.answer_by_ms += 30 * DAY_MS;
    let expected = t.answer_by_ms - 30 * DAY_MS;
    fails_at(
        &e,
        10,
        &[
            "threshold-entry-missing",
            &format!(
                "answer_by_ms (found {}, expected {expected})",
                expected + 30 * DAY_MS
            ),
        ],
    );
}

fn verify(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_veche-verify"))
        .args(args)
        .output()
        .unwrap()
}

fn log_args<'a>(dir: &'a Path, vkey: &'a str, state: &'a Path) -> Vec<&'a str> {
    vec![
        "--log",
        dir.to_str().unwrap(),
        "--vkey",
        vkey,
        "--state",
        state.to_str().unwrap(),
    ]
}

fn stdout_json(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    })
}

#[test]
fn missed_deadlines_are_reported_and_the_audit_passes() {
    // Up to the 7th signature: never acknowledged, never answered.
    let h = honest();
    let e = &h.log.entries[..=11];
    let t_ms = e[10].timestamp_ms;
    let dir = mirror_of(e);
    let (_s, state) = tmp_state();
    let key = vkey();
    let now = (t_ms + 4 * DAY_MS).to_string();
    let mut args = vec!["audit"];
    args.extend(log_args(dir.path(), &key, &state));
    args.extend(["--json", "--now", &now]);
    let o = verify(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = stdout_json(&o);
    let p = &v["petitions"];
    assert_eq!(p["count"], 1);
    assert_eq!(p["by_status"]["open"], 1);
    assert_eq!(p["thresholds_reached"], 1);
    assert_eq!(p["signatures"], json!({"valid": 7, "invalidated": 0}));
    let d = &p["deadlines"];
    assert_eq!(
        (d["overdue"].clone(), d["pending"].clone()),
        (json!(1), json!(1))
    );
    let line = &d["petitions"][0];
    assert_eq!(line["petition"], 2);
    assert_eq!(line["threshold_index"], 10);
    assert_eq!(line["acknowledge"]["status"], "overdue");
    assert_eq!(line["acknowledge"]["due_ms"], t_ms + 3 * DAY_MS);
    assert_eq!(line["answer"]["status"], "pending");
    assert_eq!(line["answer"]["due_ms"], t_ms + 30 * DAY_MS);

    // The text summary lists it; RFC 3339 for --now.
    let mut args = vec!["audit"];
    args.extend(log_args(dir.path(), &key, &state));
    args.extend(["--now", "2026-12-31T00:00:00Z"]);
    let o = verify(&args);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains(
            "legislature deadlines at 2026-12-31T00:00:00.000Z: 0 met, 0 met late, 2 overdue"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "MISSED petition 2 (region-a, threshold at entry 10): acknowledgement overdue"
        ),
        "{text}"
    );

    // Acknowledged late: met_late, still no failure.
    let mut log = Log::default();
    // (The threshold entry comes with the crossing signature.)
    for e in h.log.entries[..=11]
        .iter()
        .filter(|e| !matches!(e.payload, Payload::ThresholdReached(_)))
    {
        log.push(e.clone());
    }
    log.push(Entry::new(
        t_ms + 5 * DAY_MS,
        PetitionAcknowledged {
            petition: 2,
            actor: staff(StaffRole::Clerk, "clerk-1"),
        },
    ));
    let dir = mirror_of(&log.entries);
    let a = audit_once(dir.path()).unwrap();
    let s = Summary::new(&a.state, t_ms + 6 * DAY_MS);
    assert_eq!(s.deadlines[0].acknowledge.status, DeadlineStatus::MetLate);
    assert_eq!(s.deadlines[0].acknowledge.done_index, Some(12));
    assert!(s.deadlines[0].missed());

    // A bad --now is a usage error.
    let mut args = vec!["audit"];
    args.extend(log_args(dir.path(), &key, &state));
    args.extend(["--now", "yesterday"]);
    assert_eq!(verify(&args).status.code(), Some(2));
}

#[test]
fn the_petition_command_shows_one_petition() {
    let h = honest();
    let dir = mirror_of(&h.log.entries);
    let (_s, state) = tmp_state();
    let key = vkey();
    let run = |extra: &[&str]| {
        let mut args = vec!["petition"];
        args.extend(extra);
        args.extend(log_args(dir.path(), &key, &state));
        verify(&args)
    };
    let o = run(&["2", "--json", "--now", "2027-01-01T00:00:00Z"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = stdout_json(&o);
    let p = &v["petition"];
    assert_eq!(p["id"], 2);
    assert_eq!(p["jurisdiction"], "region-a");
    assert_eq!(p["jurisdiction_name_en"], "Test Oblast");
    assert_eq!(p["content"], hex::encode(CONTENT));
    assert_eq!(p["status"], "closed");
    assert_eq!(p["opened"]["population"], 5000);
    assert_eq!(p["opened"]["closes_at_ms"], h.closes_at_ms);
    assert_eq!(p["signatures_needed"], 6);
    assert_eq!(
        (p["valid_signatures"].clone(), p["invalidated"].clone()),
        (json!(7), json!(0))
    );
    assert_eq!(p["threshold"]["index"], 10);
    assert_eq!(p["threshold"]["signature"], 9);
    assert_eq!(p["delivered"]["attempts"], 1);
    assert_eq!(p["acknowledged"]["actor"]["pseudonym"], "clerk-1");
    assert_eq!(p["scheduled"][0]["date"], "2026-12-10");
    assert_eq!(p["answers"][0]["decision"], "solved");
    assert_eq!(p["closed"]["valid_signatures"], 7);
    assert_eq!(p["deadlines"]["acknowledge"]["status"], "met");
    assert_eq!(p["deadlines"]["answer"]["status"], "met");
    assert_eq!(v["size"], h.log.entries.len());

    let o = run(&["2"]);
    assert!(o.status.success());
    let text = String::from_utf8(o.stdout).unwrap();
    for want in [
        "OK: petition 2 as the log example.org/veche declares it",
        "jurisdiction:  region-a (Test Oblast)",
        "status:        closed",
        "population:    5000; threshold: 6 valid signatures",
        "signatures:    7 valid, 0 invalidated (7 accepted)",
        "threshold:     reached at entry 10 (crossing signature entry 9)",
        "acknowledgement met",
        "answered:      solved",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}");
    }

    for (id, why) in [
        (
            "0",
            "no petition 0 in the log: entry 0 is not a petition_filed",
        ),
        ("999", "no petition 999 in the log: the log has 19 entries"),
    ] {
        let o = run(&[id]);
        assert_eq!(o.status.code(), Some(1));
        let err = String::from_utf8(o.stderr).unwrap();
        assert!(err.contains(why), "{err}");
        let o = run(&[id, "--json"]);
        assert_eq!(o.status.code(), Some(1));
        let v = stdout_json(&o);
        assert_eq!(v["ok"], false);
        assert!(v["error"].as_str().unwrap().contains(why));
    }
}

// ---------------------------------------------------------------------------
// Eligibility.

const RP_ORIGIN: &str = "http://localhost:8080";

struct Signer {
    auth: SoftwareAuthenticator,
    cred: RegisteredCredential,
    handle: [u8; 16],
}

fn rp() -> RelyingParty {
    RelyingParty::new("localhost", "Veche", vec![RP_ORIGIN.to_owned()]).unwrap()
}

fn signer(rp: &RelyingParty, mut auth: SoftwareAuthenticator, n: u8) -> Signer {
    let handle = [n; 16];
    let (options, state) = rp
        .start_registration(handle, &format!("citizen{n}"), "Citizen", &[])
        .unwrap();
    let response = auth.register(RP_ORIGIN, &options).unwrap();
    let cred = rp.finish_registration(&state, &response).unwrap();
    Signer { auth, cred, handle }
}

impl Signer {
    /// A real action assertion for signing `petition` (content `content`).
    fn sign(
        &mut self,
        rp: &RelyingParty,
        petition: u64,
        content: &[u8; 32],
        nonce: [u8; 32],
    ) -> AssertionEvidence {
        let challenge = ActionChallenge::new(&signature_action(petition, content), nonce);
        let options = rp.action_request_options(&challenge, std::slice::from_ref(&self.cred.id));
        let response = self.auth.assert(RP_ORIGIN, &options).unwrap();
        let verified = rp
            .verify_action(&challenge, &response, &self.cred, &self.handle)
            .unwrap();
        self.cred.sign_count = verified.new_sign_count;
        verified.evidence
    }
}

/// A signed petition: the log's entries and the export's records.
struct Signed {
    entries: Vec<Entry>,
    credentials: Vec<Value>,
    records: Vec<Value>,
    /// (index, evidence, nonce) of each signature.
    signatures: Vec<(u64, AssertionEvidence, [u8; 32])>,
}

/// Three signers (ES256 synced, Ed25519 with a counter, ES256 with a
/// counter) sign petition 1; the evidence of signer `forged` (if any) has
/// its last signature byte changed before the log commits to it.
fn signed(forged: Option<usize>) -> Signed {
    let rp = rp();
    let mut signers = [
        signer(&rp, SoftwareAuthenticator::new(Algorithm::Es256), 1),
        signer(
            &rp,
            SoftwareAuthenticator::with_counter(Algorithm::Ed25519),
            2,
        ),
        signer(
            &rp,
            SoftwareAuthenticator::with_counter(Algorithm::Es256),
            3,
        ),
    ];
    let mut log = Log::default();
    log.push(jurisdiction(100_000));
    let petition = log.push(Entry::new(
        T0 + HOUR,
        PetitionFiled {
            jurisdiction: "region-a".into(),
            content: CONTENT,
            author: [0xA0; 32],
        },
    ));
    let opened_at = T0 + 2 * HOUR;
    log.push(Entry::new(
        opened_at,
        PetitionOpened {
            petition,
            jurisdiction: "region-a".into(),
            content: CONTENT,
            population: 100_000,
            closes_at_ms: add_months_ms(opened_at, 6).unwrap(),
            actor: staff(StaffRole::Moderator, "moderator-1"),
        },
    ));
    let mut out = Signed {
        entries: Vec::new(),
        credentials: Vec::new(),
        records: Vec::new(),
        signatures: Vec::new(),
    };
    for (k, s) in signers.iter_mut().enumerate() {
        let nonce = [0x50 + k as u8; 32];
        let mut evidence = s.sign(&rp, petition, &CONTENT, nonce);
        if forged == Some(k) {
            *evidence.signature.last_mut().unwrap() ^= 0x01;
        }
        let index = log.push(Entry::new(
            T0 + 3 * HOUR + k as u64,
            Signature {
                petition,
                nullifier: [k as u8 + 1; 32],
                assertion: evidence.commitment(),
            },
        ));
        out.records.push(json!({
            "index": index,
            "petition": petition,
            "nonce": B64URL.encode(nonce),
            "evidence": serde_json::to_value(&evidence).unwrap(),
        }));
        out.credentials.push(json!({
            "id": B64URL.encode(&s.cred.id),
            "public_key": serde_json::to_value(&s.cred.public_key).unwrap(),
            "backup_eligible": s.cred.backup_eligible,
        }));
        out.signatures.push((index, evidence, nonce));
    }
    out.entries = log.entries;
    out
}

fn export_json(credentials: &[Value], records: &[Value]) -> Value {
    json!({
        "format": "veche-eligibility-export/v1",
        "log_origin": ORIGIN,
        "rp_id": "localhost",
        "origins": [RP_ORIGIN],
        "credentials": credentials,
        "signatures": records,
    })
}

/// Runs `eligibility` with `export` against `dir`; returns the JSON report
/// and the exit code.
fn eligibility(dir: &Path, export: &Value) -> (Value, Option<i32>) {
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("export.json");
    std::fs::write(&file, serde_json::to_vec_pretty(export).unwrap()).unwrap();
    let state = files.path().join("state.json");
    let key = vkey();
    let mut args = vec!["eligibility", "--export", file.to_str().unwrap(), "--json"];
    args.extend(log_args(dir, &key, &state));
    let o = verify(&args);
    (stdout_json(&o), o.status.code())
}

#[test]
fn eligibility_of_real_assertions() {
    let s = signed(None);
    let dir = mirror_of(&s.entries);
    let good = export_json(&s.credentials, &s.records);

    // A good export passes.
    let (v, code) = eligibility(dir.path(), &good);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["ok"], true);
    assert_eq!(
        (v["signatures"].clone(), v["verified"].clone()),
        (json!(3), json!(3))
    );
    assert_eq!(v["by_algorithm"], json!({"es256": 2, "ed25519": 1}));
    assert_eq!(v["credentials_used"], 3);
    assert_eq!(v["invalid"], json!([]));

    // The text report too.
    let files = tempfile::tempdir().unwrap();
    let file = files.path().join("export.json");
    std::fs::write(&file, good.to_string()).unwrap();
    let state = files.path().join("state.json");
    let key = vkey();
    let mut args = vec!["eligibility", "--export", file.to_str().unwrap()];
    args.extend(log_args(dir.path(), &key, &state));
    let o = verify(&args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    assert!(
        text.contains("signatures: 3 in the log, 3 with a valid assertion, 0 without"),
        "{text}"
    );

    let invalid = |export: &Value, index: u64, code: &str| {
        let (v, exit) = eligibility(dir.path(), export);
        assert_eq!(exit, Some(1), "{v}");
        assert_eq!(v["ok"], false);
        assert_eq!(v["exit_code"], 1);
        let bad = v["invalid"].as_array().unwrap();
        assert_eq!(bad.len(), 1, "{v}");
        assert_eq!(bad[0]["index"], index, "{v}");
        assert_eq!(bad[0]["code"], code, "{v}");
        assert_eq!(v["verified"], 2);
        v
    };

    // A tampered signature byte: not the assertion the log committed to.
    let (index, evidence, _) = &s.signatures[1];
    let mut tampered = evidence.clone();
    tampered.signature[10] ^= 0x01;
    let mut records = s.records.clone();
    records[1]["evidence"] = serde_json::to_value(&tampered).unwrap();
    invalid(
        &export_json(&s.credentials, &records),
        *index,
        "commitment-mismatch",
    );

    // A wrong nonce: another challenge.
    let (index, _, nonce) = &s.signatures[0];
    let mut records = s.records.clone();
    let mut other = *nonce;
    other[0] ^= 0x01;
    records[0]["nonce"] = json!(B64URL.encode(other));
    let v = invalid(
        &export_json(&s.credentials, &records),
        *index,
        "challenge-mismatch",
    );
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("1 of the 3 signatures"),
        "{v}"
    );

    // A missing record.
    let (index, _, _) = &s.signatures[2];
    invalid(
        &export_json(&s.credentials, &s.records[..2]),
        *index,
        "missing-record",
    );

    // An unknown credential.
    invalid(
        &export_json(&s.credentials[1..], &s.records),
        s.signatures[0].0,
        "unknown-credential",
    );

    // A record for an entry that is not a signature fails; one beyond the
    // checkpoint is listed, not checked.
    let mut records = s.records.clone();
    let mut stray = records[0].clone();
    stray["index"] = json!(0);
    records.push(stray.clone());
    stray["index"] = json!(1000);
    records.push(stray);
    let (v, code) = eligibility(dir.path(), &export_json(&s.credentials, &records));
    assert_eq!(code, Some(1), "{v}");
    assert_eq!(v["verified"], 3);
    assert_eq!(v["orphan_records"][0]["index"], 0);
    assert_eq!(v["orphan_records"][0]["code"], "not-a-signature");
    assert_eq!(v["beyond_checkpoint"], json!([1000]));

    // A malformed export or one for another log: could not check.
    let mut unknown = good.clone();
    unknown["signatures"][0]["evidence"]["extra"] = json!("x");
    assert_eq!(eligibility(dir.path(), &unknown).1, Some(2));
    let mut unknown = good.clone();
    unknown["credentials"][0]["public_key"]["extra"] = json!(1);
    assert_eq!(eligibility(dir.path(), &unknown).1, Some(2));
    let mut other_log = good.clone();
    other_log["log_origin"] = json!("other.example/log");
    let (v, code) = eligibility(dir.path(), &other_log);
    assert_eq!(code, Some(2));
    assert!(
        v["error"].as_str().unwrap().contains("other.example/log"),
        "{v}"
    );
}

#[test]
fn a_log_committing_to_a_forged_assertion_fails_eligibility() {
    let s = signed(Some(1));
    let dir = mirror_of(&s.entries);
    // The log itself is well-formed: the audit passes.
    audit_once(dir.path()).unwrap();
    let (v, code) = eligibility(dir.path(), &export_json(&s.credentials, &s.records));
    assert_eq!(code, Some(1), "{v}");
    let bad = v["invalid"].as_array().unwrap();
    assert_eq!(bad.len(), 1, "{v}");
    assert_eq!(bad[0]["index"], s.signatures[1].0);
    assert_eq!(bad[0]["code"], "bad-signature");
}
