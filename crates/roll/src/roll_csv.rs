//! The roll CSV a registrar uploads: [`parse_roll_csv`] into transient
//! [`RollRow`]s.

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use veche_entry::Date;
use zeroize::Zeroize;

use crate::hash::{InputError, check_jurisdiction, normalise_document_number, parse_date_of_birth};

/// Longest record id, in bytes (`[A-Za-z0-9._-]`).
pub const RECORD_ID_MAX: usize = 64;
/// Longest district, in characters.
pub const DISTRICT_MAX_CHARS: usize = 100;
/// At most this many problems are reported for one file.
pub const MAX_PROBLEMS: usize = 100;

/// The columns of a roll CSV.
pub const COLUMNS: [&str; 4] = ["record_id", "document_number", "date_of_birth", "district"];

/// One row of a roll CSV: transient, held only while the roll is hashed,
/// never stored. `Debug` hides the document number and date of birth.
#[derive(Clone, PartialEq, Eq)]
pub struct RollRow {
    /// The registrar's identifier of the record: 1..=64 characters of
    /// `[A-Za-z0-9._-]`, case-sensitive.
    pub record_id: String,
    /// The document number, normalised ([`normalise_document_number`]).
    pub document_number: String,
    /// The date of birth.
    pub date_of_birth: Date,
    /// The district, if any: trimmed, 1..=100 characters, no control
    /// characters.
    pub district: Option<String>,
}

impl fmt::Debug for RollRow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RollRow")
            .field("record_id", &self.record_id)
            .field("document_number", &"<redacted>")
            .field("date_of_birth", &"<redacted>")
            .field("district", &self.district)
            .finish()
    }
}

impl Drop for RollRow {
    fn drop(&mut self) {
        self.document_number.zeroize();
    }
}

/// One problem found in a roll CSV.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsvProblem {
    /// Line number in the file, from 1 (for a quoted field spanning lines,
    /// the line where its record starts); 0 for a problem not in the file
    /// (a bad jurisdiction id, an unreadable input).
    pub line: u64,
    /// The column, if the problem is in one field.
    pub column: Option<&'static str>,
    /// Stable machine-readable code, e.g. `"date_of_birth_not_a_date"`.
    pub code: &'static str,
    /// What is wrong, naming the column; never contains a document number
    /// or a date of birth.
    pub message: String,
}

impl fmt::Display for CsvProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.message)
        } else {
            write!(f, "line {}: {}", self.line, self.message)
        }
    }
}

/// Why a roll CSV was refused: every problem found (up to
/// [`MAX_PROBLEMS`]), in file order. Nothing of the file is used.
///
/// Displayed as one problem per line: `line 17: date_of_birth is not a
/// date (no such day in the calendar)`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct RollCsvError {
    /// The problems, at least one.
    pub problems: Vec<CsvProblem>,
    /// Whether more problems were found than are listed.
    pub truncated: bool,
}

impl fmt::Display for RollCsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        if self.truncated {
            write!(f, "\n(more problems not shown; fix these first)")?;
        }
        Ok(())
    }
}

impl RollCsvError {
    fn one(line: u64, column: Option<&'static str>, code: &'static str, message: String) -> Self {
        Self {
            problems: vec![CsvProblem {
                line,
                column,
                code,
                message,
            }],
            truncated: false,
        }
    }
}

struct Problems {
    list: Vec<CsvProblem>,
    truncated: bool,
}

impl Problems {
    fn push(&mut self, line: u64, column: &'static str, code: &'static str, message: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(CsvProblem {
                line,
                column: Some(column),
                code,
                message,
            });
        } else {
            self.truncated = true;
        }
    }

    fn input(&mut self, line: u64, column: &'static str, e: &InputError) {
        self.push(line, column, e.code(), e.to_string());
    }
}

/// Where each column is in the file.
struct Layout {
    record_id: usize,
    document_number: usize,
    date_of_birth: usize,
    district: Option<usize>,
    width: usize,
}

