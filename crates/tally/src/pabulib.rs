//! The Pabulib `.pb` file format: parsing and writing.
//!
//! A `.pb` file (pabulib.org; Faliszewski et al., "Participatory Budgeting:
//! Data, Tools and Analysis", 2023) has three sections, each a `;`-separated
//! CSV table introduced by a line holding only its name:
//!
//! ```text
//! META
//! key;value
//! budget;400000.0
//! vote_type;approval
//! PROJECTS
//! project_id;cost;name;…
//! 180;75000.0;Pépinière-jardin…
//! VOTES
//! voter_id;vote;…
//! 1;180,184
//! ```
//!
//! Fields may be quoted CSV-style (`"a;b"`, `""` for a quote) and so may
//! contain `;`. Values are trimmed; the text `none` (any case) in an
//! optional column means "no value". The subset read and written here is
//! specified in `specs/pb.md`. [`parse`] checks the structure and reports
//! the line of the first problem; [`write`] gives back a file that
//! [`parse`] reads as the same [`Instance`].

use crate::amount::{Amount, AmountError};
use std::collections::HashMap;
use std::fmt;

/// A parsed Pabulib file: the META key/values, the projects and the votes,
/// with every column kept (unknown ones in `other`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Instance {
    /// Every META row in file order (keys are unique in well-formed files;
    /// where one repeats, lookups use the last, as pabutools does).
    pub meta: Vec<(String, String)>,
    /// The PROJECTS header as read (the first column is `project_id`).
    pub project_columns: Vec<String>,
    /// The projects, in file order.
    pub projects: Vec<ProjectRecord>,
    /// The VOTES header as read (the first column is `voter_id`, and
    /// there is a `vote` column).
    pub vote_columns: Vec<String>,
    /// The votes (ballots), in file order.
    pub votes: Vec<VoteRecord>,
}

/// One row of the PROJECTS section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProjectRecord {
    /// `project_id`: the project's identifier (not always a number).
    pub id: String,
    /// `cost`, exactly.
    pub cost: Amount,
    /// `name`, if the file has that column.
    pub name: Option<String>,
    /// `category` (comma-separated list), if present.
    pub category: Option<String>,
    /// `target` (comma-separated list), if present.
    pub target: Option<String>,
    /// `latitude`, as written.
    pub latitude: Option<String>,
    /// `longitude`, as written.
    pub longitude: Option<String>,
    /// `selected`: whether the city funded the project (`1`/`0`).
    pub selected: Option<bool>,
    /// Every other column (`votes`, `description`, `district`, …) by name.
    pub other: Vec<(String, String)>,
}

/// One row of the VOTES section.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VoteRecord {
    /// `voter_id` (in Veche's exports: the voter's nullifier in hex).
    pub voter_id: String,
    /// `vote`: the projects voted for, as indices into
    /// [`Instance::projects`], in the order written (a set for approval
    /// ballots, a ranking for ordinal ones).
    pub vote: Vec<usize>,
    /// `points`, for cumulative and scoring ballots, as written.
    pub points: Option<Vec<String>>,
    /// The values of the other columns (`age`, `sex`, `voting_method`, …),
    /// in the order of [`Instance::vote_extra_columns`].
    pub extra: Vec<String>,
}

/// The ballot format of a file (META `vote_type`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VoteType {
    /// `approval`: each ballot is a set of approved projects.
    Approval,
    /// `choose-1`: each ballot approves at most one project (counted as an
    /// approval ballot, as pabutools does).
    Choose1,
    /// `ordinal`: each ballot ranks projects.
    Ordinal,
    /// `cumulative`: each ballot spreads points.
    Cumulative,
    /// `scoring`: each ballot scores projects.
    Scoring,
    /// Anything else, as written.
    Other(String),
}

impl VoteType {
    /// The META spelling.
    pub fn as_str(&self) -> &str {
        match self {
            VoteType::Approval => "approval",
            VoteType::Choose1 => "choose-1",
            VoteType::Ordinal => "ordinal",
            VoteType::Cumulative => "cumulative",
            VoteType::Scoring => "scoring",
            VoteType::Other(s) => s,
        }
    }

