//! Unit tests of the envelope, the jurisdiction kind and the JSON form.

use super::*;

pub(crate) fn kaliningrad() -> Jurisdiction {
    Jurisdiction {
        id: "kaliningrad-oblast".into(),
        name_ru: "Калининградская область".into(),
        name_en: "Kaliningrad Oblast".into(),
        population: 1_032_000,
        population_source: "Rosstat, estimate as of 1 January 2024".into(),
        population_date: Date::new(2024, 1, 1).unwrap(),
        legislature_ru: "Законодательное Собрание Калининградской области".into(),
        legislature_en: "Legislative Assembly of Kaliningrad Oblast".into(),
    }
}

fn small() -> Jurisdiction {
    Jurisdiction {
        id: "x".into(),
        name_ru: "X".into(),
        name_en: "X".into(),
        population: 1,
        population_source: "s".into(),
        population_date: Date::new(2024, 2, 29).unwrap(),
        legislature_ru: "L".into(),
        legislature_en: "L".into(),
    }
}

fn encoded(j: Jurisdiction) -> Vec<u8> {
    Entry::new(1_795_442_400_000, j).encode().unwrap()
}

fn decode_err(bytes: &[u8]) -> String {
    Entry::decode(bytes).unwrap_err().to_string()
}

#[test]
fn small_entry_layout_is_exact() {
    let b = encoded(small());
    let expected: Vec<u8> = [
        &[0x01][..],                         // version
        &[0x00, 0x01],                       // kind
        &1_795_442_400_000u64.to_be_bytes(), // timestamp
        &[0, 0, 0, 1, b'x'],                 // id
        &[0, 0, 0, 1, b'X'],                 // name_ru
        &[0, 0, 0, 1, b'X'],                 // name_en
        &[0, 0, 0, 0, 0, 0, 0, 1],           // population
        &[0, 0, 0, 1, b's'],                 // population_source
        &[0x07, 0xe8, 2, 29],                // population_date
        &[0, 0, 0, 1, b'L'],                 // legislature_ru
        &[0, 0, 0, 1, b'L'],                 // legislature_en
    ]
    .concat();
    assert_eq!(b, expected);
    assert_eq!(b.len(), 53);
    let e = Entry::decode(&b).unwrap();
    assert_eq!(e, Entry::new(1_795_442_400_000, small()));
    assert_eq!(e.kind(), 1);
    assert_eq!(e.kind_name(), "jurisdiction");
}

#[test]
fn cyrillic_entry_round_trips() {
    let b = encoded(kaliningrad());
    let e = Entry::decode(&b).unwrap();
    assert_eq!(e.payload, Payload::Jurisdiction(kaliningrad()));
    assert_eq!(e.encode().unwrap(), b);
}

#[test]
fn envelope_errors() {
    let b = encoded(small());
    assert_eq!(
        decode_err(&[]),
        "offset 0: field version: needs 1 byte, only 0 left"
    );
    assert_eq!(
        decode_err(&b[..2]),
        "offset 1: field kind: needs 2 bytes, only 1 left"
    );
    assert_eq!(
        decode_err(&b[..10]),
        "offset 3: field timestamp_ms: needs 8 bytes, only 7 left"
    );
    let mut v = b.clone();
    v[0] = 2;
    assert_eq!(
        decode_err(&v),
        "offset 0: unsupported version 2 (expected 1)"
    );
    v[0] = 0;
    assert_eq!(
        decode_err(&v),
        "offset 0: unsupported version 0 (expected 1)"
    );
    let mut v = b.clone();
    v[2] = 9;
    assert_eq!(decode_err(&v), "offset 1: unknown kind 0x0009");
    v[2] = 0;
    assert_eq!(decode_err(&v), "offset 1: unknown kind 0x0000");
    let mut v = b.clone();
    v[3..11].copy_from_slice(&(MAX_TIMESTAMP_MS + 1).to_be_bytes());
    assert_eq!(
        decode_err(&v),
        "offset 3: field timestamp_ms: must be ≤ 253402300799999 \
         (9999-12-31T23:59:59.999Z), got 253402300800000"
    );
    let mut v = b.clone();
    v.extend_from_slice(&[0, 0, 0]);
    assert_eq!(decode_err(&v), "offset 53: trailing 3 bytes after payload");
    assert_eq!(
        decode_err(&b[..b.len() - 1]),
        "offset 48: field legislature_en: string length 1 exceeds remaining 0 bytes"
    );
}

