//! Property tests of the one-encoding-per-value rule.

use proptest::prelude::*;
use veche_entry::kinds::jurisdiction::POPULATION_MAX;
use veche_entry::{Date, Entry, HEADER_LEN, Jurisdiction, MAX_TIMESTAMP_MS};

/// One line of text: 1..=max characters, no control characters, no
/// whitespace at either end.
fn line(max: usize) -> impl Strategy<Value = String> {
    let any = format!(r"[^\p{{Cc}}\s]([^\p{{Cc}}]{{0,{}}}[^\p{{Cc}}\s])?", max - 2);
    prop_oneof![
        // Mostly readable text, sometimes anything allowed.
        2 => "[А-Яа-яЁёA-Za-z0-9]([А-Яа-яЁёA-Za-z0-9 ,.«»—-]{0,40}[А-Яа-яЁёA-Za-z0-9.])?",
        1 => proptest::string::string_regex(&any).unwrap(),
    ]
}

fn date() -> impl Strategy<Value = Date> {
    (1u16..=9999, 1u8..=12, 1u8..=31)
        .prop_filter_map("not a date", |(y, m, d)| Date::new(y, m, d).ok())
}

fn jurisdiction() -> impl Strategy<Value = Jurisdiction> {
    (
        "[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?",
        line(200),
        line(200),
        prop_oneof![Just(1u64), Just(POPULATION_MAX), 1..=POPULATION_MAX],
        line(500),
        date(),
        line(200),
        line(200),
    )
        .prop_map(
            |(
                id,
                name_ru,
                name_en,
                population,
                population_source,
                population_date,
                legislature_ru,
                legislature_en,
            )| {
                Jurisdiction {
                    id,
                    name_ru,
                    name_en,
                    population,
                    population_source,
                    population_date,
                    legislature_ru,
                    legislature_en,
                }
            },
        )
}

fn entry() -> impl Strategy<Value = Entry> {
    (
        prop_oneof![Just(0u64), Just(MAX_TIMESTAMP_MS), 0..=MAX_TIMESTAMP_MS],
        jurisdiction(),
    )
        .prop_map(|(ts, j)| Entry::new(ts, j))
}

/// Text from a small alphabet full of things the rules care about.
fn tricky_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(vec![
            'a', 'Z', '-', '0', 'я', ' ', '\n', '\t', '\0', '\u{7f}', '\u{85}', '\u{a0}',
            '\u{3000}', '𝔸',
        ]),
        0..6,
    )
    .prop_map(|cs| cs.into_iter().collect())
}

/// Decoding `bytes` either fails or gives a value whose encoding is `bytes`.
fn assert_canonical(bytes: &[u8]) -> Result<Option<Entry>, TestCaseError> {
    match Entry::decode(bytes) {
        Err(e) => {
            prop_assert!(e.offset <= bytes.len().max(veche_entry::MAX_ENTRY_SIZE));
            Ok(None)
        }
        Ok(entry) => {
            prop_assert_eq!(entry.encode().expect("decoded entries encode"), bytes);
            Ok(Some(entry))
        }
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Set(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Set(i, b)),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
        1 => any::<usize>().prop_map(Mutation::Truncate),
    ]
}