    fn from_meta(s: &str) -> VoteType {
        match s {
            "approval" => VoteType::Approval,
            "choose-1" => VoteType::Choose1,
            "ordinal" => VoteType::Ordinal,
            "cumulative" => VoteType::Cumulative,
            "scoring" => VoteType::Scoring,
            other => VoteType::Other(other.to_owned()),
        }
    }

    /// Whether ballots of this type are approval sets (what the PB rules
    /// count).
    pub fn is_approval(&self) -> bool {
        matches!(self, VoteType::Approval | VoteType::Choose1)
    }
}

/// Where and why a file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {problem}")]
pub struct ParseError {
    /// The 1-based line of the file where the problem is.
    pub line: u64,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with a Pabulib file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    /// The CSV layer failed (e.g. an unterminated quote, invalid UTF-8).
    #[error("CSV error: {0}")]
    Csv(String),
    /// A data row before any `META`/`PROJECTS`/`VOTES` line.
    #[error("data before the first section (expected a line `META`)")]
    OutsideSection,
    /// A section appears twice or out of order.
    #[error("section {0} is repeated or out of order (expected META, PROJECTS, VOTES)")]
    SectionOrder(&'static str),
    /// A section line is not followed by its header row.
    #[error("section {0} has no header row")]
    MissingHeader(&'static str),
    /// The header of a section lacks a required column.
    #[error("the {section} header must have a `{column}` column{where_}")]
    HeaderColumn {
        /// The section.
        section: &'static str,
        /// The missing column.
        column: &'static str,
        /// Where it must be, if it matters.
        where_: &'static str,
    },
    /// A header names a column twice.
    #[error("the {section} header names column `{column}` twice")]
    DuplicateColumn {
        /// The section.
        section: &'static str,
        /// The repeated column.
        column: String,
    },
    /// A META row is not `key;value`.
    #[error("a META row must have exactly 2 fields (key;value), found {0}")]
    MetaRow(usize),
    /// A row has a different number of fields than its header.
    #[error("{section} row has {found} fields but the header has {expected}")]
    FieldCount {
        /// The section.
        section: &'static str,
        /// Fields in the header.
        expected: usize,
        /// Fields in the row.
        found: usize,
    },
    /// The file has no PROJECTS section.
    #[error("no PROJECTS section")]
    NoProjects,
    /// META has no `budget`.
    #[error("META has no `budget`")]
    NoBudget,
    /// META has no `vote_type` but the file has votes.
    #[error("META has no `vote_type`")]
    NoVoteType,
    /// An amount (budget or cost) is not a valid decimal.
    #[error("{what}: {error}")]
    Amount {
        /// Which amount.
        what: String,
        /// Why.
        error: AmountError,
    },
    /// A project or voter id is empty.
    #[error("empty {0}")]
    EmptyId(&'static str),
    /// A project id repeats.
    #[error("project `{0}` is listed twice")]
    DuplicateProject(String),
    /// A voter id repeats.
    #[error("voter `{0}` is listed twice")]
    DuplicateVoter(String),
    /// A vote names a project not in PROJECTS.
    #[error("voter `{voter}` votes for `{project}`, which is not in PROJECTS")]
    UnknownProject {
        /// The voter.
        voter: String,
        /// The unknown project id.
        project: String,
    },
    /// `points` does not match `vote`.
    #[error("voter `{0}` has a different number of points than of projects")]
    PointsCount(String),
    /// `selected` is not `0` or `1`.
    #[error("`selected` must be 0 or 1, found `{0}`")]
    Selected(String),
}

const META: &str = "META";
const PROJECTS: &str = "PROJECTS";
const VOTES: &str = "VOTES";

/// Whether a field holds no value (empty or `none`, as pabutools reads it).
fn is_none(v: &str) -> bool {
    v.is_empty() || v.eq_ignore_ascii_case("none")
}

fn opt(v: &str) -> Option<String> {
    (!is_none(v)).then(|| v.to_owned())
}

/// Parses a Pabulib file (UTF-8, optionally with a byte-order mark).
pub fn parse(text: &str) -> Result<Instance, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(b';')
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    let mut inst = Instance::default();
    let mut section: Option<&'static str> = None;
    let mut expect_header = false;
    let mut seen = [false; 3];
    let mut meta_line = 0;
    let mut project_index: HashMap<String, usize> = HashMap::new();
    let mut vote_lines: Vec<u64> = Vec::new();
    let mut record = csv::StringRecord::new();
    let mut last_line = 1;
    loop {
        let more = reader.read_record(&mut record).map_err(|e| ParseError {
            line: e.position().map_or(last_line, |p| p.line()),
            problem: Problem::Csv(e.to_string()),
        })?;
        if !more {
            break;
        }
        let line = record.position().map_or(last_line, |p| p.line());
        last_line = line;
        let err = |problem| ParseError { line, problem };
        let width = record.len();
        let field = |i: usize| record.get(i).unwrap_or("").trim();
        if (1..width).all(|i| field(i).is_empty()) {
            if field(0).is_empty() {
                continue;
            }
            let name = field(0).to_ascii_uppercase();
            let which = [META, PROJECTS, VOTES].iter().position(|s| *s == name);
            if let Some(i) = which {
                if seen[i] || seen[i + 1..].iter().any(|s| *s) {
                    return Err(err(Problem::SectionOrder([META, PROJECTS, VOTES][i])));
                }
                seen[i] = true;
                section = Some([META, PROJECTS, VOTES][i]);
                if i == 0 {
                    meta_line = line;
                }
                expect_header = true;
                continue;
            }
        }
        let Some(sec) = section else {
            return Err(err(Problem::OutsideSection));
        };
        if expect_header {
            expect_header = false;
            let header: Vec<String> = record.iter().map(|f| f.trim().to_owned()).collect();
            for (i, c) in header.iter().enumerate() {
                if header[..i].contains(c) {
                    return Err(err(Problem::DuplicateColumn {
                        section: sec,
                        column: c.clone(),
                    }));
                }
            }
            let need = |col: &'static str, first: bool| {
                let ok = if first {
                    header.first().map(String::as_str) == Some(col)
                } else {
                    header.iter().any(|h| h == col)
                };
                if ok {
                    Ok(())
                } else {
                    Err(err(Problem::HeaderColumn {
                        section: sec,
                        column: col,
                        where_: if first { " first" } else { "" },
                    }))
                }
            };
            match sec {
                META => {
                    if header.len() != 2 {
                        return Err(err(Problem::MetaRow(header.len())));
                    }
                }
                PROJECTS => {
                    need("project_id", true)?;
                    need("cost", false)?;
                    inst.project_columns = header;
                }
                _ => {
                    need("voter_id", true)?;
                    need("vote", false)?;
                    inst.vote_columns = header;
                }
            }
            continue;
        }
        match sec {
            META => {
                if width != 2 {
                    return Err(err(Problem::MetaRow(width)));
                }
                inst.meta.push((field(0).to_owned(), field(1).to_owned()));
            }
            PROJECTS => {
                let cols = &inst.project_columns;
                if width != cols.len() {
                    return Err(err(Problem::FieldCount {
                        section: sec,
                        expected: cols.len(),
                        found: width,
                    }));
                }
                let mut p = ProjectRecord {
                    id: field(0).to_owned(),
                    ..Default::default()
                };
                if p.id.is_empty() {
                    return Err(err(Problem::EmptyId("project_id")));
                }
                for (c, v) in cols.iter().zip(record.iter().map(str::trim)).skip(1) {
                    match c.as_str() {
                        "cost" => {
                            p.cost = v.parse().map_err(|error| {
                                err(Problem::Amount {
                                    what: format!("cost of project `{}`", p.id),
                                    error,
                                })
                            })?
                        }
                        "name" => p.name = opt(v),
                        "category" => p.category = opt(v),
                        "target" => p.target = opt(v),
                        "latitude" => p.latitude = opt(v),
                        "longitude" => p.longitude = opt(v),
                        "selected" => {
                            p.selected = match v {
                                "1" => Some(true),
                                "0" => Some(false),
                                v if is_none(v) => None,
                                v => return Err(err(Problem::Selected(v.to_owned()))),
                            }
                        }
                        _ => p.other.push((c.clone(), v.to_string())),
                    }
                }
                if project_index
                    .insert(p.id.clone(), inst.projects.len())
                    .is_some()
                {
                    return Err(err(Problem::DuplicateProject(p.id)));
                }
                inst.projects.push(p);
            }
            _ => {
                let cols = &inst.vote_columns;
                if width != cols.len() {
                    return Err(err(Problem::FieldCount {
                        section: sec,
                        expected: cols.len(),
                        found: width,
                    }));
                }
                let mut v = VoteRecord {
                    voter_id: field(0).to_owned(),
                    ..Default::default()
                };
                if v.voter_id.is_empty() {
                    return Err(err(Problem::EmptyId("voter_id")));
                }
                for (c, f) in cols.iter().zip(record.iter().map(str::trim)).skip(1) {
                    match c.as_str() {
                        "vote" => {
                            for id in split_list(f) {
                                match project_index.get(id) {
                                    Some(&i) => v.vote.push(i),
                                    None => {
                                        return Err(err(Problem::UnknownProject {
                                            voter: v.voter_id.clone(),
                                            project: id.to_owned(),
                                        }));
                                    }
                                }
                            }
                        }
                        "points" => {
                            v.points =
                                (!is_none(f)).then(|| split_list(f).map(str::to_owned).collect())
                        }
                        _ => v.extra.push(f.to_string()),
                    }
                }
                if v.points.as_ref().is_some_and(|p| p.len() != v.vote.len()) {
                    return Err(err(Problem::PointsCount(v.voter_id)));
                }
                inst.votes.push(v);
                vote_lines.push(line);
            }
        }
    }
    let mut voters = std::collections::HashSet::with_capacity(inst.votes.len());
    for (v, line) in inst.votes.iter().zip(vote_lines) {
        if !voters.insert(v.voter_id.as_str()) {
            return Err(ParseError {
                line,
                problem: Problem::DuplicateVoter(v.voter_id.clone()),
            });
        }
    }
    if expect_header {
        return Err(ParseError {
            line: last_line,
            problem: Problem::MissingHeader(section.unwrap_or(META)),
        });
    }
    if !seen[1] {
        return Err(ParseError {
            line: last_line,
            problem: Problem::NoProjects,
        });
    }
    let meta_err = |problem| ParseError {
        line: meta_line,
        problem,
    };
    match inst.meta_value("budget") {
        None => return Err(meta_err(Problem::NoBudget)),
        Some(b) => {
            b.parse::<Amount>().map_err(|error| {
                meta_err(Problem::Amount {
                    what: "budget".into(),
                    error,
                })
            })?;
        }
    }
    if !inst.votes.is_empty() && inst.meta_value("vote_type").is_none() {
        return Err(meta_err(Problem::NoVoteType));
    }
    Ok(inst)
}

/// Splits a comma-separated list (`vote`, `points`), dropping empty items
/// as pabutools does (`""` is the empty ballot).
fn split_list(f: &str) -> impl Iterator<Item = &str> {
    let f = if is_none(f) { "" } else { f };
    f.split(',').map(str::trim).filter(|s| !s.is_empty())
}

impl Instance {
    /// The value of a META key (the last one if it repeats).
    pub fn meta_value(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Sets a META key (replacing every earlier value) or appends it.
    pub fn set_meta(&mut self, key: &str, value: impl Into<String>) {
        let value = value.into();
        let mut found = false;
        self.meta.retain_mut(|(k, v)| {
            if k != key {
                return true;
            }
            if found {
                return false;
            }
            found = true;
            *v = value.clone();
            true
        });
        if !found {
            self.meta.push((key.to_owned(), value));
        }
    }

    /// The META `budget`, exactly.
    pub fn budget(&self) -> Result<Amount, Problem> {
        let b = self.meta_value("budget").ok_or(Problem::NoBudget)?;
        b.parse().map_err(|error| Problem::Amount {
            what: "budget".into(),
            error,
        })
    }

    /// The META `vote_type` (approval if the file has no votes and no
    /// `vote_type`).
    pub fn vote_type(&self) -> VoteType {
        VoteType::from_meta(self.meta_value("vote_type").unwrap_or("approval"))
    }

    /// The VOTES columns other than `voter_id`, `vote` and `points`: the
    /// columns of [`VoteRecord::extra`].
    pub fn vote_extra_columns(&self) -> impl Iterator<Item = &str> {
        self.vote_columns
            .iter()
            .map(String::as_str)
            .filter(|c| !matches!(*c, "voter_id" | "vote" | "points"))
    }

    /// The index of a project by id.
    pub fn project(&self, id: &str) -> Option<usize> {
        self.projects.iter().position(|p| p.id == id)
    }
}

fn project_value(p: &ProjectRecord, column: &str) -> String {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    match column {
        "project_id" => p.id.clone(),
        "cost" => p.cost.to_string(),
        "name" => o(&p.name),
        "category" => o(&p.category),
        "target" => o(&p.target),
        "latitude" => o(&p.latitude),
        "longitude" => o(&p.longitude),
        "selected" => match p.selected {
            Some(true) => "1".into(),
            Some(false) => "0".into(),
            None => String::new(),
        },
        c => p
            .other
            .iter()
            .find(|(k, _)| k == c)
            .map(|(_, v)| v.clone())
            .unwrap_or_default(),
    }
}

fn vote_value(inst: &Instance, v: &VoteRecord, column: &str, extra: &mut usize) -> String {
    match column {
        "voter_id" => v.voter_id.clone(),
        "vote" => v
            .vote
            .iter()
            .map(|&p| inst.projects[p].id.as_str())
            .collect::<Vec<_>>()
            .join(","),
        "points" => v.points.as_ref().map(|p| p.join(",")).unwrap_or_default(),
        _ => {
            *extra += 1;
            v.extra.get(*extra - 1).cloned().unwrap_or_default()
        }
    }
}

/// The columns to write: the header as read, then any column some record
/// has a value for that the header lacks (for instances built in code).
fn project_columns(inst: &Instance) -> Vec<String> {
    let mut cols = inst.project_columns.clone();
    let mut add = |c: &str| {
        if !cols.iter().any(|x| x == c) {
            cols.push(c.to_owned());
        }
    };
    add("project_id");
    add("cost");
    for p in &inst.projects {
        for (c, present) in [
            ("name", p.name.is_some()),
            ("category", p.category.is_some()),
            ("target", p.target.is_some()),
            ("latitude", p.latitude.is_some()),
            ("longitude", p.longitude.is_some()),
            ("selected", p.selected.is_some()),
        ] {
            if present {
                add(c);
            }
        }
        for (c, _) in &p.other {
            add(c);
        }
    }
    // `project_id` must come first.
    if let Some(i) = cols.iter().position(|c| c == "project_id") {
        let id = cols.remove(i);
        cols.insert(0, id);
    }
    cols
}

fn vote_columns(inst: &Instance) -> Vec<String> {
    let mut cols = inst.vote_columns.clone();
    let mut add = |c: &str| {
        if !cols.iter().any(|x| x == c) {
            cols.push(c.to_owned());
        }
    };
    add("voter_id");
    add("vote");
    if inst.votes.iter().any(|v| v.points.is_some()) {
        add("points");
    }
    if let Some(i) = cols.iter().position(|c| c == "voter_id") {
        let id = cols.remove(i);
        cols.insert(0, id);
    }
    cols
}

/// Writes an instance as a Pabulib file (`\n` line ends, `;` separators,
/// fields quoted only where needed). Amounts are written in their shortest
/// exact decimal form (`400000.0` becomes `400000`).
pub fn write(inst: &Instance) -> String {
    let mut w = csv::WriterBuilder::new()
        .delimiter(b';')
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new());
    // Writing to a Vec cannot fail; a record is one row.
    let mut row = |fields: &[&str]| {
        w.write_record(fields).expect("writing to memory");
    };
    row(&[META]);
    row(&["key", "value"]);
    for (k, v) in &inst.meta {
        row(&[k, v]);
    }
    let pcols = project_columns(inst);
    row(&[PROJECTS]);
    row(&pcols.iter().map(String::as_str).collect::<Vec<_>>());
    for p in &inst.projects {
        let vals: Vec<String> = pcols.iter().map(|c| project_value(p, c)).collect();
        row(&vals.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let vcols = vote_columns(inst);
    row(&[VOTES]);
    row(&vcols.iter().map(String::as_str).collect::<Vec<_>>());
    for v in &inst.votes {
        let mut extra = 0;
        let vals: Vec<String> = vcols
            .iter()
            .map(|c| vote_value(inst, v, c, &mut extra))
            .collect();
        row(&vals.iter().map(String::as_str).collect::<Vec<_>>());
    }
    let bytes = w.into_inner().expect("writing to memory");
    String::from_utf8(bytes).expect("fields are UTF-8")
}

impl fmt::Display for Instance {
    /// The instance as a Pabulib file ([`write`]).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&write(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "META\nkey;value\nbudget;100.50\nvote_type;approval\ncomment;\"a;b \"\"c\"\"\"\n\
PROJECTS\nproject_id;cost;name;selected\n1;50;\"Park; big\";1\n2;60,25;Road;0\n\
VOTES\nvoter_id;vote;age\nv1;1,2;30\nv2;;none\n";

    #[test]
    fn parses_quoted_fields_and_decimals() {
        let i = parse(SMALL).unwrap();
        assert_eq!(i.meta_value("comment"), Some("a;b \"c\""));
        assert_eq!(i.budget().unwrap().to_string(), "100.5");
        assert_eq!(i.projects[0].name.as_deref(), Some("Park; big"));
        assert_eq!(i.projects[1].cost.to_string(), "60.25");
        assert_eq!(i.projects[0].selected, Some(true));
        assert_eq!(i.votes[0].vote, vec![0, 1]);
        assert!(i.votes[1].vote.is_empty());
        assert_eq!(i.votes[1].extra, vec!["none".to_owned()]);
        assert_eq!(i.vote_extra_columns().collect::<Vec<_>>(), vec!["age"]);
        assert_eq!(parse(&write(&i)).unwrap(), i);
    }

    #[test]
    fn crlf_bom_and_blank_lines() {
        let t = format!("\u{feff}{}", SMALL.replace('\n', "\r\n\r\n"));
        assert_eq!(parse(&t).unwrap(), parse(SMALL).unwrap());
    }

    fn problem(text: &str) -> (u64, Problem) {
        let e = parse(text).unwrap_err();
        (e.line, e.problem)
    }

    #[test]
    fn precise_errors() {
        let bad = SMALL.replace("v1;1,2;30", "v1;1,3;30");
        assert_eq!(
            problem(&bad),
            (
                12,
                Problem::UnknownProject {
                    voter: "v1".into(),
                    project: "3".into()
                }
            )
        );
        let bad = SMALL.replace("2;60,25;Road;0", "2;sixty;Road;0");
        let (line, p) = problem(&bad);
        assert_eq!(line, 9);
        assert!(matches!(p, Problem::Amount { .. }), "{p}");
        let bad = SMALL.replace("2;60,25;Road;0", "1;60;Road;0");
        assert_eq!(problem(&bad), (9, Problem::DuplicateProject("1".into())));
        let bad = SMALL.replace("v2;;none", "v1;;none");
        assert_eq!(problem(&bad), (13, Problem::DuplicateVoter("v1".into())));
        let bad = SMALL.replace("2;60,25;Road;0", "2;60;Road");
        assert_eq!(
            problem(&bad),
            (
                9,
                Problem::FieldCount {
                    section: "PROJECTS",
                    expected: 4,
                    found: 3
                }
            )
        );
        let bad = SMALL.replace("budget;100.50\n", "");
        assert_eq!(problem(&bad), (1, Problem::NoBudget));
        let bad = SMALL.replace("2;60,25;Road;0", "2;60;Road;yes");
        assert_eq!(problem(&bad), (9, Problem::Selected("yes".into())));
        let bad = format!("x;y\n{SMALL}");
        assert_eq!(problem(&bad), (1, Problem::OutsideSection));
        let bad = SMALL.replace("project_id;cost", "id;cost");
        assert!(matches!(problem(&bad), (7, Problem::HeaderColumn { .. })));
        let bad = format!("{SMALL}PROJECTS\n");
        assert_eq!(problem(&bad), (14, Problem::SectionOrder("PROJECTS")));
        let bad = SMALL.replace("\"Park; big\"", "\"Park; big");
        assert!(parse(&bad).is_err());
    }

    #[test]
    fn set_meta_replaces() {
        let mut i = parse(SMALL).unwrap();
        i.set_meta("budget", "7");
        i.set_meta("currency", "RUB");
        assert_eq!(i.budget().unwrap(), Amount::whole(7));
        assert_eq!(i.meta_value("currency"), Some("RUB"));
        assert_eq!(i.meta.len(), 4);
    }
}
