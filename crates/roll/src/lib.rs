//! `veche-roll`: the electoral roll of a jurisdiction without personal
//! data. Pure library: no HTTP, no database; the server stores what it
//! produces. The normative description is `specs/roll.md`.
//!
//! - [`Pepper`] and [`IdentityHasher`]: Argon2id with the server pepper as
//!   Argon2's secret key, cost [`HashParams`].
//! - [`IdentityHasher::document_key`]: the deterministic, indexable key of
//!   (document number, date of birth) within a jurisdiction, for claiming a
//!   record by document data.
//! - [`parse_roll_csv`] → transient [`RollRow`]s → [`hash_roll`] →
//!   [`HashedRecord`]s, the only thing stored.
//! - [`diff`] between two versions of a roll ([`RollDiff`]), applied by the
//!   server on reload without breaking enrolments, and
//!   [`roll_commitment`] / [`RollDiff::roll_version`] for the
//!   `roll_version` log entry.
//! - [`EnrolmentCode`]s (`id.secret`), stored as [`StoredCode`] (Argon2id
//!   PHC), checked with [`verify_code`].
//!
//! ```
//! use veche_roll::{diff, hash_roll, parse_roll_csv, Actor, EnrolmentCode, HashParams, IdentityHasher, Pepper, StaffRole};
//!
//! let hasher = IdentityHasher::new(Pepper::generate(), HashParams::fast_for_tests())?;
//! let csv = "record_id,document_number,date_of_birth,district\n\
//!            r-1,4508 123456,1990-02-28,Tverskoy\n\
//!            r-2,4510 654321,1985-07-01,\n";
//! let rows = parse_roll_csv(csv.as_bytes(), "moscow")?;
//! let records = hash_roll("moscow", &rows, &hasher, &|_done, _total| {})?;
//! drop(rows); // the plain data is not kept
//!
//! // A citizen types their document data: found by equality.
//! let key = hasher.document_key("moscow", "45 08 123456", "1990-02-28")?;
//! assert_eq!(records.iter().find(|r| r.document_key == key).unwrap().record_id, "r-1");
//!
//! // First version of the roll, as a log entry payload.
//! let d = diff(&[], &records);
//! let registrar = Actor::new(StaffRole::Registrar, "registrar-k3j9x2");
//! let entry = d.roll_version("moscow", 1, &records, registrar);
//! assert_eq!((entry.records, entry.added), (2, 2));
//! assert_eq!(entry.actor.pseudonym, "registrar-k3j9x2");
//!
//! // An enrolment code for a letter.
//! let (code, stored) = EnrolmentCode::generate(&hasher);
//! let typed = code.grouped().to_lowercase();
//! assert!(veche_roll::verify_code(&stored, &EnrolmentCode::parse(&typed)?, &hasher));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod code;
mod hash;
mod pepper;
mod record;
mod roll_csv;

pub use code::{CodeError, EnrolmentCode, StoredCode, verify as verify_code};
pub use hash::{
    DOCUMENT_KEY_LEN, DOCUMENT_NUMBER_MAX_CHARS, EARLIEST_BIRTH_YEAR, HashParams, IdentityHasher,
    InputError, ParamsError, SALT_CONTEXT, check_jurisdiction, jurisdiction_salt,
    normalise_document_number, parse_date_of_birth,
};
pub use pepper::{PEPPER_LEN, Pepper, PepperError};
pub use record::{
    COMMITMENT_CONTEXT, HashedRecord, MAX_HASH_THREADS, RecordUpdate, RollDiff, diff,
    duplicate_record_id, hash_roll, hash_roll_with_threads, roll_commitment,
};
pub use roll_csv::{
    COLUMNS, CsvProblem, DISTRICT_MAX_CHARS, MAX_PROBLEMS, RECORD_ID_MAX, RollCsvError, RollRow,
    parse_roll_csv, write_roll_csv,
};
pub use veche_entry::{Actor, Date, RollVersion, StaffRole};

#[cfg(test)]
pub(crate) fn test_hasher() -> IdentityHasher {
    IdentityHasher::new(
        Pepper::from_bytes([7; 32]).expect("non-zero"),
        HashParams::fast_for_tests(),
    )
    .expect("valid parameters")
}