fn apply(bytes: &[u8], m: &Mutation) -> Vec<u8> {
    let mut v = bytes.to_vec();
    match *m {
        Mutation::Set(i, b) => {
            let i = i % v.len();
            v[i] = if v[i] == b { b.wrapping_add(1) } else { b };
        }
        Mutation::Insert(i, b) => v.insert(i % (v.len() + 1), b),
        Mutation::Remove(i) => {
            v.remove(i % v.len());
        }
        Mutation::Truncate(n) => v.truncate(n % v.len()),
    }
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn valid_entries_round_trip_byte_exactly(e in entry()) {
        let bytes = e.encode().unwrap();
        prop_assert!(bytes.len() <= veche_entry::MAX_ENTRY_SIZE);
        prop_assert_eq!(&bytes[..3], &[1, 0, 1]);
        let back = Entry::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &e);
        prop_assert_eq!(back.encode().unwrap(), bytes);
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), e);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_decode_canonically(
        bytes in proptest::collection::vec(any::<u8>(), 0..300)
    ) {
        assert_canonical(&bytes)?;
    }

    #[test]
    fn arbitrary_payloads_after_a_valid_header_decode_canonically(
        ts in 0..=MAX_TIMESTAMP_MS,
        payload in proptest::collection::vec(
            prop_oneof![3 => Just(0u8), 1 => 1u8..=8, 2 => b'a'..=b'z', 1 => any::<u8>()],
            0..120,
        )
    ) {
        let mut bytes = vec![1, 0, 1];
        bytes.extend_from_slice(&ts.to_be_bytes());
        bytes.extend_from_slice(&payload);
        prop_assert_eq!(bytes.len(), HEADER_LEN + payload.len());
        assert_canonical(&bytes)?;
    }

    #[test]
    fn mutations_fail_or_decode_to_another_canonical_value(
        e in entry(),
        ms in proptest::collection::vec(mutation(), 1..4)
    ) {
        let bytes = e.encode().unwrap();
        let mut mutated = bytes.clone();
        for m in &ms {
            if mutated.is_empty() {
                break;
            }
            mutated = apply(&mutated, m);
        }
        if mutated != bytes
            && let Some(d) = assert_canonical(&mutated)?
        {
            prop_assert_ne!(d, e);
        }
    }

    #[test]
    fn encode_succeeds_exactly_for_valid_values(
        id in tricky_text(),
        name in tricky_text(),
        population in prop_oneof![Just(0u64), Just(POPULATION_MAX + 1), 1..=POPULATION_MAX],
    ) {
        let j = Jurisdiction {
            id,
            name_ru: name.clone(),
            name_en: "Name".into(),
            population,
            population_source: "Source".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Дума".into(),
            legislature_en: name,
        };
        let e = Entry::new(0, j);
        match e.encode() {
            Ok(bytes) => {
                prop_assert!(e.validate().is_ok());
                prop_assert_eq!(Entry::decode(&bytes).unwrap(), e);
            }
            Err(_) => prop_assert!(e.validate().is_err()),
        }
    }
}

/// Valid `roll_version` payloads, version 1 and later, with boundary counts.
fn roll_version() -> impl Strategy<Value = veche_entry::RollVersion> {
    use veche_entry::kinds::roll_version::RECORDS_MAX;
    (
        "[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?",
        prop_oneof![Just(1u32), Just(u32::MAX), 1..=u32::MAX],
        prop_oneof![Just(0u64), Just(RECORDS_MAX), 0..=RECORDS_MAX],
        any::<u64>(),
        any::<u64>(),
        prop_oneof![Just(0u64), Just(RECORDS_MAX), 0..=RECORDS_MAX],
        any::<[u8; 32]>(),
        (
            1u8..=5,
            prop_oneof![
                Just("a-0".to_owned()),
                "[a-z][a-z0-9-]{2,63}",
                "(admin|registrar|moderator|clerk|organiser)-[a-z0-9x]{8}",
            ],
        ),
    )
        .prop_map(
            |(jurisdiction, version, records, a, u, retired, commitment, (role, pseudonym))| {
                let (added, updated, retired) = if version == 1 {
                    (records, 0, 0)
                } else {
                    let added = a % (records + 1);
                    (added, u % (records - added + 1), retired)
                };
                veche_entry::RollVersion {
                    jurisdiction,
                    version,
                    records,
                    added,
                    updated,
                    retired,
                    commitment,
                    actor: veche_entry::Actor::new(
                        veche_entry::StaffRole::from_code(role).unwrap(),
                        pseudonym,
                    ),
                }
            },
        )
}

proptest! {
    #[test]
    fn roll_versions_round_trip_byte_exactly(
        ts in 0..=MAX_TIMESTAMP_MS,
        r in roll_version(),
        ms in proptest::collection::vec(mutation(), 1..3),
    ) {
        let e = Entry::new(ts, r);
        let bytes = e.encode().unwrap();
        prop_assert_eq!(&bytes[..3], &[1, 0, 64]);
        prop_assert!(bytes.len() <= 216);
        let back = Entry::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &e);
        let json = serde_json::to_string(&e).unwrap();
        prop_assert_eq!(serde_json::from_str::<Entry>(&json).unwrap(), e.clone());
        let mut mutated = bytes.clone();
        for m in &ms {
            if mutated.is_empty() {
                break;
            }
            mutated = apply(&mutated, m);
        }
        if mutated != bytes
            && let Some(d) = assert_canonical(&mutated)?
        {
            prop_assert_ne!(d, e);
        }
    }
}