#[test]
fn payload_field_errors_name_field_and_offset() {
    let b = encoded(small());
    // population = 0 (bytes 26..34)
    let mut v = b.clone();
    v[33] = 0;
    let e = Entry::decode(&v).unwrap_err();
    assert_eq!(e.to_string(), "offset 26: field population: must be ≥ 1");
    assert_eq!(e.code(), "invalid_field");
    // id "X"
    let mut v = b.clone();
    v[15] = b'X';
    assert_eq!(
        decode_err(&v),
        "offset 11: field id: must contain only a-z, 0-9 and '-', found 'X' at byte 0"
    );
    // name_ru " " (leading whitespace)
    let mut v = b.clone();
    v[20] = b' ';
    assert_eq!(
        decode_err(&v),
        "offset 16: field name_ru: must not have leading or trailing whitespace"
    );
    // name_en "\n": allowed by the string encoding, not by the field
    let mut v = b.clone();
    v[25] = b'\n';
    assert_eq!(
        decode_err(&v),
        "offset 21: field name_en: control character U+000A at character 0 not allowed"
    );
    // legislature_ru NUL: rejected by the string encoding itself
    let mut v = b.clone();
    v[47] = 0;
    assert_eq!(
        decode_err(&v),
        "offset 47: field legislature_ru: control character U+0000 not allowed"
    );
    // population_date 2023-02-29
    let mut v = b.clone();
    v[39..41].copy_from_slice(&2023u16.to_be_bytes());
    assert_eq!(
        decode_err(&v),
        "offset 39: field population_date: 2023-02-29 is not a valid date"
    );
    // invalid UTF-8 in population_source
    let mut v = b.clone();
    v[38] = 0xff;
    assert_eq!(
        decode_err(&v),
        "offset 38: field population_source: invalid UTF-8"
    );
}

#[test]
fn structural_errors_come_before_validation_errors() {
    // population 0 *and* a trailing byte: the trailing byte is reported.
    let mut v = encoded(small());
    v[33] = 0;
    v.push(0);
    assert_eq!(decode_err(&v), "offset 53: trailing 1 byte after payload");
}

#[test]
fn encode_validates() {
    let mut j = kaliningrad();
    j.population = 0;
    assert_eq!(
        Entry::new(0, j).encode().unwrap_err().to_string(),
        "invalid entry: field population: must be ≥ 1"
    );
    let mut j = kaliningrad();
    j.population = jurisdiction_max_population() + 1;
    assert!(Entry::new(0, j).encode().is_err());
    let mut j = kaliningrad();
    j.population = jurisdiction_max_population();
    assert!(Entry::new(0, j).encode().is_ok());
    let mut j = kaliningrad();
    j.name_en = "Kaliningrad\u{0}".into();
    assert!(Entry::new(0, j).encode().is_err());
    assert!(
        Entry::new(MAX_TIMESTAMP_MS + 1, kaliningrad())
            .encode()
            .is_err()
    );
    assert!(Entry::new(MAX_TIMESTAMP_MS, kaliningrad()).encode().is_ok());
    assert!(Entry::new(0, kaliningrad()).encode().is_ok());
}

fn jurisdiction_max_population() -> u64 {
    kinds::jurisdiction::POPULATION_MAX
}

