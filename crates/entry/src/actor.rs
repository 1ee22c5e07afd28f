//! The `actor` field type: which staff member made an entry, by role and
//! public pseudonym. Every kind written on a staff member's behalf carries
//! one, so that each staff action that changes public state is attributed.
//!
//! Encoding: u8 role code ([`StaffRole::code`]; any other byte is rejected
//! by the decoder), then the pseudonym as a string. JSON:
//! `{"role":"registrar","pseudonym":"registrar-k3j9x2"}`.
//!
//! A kind adds it with one line in each of its three functions:
//! [`Writer::actor`](crate::Writer::actor) in `encode_payload`,
//! [`Reader::actor`](crate::Reader::actor) in `decode_payload` and
//! [`Actor::validate`] in `validate`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::ValidationError;
use crate::validate;

/// Shortest accepted [`Actor::pseudonym`], in bytes.
pub const PSEUDONYM_MIN_BYTES: usize = 3;
/// Longest accepted [`Actor::pseudonym`], in bytes.
pub const PSEUDONYM_MAX_BYTES: usize = 64;

/// A staff role, encoded as its one-byte code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StaffRole {
    /// Code 1, `admin`: invites staff, may act as any role.
    Admin,
    /// Code 2, `registrar`: jurisdictions, populations, the electoral roll.
    Registrar,
    /// Code 3, `moderator`: checks petitions, invalidates signatures.
    Moderator,
    /// Code 4, `clerk`: a legislature's clerk, answers petitions.
    Clerk,
    /// Code 5, `organiser`: runs participatory budgeting rounds.
    Organiser,
}

impl StaffRole {
    /// Every role, in code order.
    pub const ALL: [StaffRole; 5] = [
        Self::Admin,
        Self::Registrar,
        Self::Moderator,
        Self::Clerk,
        Self::Organiser,
    ];

    /// The role's code in the encoding, 1..=5.
    pub const fn code(self) -> u8 {
        match self {
            Self::Admin => 1,
            Self::Registrar => 2,
            Self::Moderator => 3,
            Self::Clerk => 4,
            Self::Organiser => 5,
        }
    }

    /// The role with code `code`, if there is one.
    pub const fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Self::Admin),
            2 => Some(Self::Registrar),
            3 => Some(Self::Moderator),
            4 => Some(Self::Clerk),
            5 => Some(Self::Organiser),
            _ => None,
        }
    }

    /// The role's name, as in JSON: `"admin"`, `"registrar"`, ...
    pub const fn name(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Registrar => "registrar",
            Self::Moderator => "moderator",
            Self::Clerk => "clerk",
            Self::Organiser => "organiser",
        }
    }

    /// The role named `name` (exactly as [`StaffRole::name`] spells it).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }
}

impl fmt::Display for StaffRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a staff role.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown staff role {0:?}")]
pub struct UnknownStaffRole(pub String);

impl FromStr for StaffRole {
    type Err = UnknownStaffRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_name(s).ok_or_else(|| UnknownStaffRole(s.to_owned()))
    }
}

/// The staff member an entry is attributed to: a role and a public
/// pseudonym (never a name).
///
/// Fields are encoded in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actor {
    /// The role the staff member acted in (u8 code).
    pub role: StaffRole,
    /// The staff member's public pseudonym, e.g. `registrar-k3j9x2`:
    /// 3..=64 bytes of `[a-z0-9-]`, starting with a letter.
    pub pseudonym: String,
}

impl Actor {
    /// An actor.
    pub fn new(role: StaffRole, pseudonym: impl Into<String>) -> Self {
        Self {
            role,
            pseudonym: pseudonym.into(),
        }
    }

    /// Checks the pseudonym rule; errors name `"<field>.pseudonym"`. (The
    /// role needs no check: every [`StaffRole`] has a code.)
    pub fn validate(&self, field: &str) -> Result<(), ValidationError> {
        validate::pseudonym(&format!("{field}.pseudonym"), &self.pseudonym)
    }
}

impl fmt::Display for Actor {
    /// `registrar registrar-k3j9x2`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.role, self.pseudonym)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Reader, Writer};

