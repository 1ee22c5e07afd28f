//! Round trips and the one-encoding-per-value rule for the poll (32–34)
//! and participatory-budgeting (48–53) kinds, and their largest entries.

use proptest::prelude::*;
use veche_entry::kinds::pb::{LAT_E6_MAX, LON_E6_MAX};
use veche_entry::{
    Actor, CostedProject, Entry, Location, MAX_ENTRY_SIZE, MAX_TIMESTAMP_MS, MONEY_MAX,
    PB_PROJECTS_MAX, POLL_OPTIONS_MAX, Payload, PbBallot, PbProjectProposed, PbProjectReviewed,
    PbResult, PbRoundOpened, PbRule, PbVotingOpened, PollBallot, PollClosed, PollMethod,
    PollOpened, PollOption, StaffRole, Verdict,
};

fn organiser() -> Actor {
    Actor::new(StaffRole::Organiser, "organiser-p5s1d6fg")
}

fn line() -> impl Strategy<Value = String> {
    "[А-Яа-яЁёA-Za-z0-9]([А-Яа-яЁёA-Za-z0-9 ,.?«»—-]{0,30}[А-Яа-яЁёA-Za-z0-9.?])?"
}

fn multiline() -> impl Strategy<Value = String> {
    "[А-Яа-яA-Za-z0-9]([А-Яа-яA-Za-z0-9 ,.\n-]{0,60}[А-Яа-яA-Za-z0-9.])?"
}

