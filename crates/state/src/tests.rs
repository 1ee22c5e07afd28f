use proptest::prelude::*;
use veche_entry::{
    Actor, CloseReason, Date, Entry, Jurisdiction, PetitionClosed, PetitionFiled, PetitionOpened,
    Signature, SignatureInvalidated, StaffRole, add_months_ms,
};

use super::*;

const T0: u64 = 1_795_442_400_000;

fn moderator() -> Actor {
    Actor::new(StaffRole::Moderator, "moderator-1")
}

fn jurisdiction(population: u64) -> Entry {
    Entry::new(
        T0,
        Jurisdiction {
            id: "town".into(),
            name_ru: "Город".into(),
            name_en: "Town".into(),
            population,
            population_source: "census".into(),
            population_date: Date::new(2024, 1, 1).unwrap(),
            legislature_ru: "Дума".into(),
            legislature_en: "Council".into(),
        },
    )
}

/// A log with a jurisdiction and one open petition (id 1).
fn open_petition(population: u64) -> State {
    let mut s = State::new();
    s.admit(&jurisdiction(population)).unwrap();
    let filed = Entry::new(
        T0 + 1,
        PetitionFiled {
            jurisdiction: "town".into(),
            content: [7; 32],
            author: [9; 32],
        },
    );
    s.admit(&filed).unwrap();
    let opened = Entry::new(
        T0 + 2,
        PetitionOpened {
            petition: 1,
            jurisdiction: "town".into(),
            content: [7; 32],
            population,
            closes_at_ms: add_months_ms(T0 + 2, 6).unwrap(),
            actor: moderator(),
        },
    );
    s.admit(&opened).unwrap();
    s
}

fn sign(s: &mut State, who: u32) -> Result<Option<Entry>, Violation> {
    let mut n = [0u8; 32];
    n[..4].copy_from_slice(&who.to_be_bytes());
    let e = Entry::new(
        T0 + 10 + s.size,
        Signature {
            petition: 1,
            nullifier: n,
            assertion: [1; 32],
        },
    );
    let owed = s.admit(&e)?;
    if let Some(t) = &owed {
        s.admit(t).unwrap();
    }
    Ok(owed)
}

fn invalidate(s: &mut State, signature: u64) -> Result<(), Violation> {
    let e = Entry::new(
        T0 + 10 + s.size,
        SignatureInvalidated {
            petition: 1,
            signature,
            reason: "proven fraud".into(),
            actor: moderator(),
        },
    );
    s.admit(&e).map(|_| ())
}

#[test]
fn rule_is_strictly_more_than_a_thousandth() {
    assert!(!threshold_met(5, 5_000));
    assert!(threshold_met(6, 5_000));
    assert!(!threshold_met(5, 5_001));
    assert!(threshold_met(6, 5_001));
    assert!(!threshold_met(0, 1));
    assert!(threshold_met(1, 999));
    assert!(!threshold_met(1, 1_000));
    assert_eq!(threshold_signatures(5_000), 6);
    assert_eq!(threshold_signatures(5_001), 6);
    assert_eq!(threshold_signatures(5_999), 6);
    assert_eq!(threshold_signatures(6_000), 7);
    assert!(threshold_met(u64::MAX, u64::MAX));
}

#[test]
fn population_5000_needs_the_sixth_signature() {
    let mut s = open_petition(5_000);
    for who in 0..5 {
        assert_eq!(sign(&mut s, who).unwrap(), None, "signature {who}");
    }
    assert!(s.petition(1).unwrap().threshold.is_none());
    let owed = sign(&mut s, 5).unwrap().expect("the 6th reaches it");
    let crossing = s.size - 2;
    let Payload::ThresholdReached(t) = &owed.payload else {
        panic!()
    };
    assert_eq!(
        (t.signature, t.valid_signatures, t.population),
        (crossing, 6, 5_000)
    );
    assert_eq!(t.acknowledge_by_ms - owed.timestamp_ms, 3 * DAY_MS);
    assert_eq!(t.answer_by_ms - owed.timestamp_ms, 30 * DAY_MS);
    let p = s.petition(1).unwrap();
    assert_eq!(p.threshold.as_ref().unwrap().index, crossing + 1);
    // Never written twice.
    assert_eq!(sign(&mut s, 6).unwrap(), None);
}

#[test]
fn population_5001_needs_the_sixth_signature_too() {
    let mut s = open_petition(5_001);
    for who in 0..5 {
        assert_eq!(sign(&mut s, who).unwrap(), None);
    }
    assert!(sign(&mut s, 5).unwrap().is_some());
}