#[test]
fn largest_jurisdiction_fits_and_round_trips() {
    let long = |c: char, n: usize| std::iter::repeat_n(c, n).collect::<String>();
    let j = Jurisdiction {
        id: long('z', 64),
        name_ru: long('𝔸', 200),
        name_en: long('𝔸', 200),
        population: jurisdiction_max_population(),
        population_source: long('𝔸', 500),
        population_date: Date::new(9999, 12, 31).unwrap(),
        legislature_ru: long('𝔸', 200),
        legislature_en: long('𝔸', 200),
    };
    let e = Entry::new(MAX_TIMESTAMP_MS, j);
    let b = e.encode().unwrap();
    assert_eq!(b.len(), 11 + 68 + 4 * (4 + 800) + 8 + 4 + 2004);
    assert!(b.len() <= MAX_ENTRY_SIZE);
    assert_eq!(Entry::decode(&b).unwrap(), e);
}

#[test]
fn oversized_input_is_refused() {
    let mut v = encoded(small());
    v.resize(MAX_ENTRY_SIZE + 1, 0);
    let e = Entry::decode(&v).unwrap_err();
    assert_eq!(
        e.to_string(),
        "offset 65535: entry is 65536 bytes, exceeds maximum 65535 bytes"
    );
    assert_eq!(e.code(), "entry_too_large");
    // Exactly the maximum is not refused for its size (here: trailing bytes).
    v.pop();
    assert_eq!(Entry::decode(&v).unwrap_err().code(), "trailing_bytes");
}

#[test]
fn huge_string_length_is_reported_without_allocating() {
    let mut v = encoded(small());
    v[11..15].copy_from_slice(&4_000_000u32.to_be_bytes());
    assert_eq!(
        decode_err(&v),
        "offset 11: field id: string length 4000000 exceeds remaining 38 bytes"
    );
}

#[test]
fn json_form() {
    let e = Entry::new(1_795_442_400_000, kaliningrad());
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        r#"{"kind":"jurisdiction","timestamp_ms":1795442400000,"timestamp":"2026-11-23T14:00:00.000Z","id":"kaliningrad-oblast","name_ru":"Калининградская область","name_en":"Kaliningrad Oblast","population":1032000,"population_source":"Rosstat, estimate as of 1 January 2024","population_date":"2024-01-01","legislature_ru":"Законодательное Собрание Калининградской области","legislature_en":"Legislative Assembly of Kaliningrad Oblast"}"#
    );
    let back: Entry = serde_json::from_str(&json).unwrap();
    assert_eq!(back, e);
    assert_eq!(
        e.timestamp_rfc3339().as_deref(),
        Some("2026-11-23T14:00:00.000Z")
    );

    // `timestamp` is optional on input.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v.as_object_mut().unwrap().remove("timestamp");
    assert_eq!(serde_json::from_value::<Entry>(v.clone()).unwrap(), e);

    // ... but must match when present.
    v["timestamp"] = "2026-11-23T14:00:00.001Z".into();
    let err = serde_json::from_value::<Entry>(v.clone()).unwrap_err();
    assert!(
        err.to_string().contains("does not match timestamp_ms"),
        "{err}"
    );
    v.as_object_mut().unwrap().remove("timestamp");

    // Unknown fields, unknown kinds, bad dates and invalid values are refused.
    let mut w = v.clone();
    w["extra"] = 1.into();
    assert!(serde_json::from_value::<Entry>(w).is_err());
    let mut w = v.clone();
    w["kind"] = "petition".into();
    assert!(serde_json::from_value::<Entry>(w).is_err());
    let mut w = v.clone();
    w["population_date"] = "2023-02-29".into();
    assert!(serde_json::from_value::<Entry>(w).is_err());
    let mut w = v.clone();
    w["population"] = 0.into();
    let err = serde_json::from_value::<Entry>(w).unwrap_err();
    assert!(
        err.to_string().contains("field population: must be ≥ 1"),
        "{err}"
    );
    let mut w = v.clone();
    w.as_object_mut().unwrap().remove("name_en");
    assert!(serde_json::from_value::<Entry>(w).is_err());
}

#[test]
fn payload_json_is_tagged_by_kind() {
    let p = Payload::from(small());
    let v = serde_json::to_value(&p).unwrap();
    assert_eq!(v["kind"], "jurisdiction");
    assert_eq!(v["population_date"], "2024-02-29");
    assert_eq!(serde_json::from_value::<Payload>(v).unwrap(), p);
}