fn distinct_u16(max: u16, len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u16>> {
    Just((0..max).collect::<Vec<u16>>())
        .prop_shuffle()
        .prop_flat_map(move |v| {
            let n = v.len();
            (Just(v), len.clone().prop_map(move |k| k.min(n)))
        })
        .prop_map(|(v, k)| v[..k].to_vec())
}

fn poll_payload() -> impl Strategy<Value = Payload> {
    let opened = (
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        line(),
        line(),
        2usize..=POLL_OPTIONS_MAX,
        prop::sample::select(PollMethod::ALL.to_vec()),
        0..MAX_TIMESTAMP_MS,
        1u64..1_000_000_000,
    )
        .prop_map(|(jurisdiction, q_ru, q_en, n, method, opens, len)| {
            PollOpened {
                jurisdiction,
                question_ru: q_ru,
                question_en: q_en,
                options: (0..n)
                    .map(|i| PollOption {
                        ru: format!("Вариант {i}"),
                        en: format!("Option {i}"),
                    })
                    .collect(),
                method,
                opens_at_ms: opens,
                closes_at_ms: (opens + len).min(MAX_TIMESTAMP_MS).max(opens + 1),
                actor: organiser(),
            }
            .into()
        })
        .prop_filter("window inside the range", |p: &Payload| {
            p.validate().is_ok()
        });
    let ballot = (
        any::<u64>(),
        any::<[u8; 32]>(),
        distinct_u16(POLL_OPTIONS_MAX as u16, 1..=POLL_OPTIONS_MAX),
        any::<[u8; 32]>(),
    )
        .prop_map(|(poll, nullifier, choice, assertion)| {
            PollBallot {
                poll,
                nullifier,
                choice,
                assertion,
            }
            .into()
        });
    let closed = (any::<u64>(), 0u64..1_000, 2usize..=POLL_OPTIONS_MAX)
        .prop_flat_map(|(poll, ballots, m)| {
            (
                Just(poll),
                Just(ballots),
                proptest::collection::vec(0..=ballots, m),
                distinct_u16(m as u16, m..=m),
                distinct_u16(m as u16, 1..=m),
            )
        })
        .prop_map(|(poll, ballots, counts, ranking, mut winners)| {
            winners.sort_unstable();
            PollClosed {
                poll,
                ballots,
                counts,
                ranking,
                winners,
            }
            .into()
        });
    prop_oneof![opened, ballot, closed]
}

fn money() -> impl Strategy<Value = u64> {
    prop_oneof![Just(1u64), Just(MONEY_MAX), 1..=MONEY_MAX]
}

fn ascending_ids(len: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<u64>> {
    proptest::collection::btree_set(any::<u64>(), len).prop_map(|s| s.into_iter().collect())
}

fn pb_payload() -> impl Strategy<Value = Payload> {
    let round = (
        "[a-z0-9]([a-z0-9-]{0,20}[a-z0-9])?",
        line(),
        line(),
        multiline(),
        multiline(),
        "[A-Z]{3}",
        0u8..=4,
        0..=MAX_TIMESTAMP_MS,
    )
        .prop_map(
            |(jurisdiction, title_ru, title_en, d_ru, d_en, currency, scale, closes)| {
                PbRoundOpened {
                    jurisdiction,
                    title_ru,
                    title_en,
                    description_ru: d_ru,
                    description_en: d_en,
                    currency,
                    scale,
                    proposals_close_at_ms: closes,
                    actor: organiser(),
                }
                .into()
            },
        );
    let location = (
        prop_oneof![
            Just(-LAT_E6_MAX),
            Just(LAT_E6_MAX),
            -LAT_E6_MAX..=LAT_E6_MAX
        ],
        prop_oneof![
            Just(-LON_E6_MAX + 1),
            Just(LON_E6_MAX),
            -LON_E6_MAX + 1..=LON_E6_MAX
        ],
    )
        .prop_map(|(lat_e6, lon_e6)| Location { lat_e6, lon_e6 });
    let project = (
        any::<u64>(),
        line(),
        multiline(),
        proptest::option::of(location),
        proptest::option::of("[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?"),
        any::<[u8; 32]>(),
    )
        .prop_map(|(round, title, description, location, category, author)| {
            PbProjectProposed {
                round,
                title,
                description,
                location,
                category,
                author,
            }
            .into()
        });
    let review = (any::<u64>(), proptest::option::of(money()), multiline()).prop_map(
        |(project, cost, reason)| {
            PbProjectReviewed {
                project,
                verdict: if cost.is_some() {
                    Verdict::Feasible
                } else {
                    Verdict::Infeasible
                },
                cost,
                reason,
                actor: organiser(),
            }
            .into()
        },
    );
    let voting = (
        any::<u64>(),
        money(),
        prop::sample::select(PbRule::ALL.to_vec()),
        proptest::option::of(1u16..=PB_PROJECTS_MAX as u16),
        proptest::option::of(money()),
        0..=MAX_TIMESTAMP_MS,
        ascending_ids(1..=40),
        any::<u64>(),
    )
        .prop_map(
            |(round, budget, rule, max_projects, cost_limit, closes, ids, salt)| {
                PbVotingOpened {
                    round,
                    budget,
                    rule,
                    max_projects,
                    cost_limit,
                    closes_at_ms: closes,
                    projects: ids
                        .iter()
                        .map(|&project| CostedProject {
                            project,
                            cost: 1 + (project ^ salt) % MONEY_MAX,
                        })
                        .collect(),
                    actor: organiser(),
                }
                .into()
            },
        );
    let ballot = (
        any::<u64>(),
        any::<[u8; 32]>(),
        ascending_ids(1..=40),
        any::<[u8; 32]>(),
    )
        .prop_map(|(round, nullifier, approved, assertion)| {
            PbBallot {
                round,
                nullifier,
                approved,
                assertion,
            }
            .into()
        });
    let result = (
        any::<u64>(),
        0u64..10_000,
        1usize..40,
        ascending_ids(0..=10),
    )
        .prop_flat_map(|(round, ballots, n, winners)| {
            (
                Just(round),
                Just(ballots),
                proptest::collection::vec(0..=ballots, n),
                Just(winners).prop_shuffle(),
                0..=MONEY_MAX,
            )
        })
        .prop_map(|(round, ballots, approvals, winners, spent)| {
            let keep = winners.len().min(approvals.len());
            PbResult {
                round,
                ballots,
                approvals,
                winners: winners[..keep].to_vec(),
                spent,
                actor: organiser(),
            }
            .into()
        });
    prop_oneof![round, project, review, voting, ballot, result]
}

/// Decoding `bytes` either fails or gives a value whose encoding is `bytes`.
fn canonical_or_rejected(bytes: &[u8]) -> Result<Option<Entry>, TestCaseError> {
    match Entry::decode(bytes) {
        Err(_) => Ok(None),
        Ok(e) => {
            prop_assert_eq!(e.encode().expect("decoded entries encode"), bytes);
            Ok(Some(e))
        }
    }
}

fn round_trip(e: &Entry, flip: (usize, u8)) -> Result<(), TestCaseError> {
    let bytes = e.encode().expect("valid payloads encode");
    let back = Entry::decode(&bytes).expect("encodings decode");
    prop_assert_eq!(&back, e);
    let json = serde_json::to_string(e).unwrap();
    prop_assert_eq!(&serde_json::from_str::<Entry>(&json).unwrap(), e);
    // Change one byte: either rejected, or another value that encodes to
    // exactly the changed bytes.
    let mut changed = bytes.clone();
    let i = flip.0 % changed.len();
    changed[i] = if changed[i] == flip.1 {
        flip.1.wrapping_add(1)
    } else {
        flip.1
    };
    if let Some(d) = canonical_or_rejected(&changed)? {
        prop_assert_ne!(&d, e);
    }
    // Cut it short: always rejected.
    let cut = flip.0 % bytes.len();
    prop_assert!(Entry::decode(&bytes[..cut]).is_err());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn poll_entries_round_trip_byte_exactly(
        ts in 0..=MAX_TIMESTAMP_MS, p in poll_payload(), flip in any::<(usize, u8)>()
    ) {
        round_trip(&Entry::new(ts, p), flip)?;
    }

    #[test]
    fn pb_entries_round_trip_byte_exactly(
        ts in 0..=MAX_TIMESTAMP_MS, p in pb_payload(), flip in any::<(usize, u8)>()
    ) {
        round_trip(&Entry::new(ts, p), flip)?;
    }

    /// Bytes after a valid poll or PB header: never a panic, and anything
    /// accepted is canonical.
    #[test]
    fn arbitrary_payloads_of_new_kinds_decode_canonically(
        kind in prop::sample::select(vec![32u16, 33, 34, 48, 49, 50, 51, 52, 53]),
        payload in proptest::collection::vec(
            prop_oneof![4 => Just(0u8), 2 => 1u8..=4, 2 => b'a'..=b'z', 1 => any::<u8>()],
            0..160,
        )
    ) {
        let mut bytes = vec![1];
        bytes.extend_from_slice(&kind.to_be_bytes());
        bytes.extend_from_slice(&0u64.to_be_bytes());
        bytes.extend_from_slice(&payload);
        canonical_or_rejected(&bytes)?;
    }
}

#[test]
fn largest_poll_opened_fits_an_entry_bundle() {
    // 500 and 200 characters of 4-byte UTF-8 each, 32 options.
    let wide = |n: usize, i: usize| {
        format!(
            "{}{}",
            char::from_u32(0x1D400 + i as u32).unwrap(),
            "𝔸".repeat(n - 1)
        )
    };
    let p = PollOpened {
        jurisdiction: "j".repeat(64),
        question_ru: wide(500, 0),
        question_en: wide(500, 1),
        options: (0..POLL_OPTIONS_MAX)
            .map(|i| PollOption {
                ru: wide(200, 2 * i),
                en: wide(200, 2 * i + 1),
            })
            .collect(),
        method: PollMethod::Approval,
        opens_at_ms: 0,
        closes_at_ms: MAX_TIMESTAMP_MS,
        actor: Actor::new(StaffRole::Organiser, "o".repeat(64)),
    };
    let bytes = Entry::new(0, p).encode().unwrap();
    assert_eq!(bytes.len(), 55_633, "specs/polls.md states this size");
    assert!(bytes.len() <= MAX_ENTRY_SIZE);
}

#[test]
fn largest_pb_voting_opened_is_as_specified() {
    let p = PbVotingOpened {
        round: u64::MAX,
        budget: MONEY_MAX,
        rule: PbRule::EqualSharesAdd1Greedy,
        max_projects: Some(PB_PROJECTS_MAX as u16),
        cost_limit: Some(MONEY_MAX),
        closes_at_ms: MAX_TIMESTAMP_MS,
        projects: (0..PB_PROJECTS_MAX as u64)
            .map(|project| CostedProject {
                project,
                cost: MONEY_MAX,
            })
            .collect(),
        actor: Actor::new(StaffRole::Organiser, "o".repeat(64)),
    };
    let bytes = Entry::new(0, p).encode().unwrap();
    assert_eq!(bytes.len(), 16_121, "specs/pb-rounds.md states this size");
}

#[test]
fn limits_are_enforced_at_the_boundary() {
    let ballot = |choice: Vec<u16>| {
        Entry::new(
            0,
            PollBallot {
                poll: 1,
                nullifier: [1; 32],
                choice,
                assertion: [2; 32],
            },
        )
        .encode()
    };
    assert!(ballot((0..32).collect()).is_ok());
    assert!(ballot(vec![31]).is_ok());
    assert!(ballot(vec![32]).is_err());
    assert!(ballot((0..33).collect()).is_err());
    let pb = |approved: Vec<u64>| {
        Entry::new(
            0,
            PbBallot {
                round: 1,
                nullifier: [1; 32],
                approved,
                assertion: [2; 32],
            },
        )
        .encode()
    };
    assert!(pb((0..1_000).collect()).is_ok());
    assert!(pb((0..1_001).collect()).is_err());
    let review = |cost| {
        Entry::new(
            0,
            PbProjectReviewed {
                project: 1,
                verdict: Verdict::Feasible,
                cost: Some(cost),
                reason: String::new(),
                actor: organiser(),
            },
        )
        .encode()
    };
    assert!(review(MONEY_MAX).is_ok());
    assert_eq!(
        review(MONEY_MAX + 1).unwrap_err().to_string(),
        "invalid entry: field cost: must be ≤ 9007199254740991, got 9007199254740992"
    );
}
