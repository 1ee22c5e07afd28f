//! Kind 64, `roll_version`: a new version of a jurisdiction's electoral roll
//! was loaded. It carries no personal data: only how many records are
//! active, how they changed against the previous version, and a BLAKE3
//! commitment to the hashed records (computed by the `veche-roll` crate, see
//! `specs/roll.md`). Observers see the size of the electorate and that it
//! did not change silently (see [`crate::Rolls`]), and which staff member
//! loaded it (its [`Actor`]).

use serde::{Deserialize, Serialize};

use crate::actor::Actor;
use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::kinds::jurisdiction::{ID_MAX_BYTES, POPULATION_MAX};
use crate::payload::EntryKind;
use crate::validate;

/// Largest accepted record count (`records`, `added`, `updated`,
/// `retired`): the largest population a jurisdiction may have.
pub const RECORDS_MAX: u64 = POPULATION_MAX;

/// A version of a jurisdiction's electoral roll.
///
/// Fields are encoded in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RollVersion {
    /// The jurisdiction whose roll this is: the `id` of a `jurisdiction`
    /// entry (same rule: 1..=64 bytes of `[a-z0-9-]`, no `-` at either end).
    pub jurisdiction: String,
    /// Roll version, 1 for the first load, then +1 for each reload.
    pub version: u32,
    /// Number of active records in this version, 0..=10,000,000,000.
    pub records: u64,
    /// Records added since the previous version (new record ids, or retired
    /// ones coming back).
    pub added: u64,
    /// Records whose matching data or district changed (same record id).
    pub updated: u64,
    /// Records of the previous version absent from this one.
    pub retired: u64,
    /// BLAKE3 commitment to this version's hashed records (`specs/roll.md`);
    /// 64 lowercase hex digits in JSON.
    #[serde(with = "hex32")]
    pub commitment: [u8; 32],
    /// The staff member who loaded this version (a registrar of the
    /// jurisdiction, or an administrator).
    pub actor: Actor,
}

impl EntryKind for RollVersion {
    const KIND: u16 = 64;
    const NAME: &'static str = "roll_version";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("jurisdiction", &self.jurisdiction);
        w.u32(self.version);
        w.u64(self.records);
        w.u64(self.added);
        w.u64(self.updated);
        w.u64(self.retired);
        w.bytes32(&self.commitment);
        w.actor("actor", &self.actor);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            jurisdiction: r.string("jurisdiction")?,
            version: r.u32("version")?,
            records: r.u64("records")?,
            added: r.u64("added")?,
            updated: r.u64("updated")?,
            retired: r.u64("retired")?,
            commitment: r.bytes32("commitment")?,
            actor: r.actor("actor")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("jurisdiction", &self.jurisdiction, ID_MAX_BYTES)?;
        validate::range("version", self.version.into(), 1, u32::MAX.into())?;
        validate::range("records", self.records, 0, RECORDS_MAX)?;
        if self.added > self.records {
            return Err(ValidationError::new(
                "added",
                format!("must be ≤ records ({}), got {}", self.records, self.added),
            ));
        }
        // added ≤ records ≤ RECORDS_MAX, so the sum cannot overflow.
        if self.updated > self.records - self.added {
            return Err(ValidationError::new(
                "updated",
                format!(
                    "added + updated must be ≤ records ({}), got {} + {}",
                    self.records, self.added, self.updated
                ),
            ));
        }
        validate::range("retired", self.retired, 0, RECORDS_MAX)?;
        if self.version == 1 {
            if self.added != self.records {
                return Err(ValidationError::new(
                    "added",
                    format!(
                        "must equal records ({}) in version 1, got {}",
                        self.records, self.added
                    ),
                ));
            }
            if self.retired != 0 {
                return Err(ValidationError::new(
                    "retired",
                    format!("must be 0 in version 1, got {}", self.retired),
                ));
            }
        }
        self.actor.validate("actor")?;
        Ok(())
    }
}