    #[test]
    fn role_codes_and_names() {
        for (i, r) in StaffRole::ALL.into_iter().enumerate() {
            assert_eq!(usize::from(r.code()), i + 1);
            assert_eq!(StaffRole::from_code(r.code()), Some(r));
            assert_eq!(StaffRole::from_name(r.name()), Some(r));
            assert_eq!(r.name().parse::<StaffRole>(), Ok(r));
            assert_eq!(
                serde_json::to_value(r).unwrap(),
                serde_json::Value::from(r.name())
            );
        }
        assert_eq!(StaffRole::Registrar.to_string(), "registrar");
        assert_eq!(StaffRole::from_code(0), None);
        assert_eq!(StaffRole::from_code(6), None);
        assert_eq!(StaffRole::from_code(255), None);
        assert_eq!(StaffRole::from_name("Registrar"), None);
        assert_eq!(
            "citizen".parse::<StaffRole>().unwrap_err().to_string(),
            "unknown staff role \"citizen\""
        );
    }

    #[test]
    fn encoding_round_trips_and_rejects_unknown_codes() {
        let a = Actor::new(StaffRole::Registrar, "registrar-k3j9x2");
        let mut w = Writer::new();
        w.u8(0xee);
        w.actor("actor", &a);
        let b = w.finish().unwrap();
        let expected: Vec<u8> = [&[0xee, 2, 0, 0, 0, 16][..], b"registrar-k3j9x2"].concat();
        assert_eq!(b, expected);
        let mut r = Reader::new(&b);
        r.u8("x").unwrap();
        assert_eq!(r.actor("actor").unwrap(), a);
        r.finish().unwrap();
        assert_eq!(r.field_offset("actor"), Some(1));
        assert_eq!(r.field_offset("actor.pseudonym"), Some(2));
        assert_eq!(r.field_offset("actor.role"), Some(1));

        for code in [0u8, 6, 0xff] {
            let mut bad = b.clone();
            bad[1] = code;
            let mut r = Reader::new(&bad);
            r.u8("x").unwrap();
            let e = r.actor("actor").unwrap_err();
            assert_eq!(e.offset, 1);
            assert_eq!(e.code(), "invalid_enum");
            assert_eq!(
                e.to_string(),
                format!(
                    "offset 1: field actor: byte 0x{code:02x} is not a staff role code \
                     (1 admin, 2 registrar, 3 moderator, 4 clerk, 5 organiser)"
                )
            );
        }
        let e = Reader::new(&[1]).actor("actor").unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 1: field actor: needs 4 bytes, only 0 left"
        );
    }

    #[test]
    fn pseudonym_rule() {
        let ok = |p: &str| Actor::new(StaffRole::Admin, p).validate("actor");
        for p in ["abc", "a-0", "registrar-k3j9x2", "x--", &"a".repeat(64)] {
            assert!(ok(p).is_ok(), "{p}");
        }
        let err = |p: &str| ok(p).unwrap_err().to_string();
        assert_eq!(
            err("ab"),
            "field actor.pseudonym: must be 3..=64 bytes, got 2"
        );
        assert_eq!(
            err(&"a".repeat(65)),
            "field actor.pseudonym: must be 3..=64 bytes, got 65"
        );
        assert_eq!(
            err("Registrar-k3j9x2"),
            "field actor.pseudonym: must contain only a-z, 0-9 and '-', found 'R' at byte 0"
        );
        assert_eq!(
            err("reg_k3j9x2"),
            "field actor.pseudonym: must contain only a-z, 0-9 and '-', found '_' at byte 3"
        );
        assert_eq!(
            err("1registrar"),
            "field actor.pseudonym: must start with a letter a-z, found '1'"
        );
        assert_eq!(
            err("-registrar"),
            "field actor.pseudonym: must start with a letter a-z, found '-'"
        );
        // Multi-byte characters are counted in bytes and reported at their byte.
        assert_eq!(
            err("аб"),
            "field actor.pseudonym: must contain only a-z, 0-9 and '-', found 'а' at byte 0"
        );
    }

    #[test]
    fn json_form() {
        let a = Actor::new(StaffRole::Registrar, "registrar-k3j9x2");
        let v = serde_json::to_value(&a).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"role": "registrar", "pseudonym": "registrar-k3j9x2"})
        );
        assert_eq!(serde_json::from_value::<Actor>(v).unwrap(), a);
        for bad in [
            serde_json::json!({"role": "citizen", "pseudonym": "abc"}),
            serde_json::json!({"role": 2, "pseudonym": "abc"}),
            serde_json::json!({"role": "admin"}),
            serde_json::json!({"role": "admin", "pseudonym": "abc", "name": "x"}),
        ] {
            assert!(serde_json::from_value::<Actor>(bad).is_err());
        }
        assert_eq!(a.to_string(), "registrar registrar-k3j9x2");
    }
}
