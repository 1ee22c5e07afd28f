//! Kind 1, `jurisdiction`: declares a jurisdiction, or updates it. A later
//! entry with the same `id` supersedes the earlier one for petitions opened
//! after it (see [`crate::Jurisdictions`]).

use serde::{Deserialize, Serialize};

use crate::codec::{Reader, Writer};
use crate::error::{DecodeError, ValidationError};
use crate::payload::EntryKind;
use crate::time::Date;
use crate::validate;

/// Maximum length of [`Jurisdiction::id`] in bytes.
pub const ID_MAX_BYTES: usize = 64;
/// Maximum length of the name and legislature fields in characters.
pub const NAME_MAX_CHARS: usize = 200;
/// Maximum length of [`Jurisdiction::population_source`] in characters.
pub const POPULATION_SOURCE_MAX_CHARS: usize = 500;
/// Largest accepted population.
pub const POPULATION_MAX: u64 = 10_000_000_000;

/// A jurisdiction: a territory with a legislature that petitions are
/// addressed to, and the population that thresholds are computed from.
///
/// Fields are encoded in declaration order.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jurisdiction {
    /// Stable identifier: 1..=64 bytes of `[a-z0-9-]`, not starting or
    /// ending with `-`, e.g. `kaliningrad-oblast`.
    pub id: String,
    /// Name in Russian, e.g. `Калининградская область`: one line,
    /// 1..=200 characters, trimmed.
    pub name_ru: String,
    /// Name in English, e.g. `Kaliningrad Oblast`: as `name_ru`.
    pub name_en: String,
    /// Number of inhabitants, 1..=10,000,000,000.
    pub population: u64,
    /// Where the population figure comes from, e.g. `Rosstat, estimate as
    /// of 1 January 2024`: one line, 1..=500 characters, trimmed.
    pub population_source: String,
    /// The date the population figure refers to.
    pub population_date: Date,
    /// Name of the legislature in Russian: as `name_ru`.
    pub legislature_ru: String,
    /// Name of the legislature in English: as `name_ru`.
    pub legislature_en: String,
}

impl EntryKind for Jurisdiction {
    const KIND: u16 = 1;
    const NAME: &'static str = "jurisdiction";

    fn encode_payload(&self, w: &mut Writer) {
        w.str("id", &self.id);
        w.str("name_ru", &self.name_ru);
        w.str("name_en", &self.name_en);
        w.u64(self.population);
        w.str("population_source", &self.population_source);
        w.date(self.population_date);
        w.str("legislature_ru", &self.legislature_ru);
        w.str("legislature_en", &self.legislature_en);
    }

    fn decode_payload(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self {
            id: r.string("id")?,
            name_ru: r.string("name_ru")?,
            name_en: r.string("name_en")?,
            population: r.u64("population")?,
            population_source: r.string("population_source")?,
            population_date: r.date("population_date")?,
            legislature_ru: r.string("legislature_ru")?,
            legislature_en: r.string("legislature_en")?,
        })
    }

    fn validate(&self) -> Result<(), ValidationError> {
        validate::slug("id", &self.id, ID_MAX_BYTES)?;
        validate::line("name_ru", &self.name_ru, 1, NAME_MAX_CHARS)?;
        validate::line("name_en", &self.name_en, 1, NAME_MAX_CHARS)?;
        validate::range("population", self.population, 1, POPULATION_MAX)?;
        validate::line(
            "population_source",
            &self.population_source,
            1,
            POPULATION_SOURCE_MAX_CHARS,
        )?;
        validate::line("legislature_ru", &self.legislature_ru, 1, NAME_MAX_CHARS)?;
        validate::line("legislature_en", &self.legislature_en, 1, NAME_MAX_CHARS)?;
        Ok(())
    }
}