fn layout(header: &csv::ByteRecord, line: u64) -> Result<Layout, RollCsvError> {
    let header_err = |message: String| RollCsvError::one(line, None, "header", message);
    let mut found: [Option<usize>; 4] = [None; 4];
    for (i, raw) in header.iter().enumerate() {
        // A UTF-8 byte-order mark (as spreadsheet programs write) is skipped.
        let raw = if i == 0 {
            raw.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(raw)
        } else {
            raw
        };
        let name = std::str::from_utf8(raw)
            .map_err(|_| header_err(format!("column {} name is not UTF-8", i + 1)))?;
        let Some(c) = COLUMNS.iter().position(|&c| c == name) else {
            return Err(header_err(format!(
                "unknown column {name:?} (column {}): a roll has only the columns record_id, document_number, date_of_birth and optionally district, named exactly so",
                i + 1
            )));
        };
        if found[c].is_some() {
            return Err(header_err(format!("column {name} appears twice")));
        }
        found[c] = Some(i);
    }
    let missing: Vec<&str> = COLUMNS[..3]
        .iter()
        .zip(found)
        .filter(|(_, f)| f.is_none())
        .map(|(c, _)| *c)
        .collect();
    if !missing.is_empty() {
        return Err(header_err(format!(
            "missing column{} {} (the first line must name the columns: record_id,document_number,date_of_birth[,district])",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", ")
        )));
    }
    Ok(Layout {
        record_id: found[0].unwrap_or_default(),
        document_number: found[1].unwrap_or_default(),
        date_of_birth: found[2].unwrap_or_default(),
        district: found[3],
        width: header.len(),
    })
}

fn check_record_id(id: &str) -> Result<(), String> {
    if id.is_empty() {
        return Err("record_id is empty".into());
    }
    if id.len() > RECORD_ID_MAX {
        return Err(format!(
            "record_id is too long: {} bytes, at most {RECORD_ID_MAX}",
            id.len()
        ));
    }
    if let Some((i, c)) = id
        .chars()
        .enumerate()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
    {
        return Err(format!(
            "record_id: character {c:?} at position {} is not allowed (only A-Z, a-z, 0-9, '.', '_', '-')",
            i + 1
        ));
    }
    Ok(())
}

fn check_district(raw: &str) -> Result<Option<String>, String> {
    let d = raw.trim();
    if d.is_empty() {
        return Ok(None);
    }
    if let Some(c) = d.chars().find(|c| c.is_control()) {
        return Err(format!(
            "district: control character U+{:04X} is not allowed",
            u32::from(c)
        ));
    }
    let n = d.chars().count();
    if n > DISTRICT_MAX_CHARS {
        return Err(format!(
            "district is too long: {n} characters, at most {DISTRICT_MAX_CHARS}"
        ));
    }
    Ok(Some(d.to_owned()))
}

