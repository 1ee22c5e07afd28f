//! No plain document number or date of birth appears in the Debug or serde
//! form of anything this crate outputs.

use veche_roll::{
    EnrolmentCode, HashParams, IdentityHasher, Pepper, diff, hash_roll, parse_roll_csv, verify_code,
};

const DOCS: [&str; 3] = ["4508 123456", "4511-987654", "IV-ЯЖ 556677"];
const DOBS: [&str; 3] = ["1990-02-28", "1985-07-01", "1961-12-31"];

fn forms_of_secrets() -> Vec<String> {
    let mut v = Vec::new();
    for d in DOCS {
        v.push(d.to_string());
        v.push(veche_roll::normalise_document_number(d).unwrap());
        // The digits alone, and the longest digit run.
        v.push(d.chars().filter(char::is_ascii_digit).collect());
    }
    for d in DOBS {
        v.push(d.to_string());
        let (y, rest) = d.split_at(4);
        v.push(format!("{}.{}.{y}", &rest[4..6], &rest[1..3]));
        v.push(d.replace('-', ""));
    }
    v
}

fn assert_clean(what: &str, text: &str) {
    for s in forms_of_secrets() {
        assert!(!text.contains(&s), "{what} contains {s:?}: {text}");
    }
}

#[test]
fn outputs_carry_no_personal_data() {
    let hasher = IdentityHasher::new(Pepper::generate(), HashParams::fast_for_tests()).unwrap();
    let csv = format!(
        "record_id,document_number,date_of_birth,district\n\
         r-1,{},{},Tverskoy\n\
         r-2,{},{},\n\
         r-3,{},{},Arbat\n",
        DOCS[0], DOBS[0], DOCS[1], DOBS[1], DOCS[2], DOBS[2]
    );
    let rows = parse_roll_csv(csv.as_bytes(), "moscow").unwrap();
    assert_clean("RollRow Debug", &format!("{rows:?}"));
    let records = hash_roll("moscow", &rows, &hasher, &|_, _| {}).unwrap();
    assert_clean("HashedRecord Debug", &format!("{records:?}"));
    assert_clean(
        "HashedRecord JSON",
        &serde_json::to_string(&records).unwrap(),
    );
    let d = diff(&records[..2], &records[1..]);
    assert_clean("RollDiff Debug", &format!("{d:?}"));
    assert_clean("RollDiff JSON", &serde_json::to_string(&d).unwrap());
    let actor = veche_roll::Actor::new(veche_roll::StaffRole::Registrar, "registrar-k3j9x2");
    let entry = veche_entry::Entry::new(0, d.roll_version("moscow", 2, &records[1..], actor));
    assert_clean("roll_version JSON", &serde_json::to_string(&entry).unwrap());
    assert_clean("hasher Debug", &format!("{hasher:?}"));

    for (doc, dob) in DOCS.iter().zip(DOBS) {
        let key = hasher.document_key("moscow", doc, dob).unwrap();
        assert_clean("document key", &hex::encode(key));
    }

    // Errors about bad rows name line and column, not the values.
    let bad = format!(
        "record_id,document_number,date_of_birth\n\
         a,{}/1,{}\n\
         b,{},{}x\n\
         c,{},{}\n\
         d,{},{}\n",
        DOCS[0], DOBS[0], DOCS[1], DOBS[1], DOCS[2], DOBS[2], DOCS[2], DOBS[2]
    );
    let e = parse_roll_csv(bad.as_bytes(), "moscow").unwrap_err();
    assert_clean("RollCsvError Display", &e.to_string());
    assert_clean("RollCsvError Debug", &format!("{e:?}"));
    let e = hasher
        .document_key("moscow", DOCS[0], "28.02.1990")
        .unwrap_err();
    assert_clean("InputError", &format!("{e} {e:?}"));

    // Enrolment codes: the secret is in neither the stored form nor Debug.
    let (code, stored) = EnrolmentCode::generate(&hasher);
    let secret = code.to_string()[11..].to_string();
    for text in [
        format!("{code:?}"),
        format!("{stored:?}"),
        serde_json::to_string(&stored).unwrap(),
    ] {
        assert!(!text.contains(&secret), "{text}");
    }
    assert!(verify_code(&stored, &code, &hasher));
}
