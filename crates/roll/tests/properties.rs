//! Property tests: CSV round trips, normalisation, diff, commitment and
//! enrolment codes.

use proptest::prelude::*;
use veche_roll::{
    Date, EnrolmentCode, HashParams, HashedRecord, IdentityHasher, Pepper, RollRow, diff,
    normalise_document_number, parse_roll_csv, roll_commitment, verify_code, write_roll_csv,
};

fn hasher() -> IdentityHasher {
    IdentityHasher::new(
        Pepper::from_bytes([9; 32]).unwrap(),
        HashParams::fast_for_tests(),
    )
    .unwrap()
}

fn date() -> impl Strategy<Value = Date> {
    (1900u16..=2025, 1u8..=12, 1u8..=31)
        .prop_filter_map("not a date", |(y, m, d)| Date::new(y, m, d).ok())
}

fn district() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        "[А-Яа-яA-Za-z0-9][А-Яа-яA-Za-z0-9 ,\"«»-]{0,20}[А-Яа-яA-Za-z0-9]".prop_map(Some),
    ]
}

/// Rows with unique record ids and unique (document, date) pairs.
fn rows() -> impl Strategy<Value = Vec<RollRow>> {
    proptest::collection::btree_map(
        "[A-Za-z0-9._-]{1,12}",
        ("[A-Z0-9ЁЖЯ]{1,12}", date(), district()),
        1..30,
    )
    .prop_map(|m| {
        let mut seen = std::collections::HashSet::new();
        m.into_iter()
            .filter(|(_, (doc, dob, _))| seen.insert((doc.clone(), *dob)))
            .map(
                |(record_id, (document_number, date_of_birth, district))| RollRow {
                    record_id,
                    document_number,
                    date_of_birth,
                    district,
                },
            )
            .collect()
    })
}

fn records() -> impl Strategy<Value = Vec<HashedRecord>> {
    proptest::collection::btree_map(
        "[a-f0-9]{1,3}",
        (
            0u8..4,
            prop_oneof![
                Just(None),
                Just(Some("d".to_string())),
                Just(Some("e".to_string()))
            ],
        ),
        0..20,
    )
    .prop_map(|m| {
        m.into_iter()
            .map(|(record_id, (k, district))| HashedRecord {
                record_id,
                document_key: [k; 32],
                district,
            })
            .collect()
    })
}

fn sorted(mut v: Vec<HashedRecord>) -> Vec<HashedRecord> {
    v.sort();
    v
}

proptest! {
    #[test]
    fn csv_round_trips(rows in rows()) {
        let mut out = Vec::new();
        write_roll_csv(&rows, &mut out).unwrap();
        let back = parse_roll_csv(&out[..], "moscow").unwrap();
        prop_assert_eq!(back, rows);
    }

    #[test]
    fn csv_with_any_separators_and_case_parses_to_the_same(rows in rows(), seed in any::<u64>()) {
        // Document numbers typed with spaces, dashes and lower case.
        let mut s = String::from("district,date_of_birth,document_number,record_id\n");
        for (i, r) in rows.iter().enumerate() {
            let mut doc = String::new();
            for (j, c) in r.document_number.chars().enumerate() {
                match (seed.rotate_left((i + j) as u32)) % 4 {
                    0 => doc.push(' '),
                    1 => doc.push('-'),
                    _ => {}
                }
                doc.extend(c.to_lowercase());
            }
            let district = r.district.as_deref().unwrap_or("").replace('"', "\"\"");
            s.push_str(&format!("\"{district}\",{},\"{doc}\",{}\n", r.date_of_birth, r.record_id));
        }
        prop_assert_eq!(parse_roll_csv(s.as_bytes(), "moscow").unwrap(), rows);
    }

    #[test]
    fn normalisation_is_idempotent(s in "[ a-zA-Zа-яА-ЯёЁ0-9\\-\u{2014}]{0,30}") {
        if let Ok(n) = normalise_document_number(&s) {
            prop_assert_eq!(normalise_document_number(&n).unwrap(), n.clone());
            prop_assert!(n.chars().all(char::is_alphanumeric));
            prop_assert!(!n.chars().any(|c| c.is_lowercase()));
            prop_assert_eq!(normalise_document_number(&s.to_lowercase()).unwrap(), n);
        }
    }

    #[test]
    fn diff_applied_to_old_gives_new(old in records(), new in records()) {
        let d = diff(&old, &new);
        prop_assert_eq!(d.apply(&old), sorted(new.clone()));
        prop_assert_eq!(d.records(), new.len() as u64);
        prop_assert_eq!(
            d.unchanged + d.updated.len() as u64 + d.retired.len() as u64,
            old.len() as u64
        );
        // Each record id is in exactly one class.
        let actor = veche_roll::Actor::new(veche_roll::StaffRole::Registrar, "registrar-k3j9x2");
        let v = d.roll_version("moscow", 2, &new, actor.clone());
        let prev = diff(&[], &old).roll_version("moscow", 1, &old, actor);
        prop_assert!(veche_entry_check(&prev, &v));
        prop_assert_eq!(diff(&new, &new).unchanged, new.len() as u64);
        prop_assert!(diff(&old, &old).added.is_empty());
    }

    #[test]
    fn commitment_is_independent_of_order(records in records(), seed in any::<u64>()) {
        let mut shuffled = records.clone();
        // A deterministic shuffle from the seed.
        let n = shuffled.len();
        for i in (1..n).rev() {
            let j = (seed.wrapping_mul(i as u64 + 7).rotate_left(i as u32) % (i as u64 + 1)) as usize;
            shuffled.swap(i, j);
        }
        prop_assert_eq!(roll_commitment("moscow", 5, &records), roll_commitment("moscow", 5, &shuffled));
        if let Some(first) = records.first() {
            let mut changed = records.clone();
            changed[0].document_key[0] ^= 1;
            prop_assert_ne!(roll_commitment("moscow", 5, &records), roll_commitment("moscow", 5, &changed));
            let _ = first;
        }
    }

    #[test]
    fn codes_parse_what_they_print(seed in any::<u8>()) {
        let _ = seed;
        let h = hasher();
        let (code, stored) = EnrolmentCode::generate(&h);
        prop_assert_eq!(&EnrolmentCode::parse(&code.to_string()).unwrap(), &code);
        prop_assert_eq!(&EnrolmentCode::parse(&code.grouped()).unwrap(), &code);
        prop_assert_eq!(&EnrolmentCode::parse(&code.to_string().to_lowercase()).unwrap(), &code);
        prop_assert!(verify_code(&stored, &code, &h));
    }

    #[test]
    fn codes_reject_tampering(pos in 0usize..31, replacement in prop::sample::select(b"0123456789ABCDEFGHJKMNPQRSTVWXYZ".to_vec())) {
        let h = hasher();
        let (code, stored) = EnrolmentCode::generate(&h);
        let mut s = code.to_string().into_bytes();
        if pos == 10 || s[pos] == replacement {
            return Ok(());
        }
        s[pos] = replacement;
        let tampered = EnrolmentCode::parse(std::str::from_utf8(&s).unwrap()).unwrap();
        prop_assert!(!verify_code(&stored, &tampered, &h));
    }

    #[test]
    fn code_parse_never_panics(s in "\\PC{0,60}") {
        let _ = EnrolmentCode::parse(&s);
    }
}

fn veche_entry_check(prev: &veche_roll::RollVersion, next: &veche_roll::RollVersion) -> bool {
    next.check_follows(Some(prev)).is_ok() && prev.check_follows(None).is_ok()
}