impl RollVersion {
    /// Checks that `self` can follow `previous`, the latest `roll_version`
    /// of the same jurisdiction in the log (`None` if there is none):
    /// the version goes up by exactly one (starting at 1), and
    /// `records = previous.records + added − retired`.
    ///
    /// The entry's own [`EntryKind::validate`] rules are not repeated here.
    pub fn check_follows(&self, previous: Option<&RollVersion>) -> Result<(), ValidationError> {
        let Some(prev) = previous else {
            if self.version != 1 {
                return Err(ValidationError::new(
                    "version",
                    format!(
                        "must be 1 for the first roll of {}, got {}",
                        self.jurisdiction, self.version
                    ),
                ));
            }
            return Ok(());
        };
        if prev.jurisdiction != self.jurisdiction {
            return Err(ValidationError::new(
                "jurisdiction",
                format!(
                    "previous version is of {}, not {}",
                    prev.jurisdiction, self.jurisdiction
                ),
            ));
        }
        if u64::from(self.version) != u64::from(prev.version) + 1 {
            return Err(ValidationError::new(
                "version",
                format!(
                    "must be {} (previous version {} + 1), got {}",
                    u64::from(prev.version) + 1,
                    prev.version,
                    self.version
                ),
            ));
        }
        if self.retired > prev.records {
            return Err(ValidationError::new(
                "retired",
                format!(
                    "must be ≤ the previous version's records ({}), got {}",
                    prev.records, self.retired
                ),
            ));
        }
        // Each term ≤ RECORDS_MAX, so no overflow in u64.
        let expected = prev.records - self.retired + self.added;
        if self.records != expected {
            return Err(ValidationError::new(
                "records",
                format!(
                    "must be previous records {} − retired {} + added {} = {expected}, got {}",
                    prev.records, self.retired, self.added, self.records
                ),
            ));
        }
        if self.updated > prev.records - self.retired {
            return Err(ValidationError::new(
                "updated",
                format!(
                    "must be ≤ records kept from the previous version ({}), got {}",
                    prev.records - self.retired,
                    self.updated
                ),
            ));
        }
        Ok(())
    }
}