/// Parses a roll CSV for `jurisdiction`.
///
/// The format (`specs/roll.md`): UTF-8 (a leading byte-order mark is
/// skipped), comma-separated, fields optionally in double quotes (`""`
/// inside quotes is a quote), lines ending in LF or CRLF. The first line
/// names the columns, exactly `record_id`, `document_number`,
/// `date_of_birth` and optionally `district`, in any order, each once; any
/// other column is refused (the roll carries nothing else). Every later
/// line is one record with exactly as many fields as the header; empty
/// lines are skipped.
///
/// - `record_id`: 1..=64 characters of `[A-Za-z0-9._-]`, unique in the file;
/// - `document_number`: normalised by [`normalise_document_number`];
/// - `date_of_birth`: `YYYY-MM-DD`, a real date, not before 1900;
/// - `district`: trimmed; empty means none; at most 100 characters;
/// - the pair (document number, date of birth) is unique in the file.
///
/// Reports every problem (up to [`MAX_PROBLEMS`]) with its line and
/// column; a file with any problem gives no rows. Messages never contain a
/// document number or a date of birth.
pub fn parse_roll_csv<R: Read>(
    reader: R,
    jurisdiction: &str,
) -> Result<Vec<RollRow>, RollCsvError> {
    check_jurisdiction(jurisdiction)
        .map_err(|e| RollCsvError::one(0, None, "jurisdiction", e.to_string()))?;
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(reader);
    let mut record = csv::ByteRecord::new();
    let syntax = |e: csv::Error| {
        let line = e.position().map_or(0, csv::Position::line);
        let message = match e.kind() {
            csv::ErrorKind::Io(io) => format!("could not read the file: {io}"),
            _ => format!("not valid CSV: {e}"),
        };
        RollCsvError::one(line, None, "csv_syntax", message)
    };
    if !csv.read_byte_record(&mut record).map_err(syntax)? {
        return Err(RollCsvError::one(
            1,
            None,
            "header",
            "the file is empty: the first line must name the columns record_id,document_number,date_of_birth[,district]".into(),
        ));
    }
    let header_line = record.position().map_or(1, csv::Position::line);
    let layout = layout(&record, header_line)?;

    let mut problems = Problems {
        list: Vec::new(),
        truncated: false,
    };
    let mut rows = Vec::new();
    let mut ids: HashMap<String, u64> = HashMap::new();
    let mut people: HashMap<(String, Date), u64> = HashMap::new();
    while csv.read_byte_record(&mut record).map_err(syntax)? {
        let line = record.position().map_or(0, csv::Position::line);
        if record.len() != layout.width {
            if problems.list.len() < MAX_PROBLEMS {
                problems.list.push(CsvProblem {
                    line,
                    column: None,
                    code: "field_count",
                    message: format!(
                        "{} field{}, expected {} as in the header",
                        record.len(),
                        if record.len() == 1 { "" } else { "s" },
                        layout.width
                    ),
                });
            } else {
                problems.truncated = true;
            }
            continue;
        }
        let field = |i: usize, name: &'static str, problems: &mut Problems| {
            let r = std::str::from_utf8(&record[i]);
            if r.is_err() {
                problems.push(
                    line,
                    name,
                    "not_utf8",
                    format!("{name} is not UTF-8 text (save the file as UTF-8)"),
                );
            }
            r.ok()
        };
        let record_id = field(layout.record_id, "record_id", &mut problems);
        let document = field(layout.document_number, "document_number", &mut problems);
        let dob = field(layout.date_of_birth, "date_of_birth", &mut problems);
        let district = match layout.district {
            Some(i) => field(i, "district", &mut problems).map(Some),
            None => Some(None),
        };

        let record_id = record_id.and_then(|id| match check_record_id(id) {
            Ok(()) => Some(id),
            Err(m) => {
                problems.push(line, "record_id", "record_id", m);
                None
            }
        });
        let document = document.and_then(|d| match normalise_document_number(d) {
            Ok(d) => Some(d),
            Err(e) => {
                problems.input(line, "document_number", &e);
                None
            }
        });
        let dob = dob.and_then(|d| match parse_date_of_birth(d) {
            Ok(d) => Some(d),
            Err(e) => {
                problems.input(line, "date_of_birth", &e);
                None
            }
        });
        let district = district.and_then(|d| match d.map(check_district).transpose() {
            Ok(d) => Some(d.flatten()),
            Err(m) => {
                problems.push(line, "district", "district", m);
                None
            }
        });

        if let Some(id) = record_id {
            if let Some(first) = ids.get(id) {
                problems.push(
                    line,
                    "record_id",
                    "duplicate_record_id",
                    format!("record_id {id:?} already appears on line {first}"),
                );
            } else {
                ids.insert(id.to_owned(), line);
            }
        }
        if let (Some(doc), Some(dob)) = (&document, dob) {
            let key = (doc.clone(), dob);
            if let Some(first) = people.get(&key) {
                problems.push(
                    line,
                    "document_number",
                    "duplicate_person",
                    format!(
                        "document_number and date_of_birth are the same as on line {first} (one person, two records)"
                    ),
                );
            } else {
                people.insert(key, line);
            }
        }
        if let (Some(id), Some(doc), Some(dob), Some(district)) =
            (record_id, document, dob, district)
            && problems.list.is_empty()
        {
            rows.push(RollRow {
                record_id: id.to_owned(),
                document_number: doc,
                date_of_birth: dob,
                district,
            });
        }
    }
    for ((mut doc, _), _) in people.drain() {
        doc.zeroize();
    }
    if !problems.list.is_empty() {
        return Err(RollCsvError {
            problems: problems.list,
            truncated: problems.truncated,
        });
    }
    if rows.is_empty() {
        return Err(RollCsvError::one(
            header_line,
            None,
            "no_records",
            "the file has a header but no records".into(),
        ));
    }
    Ok(rows)
}