#[test]
fn invalidations_delay_the_threshold_and_never_retract_it() {
    let mut s = open_petition(5_000);
    for who in 0..5 {
        sign(&mut s, who).unwrap();
    }
    // Entries 0..=2 are set-up, signatures are 3..=7.
    invalidate(&mut s, 4).unwrap();
    assert_eq!(
        invalidate(&mut s, 4).unwrap_err().code,
        "already-invalidated"
    );
    assert_eq!(invalidate(&mut s, 2).unwrap_err().code, "unknown-signature");
    assert_eq!(sign(&mut s, 5).unwrap(), None, "5 valid of 6");
    let owed = sign(&mut s, 6).unwrap().expect("6 valid of 7");
    let Payload::ThresholdReached(t) = &owed.payload else {
        panic!()
    };
    assert_eq!(t.valid_signatures, 6);
    invalidate(&mut s, 3).unwrap();
    let p = s.petition(1).unwrap();
    assert_eq!((p.valid_signatures, p.signatures, p.invalidated), (5, 7, 2));
    assert!(p.threshold.is_some(), "a written threshold stands");
    assert_eq!(sign(&mut s, 7).unwrap(), None, "and is not written again");
}

#[test]
fn duplicates_windows_and_owed_entries() {
    let mut s = open_petition(5_000);
    sign(&mut s, 1).unwrap();
    assert_eq!(sign(&mut s, 1).unwrap_err().code, "duplicate-signature");
    // Outside the window.
    let late = Entry::new(
        add_months_ms(T0 + 2, 6).unwrap(),
        Signature {
            petition: 1,
            nullifier: [3; 32],
            assertion: [1; 32],
        },
    );
    assert_eq!(s.check(&late).unwrap_err().code, "petition-not-open");
    // An unowed threshold entry is refused.
    let forged = Entry::new(
        T0 + 100,
        veche_entry::ThresholdReached {
            petition: 1,
            signature: 3,
            valid_signatures: 1,
            population: 5_000,
            acknowledge_by_ms: 0,
            answer_by_ms: 0,
        },
    );
    assert_eq!(s.check(&forged).unwrap_err().code, "threshold-entry-unowed");
    // Closing must declare the right count, and only once expired.
    let close = |at, n| {
        Entry::new(
            at,
            PetitionClosed {
                petition: 1,
                reason: CloseReason::Expired,
                valid_signatures: n,
            },
        )
    };
    assert_eq!(
        s.check(&close(T0 + 50, 1)).unwrap_err().code,
        "not-yet-expired"
    );
    let end = add_months_ms(T0 + 2, 6).unwrap();
    assert_eq!(s.check(&close(end, 2)).unwrap_err().code, "count-mismatch");
    s.admit(&close(end, 1)).unwrap();
    assert_eq!(sign(&mut s, 9).unwrap_err().code, "petition-not-open");
}

#[test]
fn owed_threshold_must_come_next() {
    let mut s = open_petition(999);
    let sig = Entry::new(
        T0 + 10,
        Signature {
            petition: 1,
            nullifier: [5; 32],
            assertion: [1; 32],
        },
    );
    let owed = s.admit(&sig).unwrap().unwrap();
    let other = Entry::new(
        T0 + 11,
        Signature {
            petition: 1,
            nullifier: [6; 32],
            assertion: [1; 32],
        },
    );
    assert_eq!(s.check(&other).unwrap_err().code, "threshold-entry-missing");
    let mut wrong = owed.clone();
    if let Payload::ThresholdReached(t) = &mut wrong.payload {
        t.valid_signatures = 2;
    }
    assert_eq!(s.check(&wrong).unwrap_err().code, "threshold-entry-missing");
    s.admit(&owed).unwrap();
    assert!(s.owed().is_none());
}

proptest! {
    /// Whatever the order of signatures and invalidations, exactly one
    /// threshold entry is owed, right after the first signature that makes
    /// valid × 1000 > population, carrying that count.
    #[test]
    fn exactly_one_threshold_at_the_first_crossing(
        population in 1u64..40_000,
        ops in proptest::collection::vec(any::<(bool, u8)>(), 0..80),
    ) {
        let mut s = open_petition(population);
        let mut valid = 0u64;
        let mut sigs: Vec<u64> = Vec::new();
        let mut thresholds = 0;
        let mut who = 0u32;
        for (is_sign, pick) in ops {
            if is_sign || sigs.is_empty() {
                let owed = sign(&mut s, who).unwrap();
                who += 1;
                valid += 1;
                let idx = s.size - 1 - u64::from(owed.is_some());
                sigs.push(idx);
                if let Some(e) = owed {
                    thresholds += 1;
                    let Payload::ThresholdReached(t) = &e.payload else { panic!() };
                    prop_assert_eq!(t.signature, idx);
                    prop_assert_eq!(t.valid_signatures, valid);
                    prop_assert!(valid * 1000 > population);
                } else if thresholds == 0 {
                    prop_assert!(valid * 1000 <= population);
                }
            } else {
                let target = sigs.remove(usize::from(pick) % sigs.len());
                invalidate(&mut s, target).unwrap();
                valid -= 1;
            }
            prop_assert_eq!(s.petition(1).unwrap().valid_signatures, valid);
        }
        prop_assert!(thresholds <= 1);
    }
}