/// `[u8; 32]` as 64 lowercase hex digits (and only that) in JSON.
pub(crate) mod hex32 {
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(v: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(v))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let lower_hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        if s.len() != 64 || !s.bytes().all(lower_hex) {
            return Err(D::Error::custom(format!(
                "expected 64 lowercase hex digits, got {s:?}"
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s.as_bytes(), &mut out).map_err(D::Error::custom)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Entry, Payload, StaffRole};

    pub(crate) fn v1() -> RollVersion {
        RollVersion {
            jurisdiction: "kaliningrad-oblast".into(),
            version: 1,
            records: 3,
            added: 3,
            updated: 0,
            retired: 0,
            commitment: [0xab; 32],
            actor: Actor::new(StaffRole::Registrar, "registrar-k3j9x2"),
        }
    }

    #[test]
    fn layout_is_exact() {
        let e = Entry::new(1_000, v1());
        let b = e.encode().unwrap();
        let expected: Vec<u8> = [
            &[0x01][..],
            &[0x00, 0x40],
            &1_000u64.to_be_bytes(),
            &[0, 0, 0, 18],
            b"kaliningrad-oblast",
            &[0, 0, 0, 1],
            &3u64.to_be_bytes(),
            &3u64.to_be_bytes(),
            &0u64.to_be_bytes(),
            &0u64.to_be_bytes(),
            &[0xab; 32],
            &[0x02, 0, 0, 0, 16],
            b"registrar-k3j9x2",
        ]
        .concat();
        assert_eq!(b, expected);
        assert_eq!(b.len(), 122);
        assert_eq!(Entry::decode(&b).unwrap(), e);
        assert_eq!(e.kind(), 64);
        assert_eq!(e.kind_name(), "roll_version");
    }

    #[test]
    fn rules() {
        let ok = |r: &RollVersion| r.validate();
        assert!(ok(&v1()).is_ok());
        let empty = RollVersion {
            records: 0,
            added: 0,
            ..v1()
        };
        assert!(ok(&empty).is_ok());
        let err = |r: RollVersion| r.validate().unwrap_err().to_string();
        assert_eq!(
            err(RollVersion { version: 0, ..v1() }),
            "field version: must be ≥ 1"
        );
        assert_eq!(
            err(RollVersion {
                jurisdiction: "X".into(),
                ..v1()
            }),
            "field jurisdiction: must contain only a-z, 0-9 and '-', found 'X' at byte 0"
        );
        assert_eq!(
            err(RollVersion { added: 4, ..v1() }),
            "field added: must be ≤ records (3), got 4"
        );
        assert_eq!(
            err(RollVersion { added: 2, ..v1() }),
            "field added: must equal records (3) in version 1, got 2"
        );
        assert_eq!(
            err(RollVersion { updated: 1, ..v1() }),
            "field updated: added + updated must be ≤ records (3), got 3 + 1"
        );
        assert_eq!(
            err(RollVersion { retired: 1, ..v1() }),
            "field retired: must be 0 in version 1, got 1"
        );
        let v2 = RollVersion {
            version: 2,
            records: 10,
            added: 4,
            updated: 6,
            retired: 7,
            ..v1()
        };
        assert!(ok(&v2).is_ok());
        assert_eq!(
            err(RollVersion {
                records: RECORDS_MAX + 1,
                ..v2.clone()
            }),
            "field records: must be ≤ 10000000000, got 10000000001"
        );
        assert_eq!(
            err(RollVersion {
                retired: RECORDS_MAX + 1,
                ..v2.clone()
            }),
            "field retired: must be ≤ 10000000000, got 10000000001"
        );
        assert_eq!(
            err(RollVersion {
                added: u64::MAX,
                updated: u64::MAX,
                records: RECORDS_MAX,
                ..v2
            }),
            "field added: must be ≤ records (10000000000), got 18446744073709551615"
        );
        assert_eq!(
            err(RollVersion {
                actor: Actor::new(StaffRole::Registrar, "r"),
                ..v1()
            }),
            "field actor.pseudonym: must be 3..=64 bytes, got 1"
        );
        // The actor is checked after the counts.
        assert_eq!(
            err(RollVersion {
                version: 0,
                actor: Actor::new(StaffRole::Registrar, "r"),
                ..v1()
            }),
            "field version: must be ≥ 1"
        );
    }

    #[test]
    fn actor_errors_are_reported_at_the_actor() {
        let good = Entry::new(0, v1()).encode().unwrap();
        // 11 header + 22 jurisdiction + 4 version + 4 × 8 counts + 32.
        let at = 101;
        assert_eq!(good[at], 2);
        for code in [0u8, 6] {
            let mut b = good.clone();
            b[at] = code;
            let e = Entry::decode(&b).unwrap_err();
            assert_eq!((e.code(), e.offset), ("invalid_enum", at));
        }
        for (role, code) in StaffRole::ALL.into_iter().zip(1u8..) {
            let mut b = good.clone();
            b[at] = code;
            let e = Entry::decode(&b).unwrap();
            let Payload::RollVersion(r) = e.payload else {
                panic!("not a roll version")
            };
            assert_eq!(r.actor.role, role);
        }
        let mut b = good.clone();
        b[at + 5] = b'R';
        let e = Entry::decode(&b).unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 102: field actor.pseudonym: must contain only a-z, 0-9 and '-', found 'R' at byte 0"
        );
        // An entry without its actor (kind 64's layout before the actor).
        let e = Entry::decode(&good[..at]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 101: field actor: needs 1 byte, only 0 left"
        );
        let bad = RollVersion {
            actor: Actor::new(StaffRole::Admin, "admin\tx"),
            ..v1()
        };
        assert!(Entry::new(0, bad).encode().is_err());
    }

    #[test]
    fn succession() {
        let first = v1();
        assert!(first.check_follows(None).is_ok());
        let second = RollVersion {
            version: 2,
            records: 4,
            added: 2,
            updated: 1,
            retired: 1,
            commitment: [1; 32],
            ..v1()
        };
        assert!(second.validate().is_ok());
        assert!(second.check_follows(Some(&first)).is_ok());
        assert_eq!(
            second.check_follows(None).unwrap_err().to_string(),
            "field version: must be 1 for the first roll of kaliningrad-oblast, got 2"
        );
        assert_eq!(
            first.check_follows(Some(&first)).unwrap_err().to_string(),
            "field version: must be 2 (previous version 1 + 1), got 1"
        );
        assert_eq!(
            RollVersion {
                records: 5,
                ..second.clone()
            }
            .check_follows(Some(&first))
            .unwrap_err()
            .to_string(),
            "field records: must be previous records 3 − retired 1 + added 2 = 4, got 5"
        );
        assert_eq!(
            RollVersion {
                retired: 4,
                records: 0,
                added: 0,
                updated: 0,
                ..second.clone()
            }
            .check_follows(Some(&first))
            .unwrap_err()
            .to_string(),
            "field retired: must be ≤ the previous version's records (3), got 4"
        );
        assert_eq!(
            RollVersion {
                updated: 3,
                records: 5,
                ..second.clone()
            }
            .check_follows(Some(&first))
            .unwrap_err()
            .to_string(),
            "field records: must be previous records 3 − retired 1 + added 2 = 4, got 5"
        );
        assert_eq!(
            RollVersion {
                updated: 2,
                retired: 2,
                records: 2,
                added: 1,
                ..second.clone()
            }
            .check_follows(Some(&first))
            .unwrap_err()
            .to_string(),
            "field updated: must be ≤ records kept from the previous version (1), got 2"
        );
        let other = RollVersion {
            jurisdiction: "moscow".into(),
            ..second
        };
        assert_eq!(
            other.check_follows(Some(&first)).unwrap_err().to_string(),
            "field jurisdiction: previous version is of kaliningrad-oblast, not moscow"
        );
    }

    #[test]
    fn json_form() {
        let e = Entry::new(0, v1());
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "kind": "roll_version",
                "timestamp_ms": 0,
                "timestamp": "1970-01-01T00:00:00.000Z",
                "jurisdiction": "kaliningrad-oblast",
                "version": 1,
                "records": 3,
                "added": 3,
                "updated": 0,
                "retired": 0,
                "commitment": "ab".repeat(32),
                "actor": {"role": "registrar", "pseudonym": "registrar-k3j9x2"},
            })
        );
        assert_eq!(serde_json::from_value::<Entry>(v.clone()).unwrap(), e);
        for bad in ["AB".repeat(32), "ab".repeat(31), "zz".repeat(32)] {
            let mut w = v.clone();
            w["commitment"] = bad.into();
            assert!(serde_json::from_value::<Entry>(w).is_err());
        }
        let mut w = v.clone();
        w["actor"]["role"] = "citizen".into();
        assert!(serde_json::from_value::<Entry>(w).is_err());
        let mut w = v.clone();
        w["actor"]["pseudonym"] = "9lives".into();
        let err = serde_json::from_value::<Entry>(w).unwrap_err().to_string();
        assert!(
            err.contains("actor.pseudonym: must start with a letter"),
            "{err}"
        );
        let mut w = v.clone();
        w.as_object_mut().unwrap().remove("actor");
        assert!(serde_json::from_value::<Entry>(w).is_err());
        let mut w = v.clone();
        w["added"] = 2.into();
        let err = serde_json::from_value::<Entry>(w).unwrap_err().to_string();
        assert!(err.contains("must equal records (3) in version 1"), "{err}");
        let mut w = v;
        w["extra"] = 1.into();
        assert!(serde_json::from_value::<Entry>(w).is_err());
        assert!(matches!(e.payload, Payload::RollVersion(_)));
    }
}