/// Writes rows as a roll CSV that [`parse_roll_csv`] reads back (for
/// tests and tools; the server never writes plain rows). Fields are quoted
/// only where needed.
pub fn write_roll_csv<W: std::io::Write>(rows: &[RollRow], out: W) -> std::io::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    let with_district = rows.iter().any(|r| r.district.is_some());
    let header: &[&str] = if with_district {
        &COLUMNS
    } else {
        &COLUMNS[..3]
    };
    w.write_record(header)?;
    for r in rows {
        let dob = r.date_of_birth.to_string();
        let mut fields = vec![
            r.record_id.as_str(),
            r.document_number.as_str(),
            dob.as_str(),
        ];
        if with_district {
            fields.push(r.district.as_deref().unwrap_or(""));
        }
        w.write_record(&fields)?;
    }
    w.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Vec<RollRow>, RollCsvError> {
        parse_roll_csv(s.as_bytes(), "moscow")
    }

    fn errors(s: &str) -> String {
        parse(s).unwrap_err().to_string()
    }

    #[test]
    fn parses_a_small_roll() {
        let rows = parse(
            "\u{feff}record_id,document_number,date_of_birth,district\r\n\
             r-1,4508 123456,1990-02-28,Tverskoy\r\n\
             \r\n\
             r.2,\"45-08-654321\",2000-02-29,\"  Arbat, north \"\r\n\
             R_3,IV-ВА 12,1955-11-05,\r\n",
        )
        .unwrap();
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0].record_id, "r-1");
        assert_eq!(rows[0].document_number, "4508123456");
        assert_eq!(rows[0].date_of_birth, Date::new(1990, 2, 28).unwrap());
        assert_eq!(rows[0].district.as_deref(), Some("Tverskoy"));
        assert_eq!(rows[1].district.as_deref(), Some("Arbat, north"));
        assert_eq!(rows[2].document_number, "IVBA12");
        assert_eq!(rows[2].district, None);
    }

    #[test]
    fn columns_in_any_order_district_optional() {
        let rows = parse("date_of_birth,record_id,document_number\n1990-01-01,a,1\n").unwrap();
        assert_eq!(rows[0].record_id, "a");
        assert_eq!(rows[0].document_number, "1");
        assert_eq!(rows[0].district, None);
    }

    #[test]
    fn header_problems() {
        assert_eq!(
            errors(""),
            "line 1: the file is empty: the first line must name the columns record_id,document_number,date_of_birth[,district]"
        );
        assert_eq!(
            errors("record_id,document_number,date_of_birth,name\n"),
            "line 1: unknown column \"name\" (column 4): a roll has only the columns record_id, document_number, date_of_birth and optionally district, named exactly so"
        );
        assert_eq!(
            errors("record_id,Document_Number,date_of_birth\n")
                .lines()
                .count(),
            1
        );
        assert_eq!(
            errors("record_id,date_of_birth,record_id\n"),
            "line 1: column record_id appears twice"
        );
        assert_eq!(
            errors("record_id,district\n"),
            "line 1: missing columns document_number, date_of_birth (the first line must name the columns: record_id,document_number,date_of_birth[,district])"
        );
        assert_eq!(
            errors("record_id,document_number,date_of_birth\n"),
            "line 1: the file has a header but no records"
        );
        assert_eq!(
            parse_roll_csv(&b"a"[..], "Moscow").unwrap_err().to_string(),
            "jurisdiction: must contain only a-z, 0-9 and '-', found 'M' at byte 0"
        );
    }

    #[test]
    fn row_problems_name_line_and_column() {
        let e = parse(
            "record_id,document_number,date_of_birth,district\n\
             a,1,1990-01-01,\n\
             b,2,1990-02-30,\n\
             c d,3/4,30.01.1990,\n\
             a,1,1990-01-01,x\n\
             e,5\n\
             f,6,1899-01-01,\"x\ty\"\n\
             ,,,\n",
        )
        .unwrap_err();
        let text = e.to_string();
        assert_eq!(
            text,
            "line 3: date_of_birth is not a date (no such day in the calendar)\n\
             line 4: record_id: character ' ' at position 2 is not allowed (only A-Z, a-z, 0-9, '.', '_', '-')\n\
             line 4: document_number: character '/' at position 2 is not allowed (only letters and digits; spaces and dashes are ignored)\n\
             line 4: date_of_birth is not written YYYY-MM-DD\n\
             line 5: record_id \"a\" already appears on line 2\n\
             line 5: document_number and date_of_birth are the same as on line 2 (one person, two records)\n\
             line 6: 2 fields, expected 4 as in the header\n\
             line 7: date_of_birth is before 1900-01-01\n\
             line 7: district: control character U+0009 is not allowed\n\
             line 8: record_id is empty\n\
             line 8: document_number is empty\n\
             line 8: date_of_birth is not written YYYY-MM-DD"
        );
        assert_eq!(e.problems[0].line, 3);
        assert_eq!(e.problems[0].column, Some("date_of_birth"));
        assert_eq!(e.problems[0].code, "date_of_birth_not_a_date");
        assert_eq!(e.problems[6].code, "field_count");
        assert!(!e.truncated);
        // No document number or date of birth in any message.
        for secret in ["1990-02-30", "30.01.1990", "1899-01-01", "3/4"] {
            assert!(!text.contains(secret), "{secret}");
        }
    }

    #[test]
    fn long_values_and_non_utf8() {
        let long_id = "a".repeat(65);
        assert_eq!(
            errors(&format!(
                "record_id,document_number,date_of_birth\n{long_id},1,1990-01-01\n"
            )),
            "line 2: record_id is too long: 65 bytes, at most 64"
        );
        let long_district = "я".repeat(101);
        assert_eq!(
            errors(&format!(
                "record_id,document_number,date_of_birth,district\na,1,1990-01-01,{long_district}\n"
            )),
            "line 2: district is too long: 101 characters, at most 100"
        );
        let e = parse_roll_csv(
            &b"record_id,document_number,date_of_birth\na,\xff1,1990-01-01\n"[..],
            "moscow",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 2: document_number is not UTF-8 text (save the file as UTF-8)"
        );
        let e = parse("record_id,document_number,date_of_birth\na,\"1,1990-01-01\n").unwrap_err();
        assert_eq!(e.problems[0].line, 2);
    }

    #[test]
    fn problems_are_capped() {
        let mut s = String::from("record_id,document_number,date_of_birth\n");
        for i in 0..150 {
            s.push_str(&format!("r{i},1,1990-02-31\n"));
        }
        let e = parse(&s).unwrap_err();
        assert_eq!(e.problems.len(), MAX_PROBLEMS);
        assert!(e.truncated);
        assert!(
            e.to_string()
                .ends_with("(more problems not shown; fix these first)")
        );
    }

    #[test]
    fn quoted_field_spanning_lines_reports_start_line() {
        let e = parse(
            "record_id,document_number,date_of_birth,district\n\
             a,1,1990-01-01,\"two\nlines\"\n\
             b,2,1990-02-30,\n",
        )
        .unwrap_err();
        let lines: Vec<u64> = e.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 4]);
        assert_eq!(e.problems[0].code, "district");
    }

    #[test]
    fn debug_hides_personal_data() {
        let rows =
            parse("record_id,document_number,date_of_birth\nr1,4508123456,1990-02-28\n").unwrap();
        let dbg = format!("{rows:?}");
        assert!(
            !dbg.contains("4508123456") && !dbg.contains("1990"),
            "{dbg}"
        );
        assert!(dbg.contains("r1"));
    }

    #[test]
    fn write_then_parse() {
        let rows = parse(
            "record_id,document_number,date_of_birth,district\n\
             a,1,1990-01-01,\"Arbat, north\"\n\
             b,2,1990-01-02,\n",
        )
        .unwrap();
        let mut out = Vec::new();
        write_roll_csv(&rows, &mut out).unwrap();
        assert_eq!(parse_roll_csv(&out[..], "moscow").unwrap(), rows);
    }
}
