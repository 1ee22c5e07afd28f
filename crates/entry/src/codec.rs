//! The field encodings: [`Writer`] appends them, [`Reader`] reads them back
//! and rejects anything that is not the canonical encoding of a value.
//!
//! | type      | bytes |
//! |-----------|-------|
//! | u8..u64   | fixed width, big-endian |
//! | i32       | fixed width, big-endian two's complement |
//! | bool      | `0x00` false, `0x01` true |
//! | string    | u32 byte length + UTF-8, no control characters but `\n` |
//! | optional  | `0x00` absent, or `0x01` + value |
//! | bytes32   | 32 raw bytes |
//! | date      | u16 year, u8 month, u8 day; a calendar date 0001-01-01..=9999-12-31 |
//! | list      | u32 item count + items |
//! | actor     | u8 staff role code (1..=5) + string pseudonym ([`Actor`]) |
//!
//! Every read takes the field's name, so errors can say which field failed
//! and validation errors found after decoding can be reported at the byte
//! offset where that field starts.

use std::borrow::Cow;

use crate::MAX_ENTRY_SIZE;
use crate::actor::{Actor, StaffRole};
use crate::error::{DecodeError, DecodeErrorKind, EncodeError, ValidationError};
use crate::time::Date;

/// Whether `c` is allowed in an encoded string: no control character
/// (Unicode general category Cc: U+0000..=U+001F, U+007F..=U+009F) except
/// U+000A LINE FEED. Fields may forbid more (most forbid `\n` too).
pub fn is_allowed_string_char(c: char) -> bool {
    c == '\n' || !c.is_control()
}

/// Appends field encodings to a buffer. Infallible to call; problems (an
/// entry growing past [`MAX_ENTRY_SIZE`], a string with a control
/// character) are remembered and reported by [`Writer::finish`].
#[derive(Debug, Default)]
pub struct Writer {
    buf: Vec<u8>,
    /// Length the encoding would have; bytes past the maximum are not kept.
    len: usize,
    error: Option<ValidationError>,
}

impl Writer {
    /// An empty writer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bytes the encoding has so far (counting any past the maximum).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing has been written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn put(&mut self, bytes: &[u8]) {
        self.len = self.len.saturating_add(bytes.len());
        if self.len <= MAX_ENTRY_SIZE {
            self.buf.extend_from_slice(bytes);
        }
    }

    fn fail(&mut self, e: ValidationError) {
        self.error.get_or_insert(e);
    }

    /// Appends a u8.
    pub fn u8(&mut self, v: u8) {
        self.put(&[v]);
    }

    /// Appends a big-endian u16.
    pub fn u16(&mut self, v: u16) {
        self.put(&v.to_be_bytes());
    }

    /// Appends a big-endian u32.
    pub fn u32(&mut self, v: u32) {
        self.put(&v.to_be_bytes());
    }

    /// Appends a big-endian u64.
    pub fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    /// Appends a big-endian two's-complement i32.
    pub fn i32(&mut self, v: i32) {
        self.put(&v.to_be_bytes());
    }

    /// Appends `0x00` or `0x01`.
    pub fn bool(&mut self, v: bool) {
        self.u8(u8::from(v));
    }

    /// Appends 32 raw bytes.
    pub fn bytes32(&mut self, v: &[u8; 32]) {
        self.put(v);
    }

    /// Appends a u32 byte length and the UTF-8 bytes of `v`. A control
    /// character other than `\n` makes [`Writer::finish`] fail.
    pub fn str(&mut self, field: &str, v: &str) {
        if let Some(c) = v.chars().find(|&c| !is_allowed_string_char(c)) {
            self.fail(ValidationError::new(
                field,
                format!("control character U+{:04X} not allowed", u32::from(c)),
            ));
        }
        let Ok(n) = u32::try_from(v.len()) else {
            self.len = usize::MAX;
            return;
        };
        self.u32(n);
        self.put(v.as_bytes());
    }

    /// Appends a date (u16 year, u8 month, u8 day).
    pub fn date(&mut self, v: Date) {
        self.u16(v.year());
        self.u8(v.month());
        self.u8(v.day());
    }

    /// Appends an [`Actor`]: the u8 role code, then the pseudonym as a
    /// string (`field` names the actor field, e.g. `"actor"`). The
    /// pseudonym rule is the kind's to check, with [`Actor::validate`].
    pub fn actor(&mut self, field: &str, v: &Actor) {
        self.u8(v.role.code());
        self.str(&format!("{field}.pseudonym"), &v.pseudonym);
    }

    /// Appends `0x00`, or `0x01` and the value written by `f`.
    pub fn option<T>(&mut self, v: Option<&T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.u8(0),
            Some(x) => {
                self.u8(1);
                f(self, x);
            }
        }
    }

    /// Appends a u32 item count and each item as written by `f`.
    pub fn list<T>(&mut self, items: &[T], mut f: impl FnMut(&mut Self, &T)) {
        let Ok(n) = u32::try_from(items.len()) else {
            self.len = usize::MAX;
            return;
        };
        self.u32(n);
        for item in items {
            if self.len > MAX_ENTRY_SIZE {
                return;
            }
            f(self, item);
        }
    }

    /// The encoding, or why there is none.
    pub fn finish(self) -> Result<Vec<u8>, EncodeError> {
        if let Some(e) = self.error {
            return Err(EncodeError::Invalid(e));
        }
        if self.len > MAX_ENTRY_SIZE {
            return Err(EncodeError::TooLarge { len: self.len });
        }
        Ok(self.buf)
    }
}

/// Reads field encodings from an entry, accepting only canonical ones.
///
/// Remembers where each named field started, so that a
/// [`ValidationError`] found after decoding can be turned into a
/// [`DecodeError`] at that field's offset ([`Reader::invalid`]).
#[derive(Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    /// Where each named field started; nested fields (an actor's
    /// `actor.pseudonym`) are recorded under their full name.
    fields: Vec<(Cow<'static, str>, usize)>,
}

impl<'a> Reader<'a> {
    /// A reader at the start of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Self {
            buf,
            pos: 0,
            fields: Vec::new(),
        }
    }

    /// Offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// A decode error at `offset`.
    pub fn error_at(offset: usize, kind: DecodeErrorKind) -> DecodeError {
        DecodeError { offset, kind }
    }

    /// Forgets where the fields read so far started, so that a payload
    /// field may share a name with an envelope field (kind 64's `version`)
    /// and still be reported at its own offset.
    pub(crate) fn forget_fields(&mut self) {
        self.fields.clear();
    }

    /// Records where `field` starts (the first time it is read).
    fn mark(&mut self, field: impl Into<Cow<'static, str>>) -> usize {
        let field = field.into();
        if !self.fields.iter().any(|(f, _)| *f == field) {
            self.fields.push((field, self.pos));
        }
        self.pos
    }

    /// Offset where the field named in a validation error started: the
    /// nested field itself if it was recorded (`"actor.pseudonym"`),
    /// otherwise its top-level field (`"options[2].text"` is looked up as
    /// `"options"`).
    pub fn field_offset(&self, field: &str) -> Option<usize> {
        let top = field.split(['[', '.']).next().unwrap_or(field);
        let find = |name: &str| {
            self.fields
                .iter()
                .find(|(f, _)| f == name)
                .map(|&(_, offset)| offset)
        };
        find(field).or_else(|| find(top))
    }

    /// The validation error as a decode error at its field's offset
    /// (`fallback` if that field was never read).
    pub fn invalid(&self, e: ValidationError, fallback: usize) -> DecodeError {
        let offset = self.field_offset(&e.field).unwrap_or(fallback);
        Self::error_at(offset, DecodeErrorKind::Invalid(e))
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<&'a [u8], DecodeError> {
        if n > self.remaining() {
            return Err(Self::error_at(
                self.pos,
                DecodeErrorKind::UnexpectedEnd {
                    field,
                    needed: n,
                    remaining: self.remaining(),
                },
            ));
        }
        let bytes = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        self.mark(field);
        let bytes = self.take(field, N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(bytes);
        Ok(out)
    }

    /// Reads a u8.
    pub fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }

    /// Reads a big-endian u16.
    pub fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        self.array(field).map(u16::from_be_bytes)
    }

    /// Reads a big-endian u32.
    pub fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        self.array(field).map(u32::from_be_bytes)
    }

    /// Reads a big-endian u64.
    pub fn u64(&mut self, field: &'static str) -> Result<u64, DecodeError> {
        self.array(field).map(u64::from_be_bytes)
    }

    /// Reads a big-endian two's-complement i32.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.array(field).map(i32::from_be_bytes)
    }

    /// Reads a one-byte code of a field's table: `decode` maps the byte to
    /// its value; a byte it does not know is `invalid_enum` at the byte's
    /// offset, described with `expected` (e.g. `a poll method code (1
    /// single, 2 approval, 3 ranked_schulze)`).
    pub fn code<T>(
        &mut self,
        field: &'static str,
        expected: &'static str,
        decode: impl FnOnce(u8) -> Option<T>,
    ) -> Result<T, DecodeError> {
        let at = self.mark(field);
        let byte = self.u8(field)?;
        decode(byte).ok_or_else(|| {
            Self::error_at(
                at,
                DecodeErrorKind::InvalidEnum {
                    field,
                    byte,
                    expected,
                },
            )
        })
    }

    /// Reads a bool: exactly `0x00` or `0x01`.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        let at = self.mark(field);
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            byte => Err(Self::error_at(
                at,
                DecodeErrorKind::InvalidBool { field, byte },
            )),
        }
    }

    /// Reads 32 raw bytes.
    pub fn bytes32(&mut self, field: &'static str) -> Result<[u8; 32], DecodeError> {
        self.array(field)
    }

    /// Reads a u32 length and that many bytes of UTF-8 without control
    /// characters other than `\n`.
    pub fn string(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let at = self.mark(field);
        let len = self.u32(field)?;
        if u64::from(len) > self.remaining() as u64 {
            return Err(Self::error_at(
                at,
                DecodeErrorKind::LengthPastEnd {
                    field,
                    len: len.into(),
                    remaining: self.remaining(),
                },
            ));
        }
        let start = self.pos;
        let bytes = self.take(field, len as usize)?;
        let s = std::str::from_utf8(bytes).map_err(|e| {
            Self::error_at(
                start + e.valid_up_to(),
                DecodeErrorKind::InvalidUtf8 { field },
            )
        })?;
        if let Some((i, ch)) = s.char_indices().find(|&(_, c)| !is_allowed_string_char(c)) {
            return Err(Self::error_at(
                start + i,
                DecodeErrorKind::ControlChar { field, ch },
            ));
        }
        Ok(s.to_owned())
    }

    /// Reads a date: u16 year, u8 month, u8 day forming a calendar date.
    pub fn date(&mut self, field: &'static str) -> Result<Date, DecodeError> {
        let at = self.mark(field);
        let (year, month, day) = (self.u16(field)?, self.u8(field)?, self.u8(field)?);
        Date::new(year, month, day).map_err(|_| {
            Self::error_at(
                at,
                DecodeErrorKind::InvalidDate {
                    field,
                    year,
                    month,
                    day,
                },
            )
        })
    }

    /// Reads an [`Actor`]: a u8 staff role code (only 1..=5; anything else
    /// is `invalid_enum` at the code's offset), then the pseudonym string.
    /// Errors in either part name `field`; a validation error of the
    /// pseudonym (`"<field>.pseudonym"`) is reported at the pseudonym's
    /// length prefix.
    pub fn actor(&mut self, field: &'static str) -> Result<Actor, DecodeError> {
        let at = self.mark(field);
        let code = self.u8(field)?;
        let role = StaffRole::from_code(code).ok_or_else(|| {
            Self::error_at(
                at,
                DecodeErrorKind::InvalidEnum {
                    field,
                    byte: code,
                    expected: "a staff role code (1 admin, 2 registrar, 3 moderator, 4 clerk, 5 organiser)",
                },
            )
        })?;
        self.mark(format!("{field}.pseudonym"));
        let pseudonym = self.string(field)?;
        Ok(Actor { role, pseudonym })
    }

    /// Reads `0x00` (absent) or `0x01` followed by a value read by `f`.
    pub fn option<T>(
        &mut self,
        field: &'static str,
        f: impl FnOnce(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<T>, DecodeError> {
        let at = self.mark(field);
        match self.u8(field)? {
            0 => Ok(None),
            1 => f(self).map(Some),
            byte => Err(Self::error_at(
                at,
                DecodeErrorKind::InvalidOptionTag { field, byte },
            )),
        }
    }

    /// Reads a u32 count and that many items read by `f`. Every item
    /// encoding takes at least one byte, so a count larger than the bytes
    /// left is rejected before anything is allocated.
    pub fn list<T>(
        &mut self,
        field: &'static str,
        mut f: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        let at = self.mark(field);
        let count = self.u32(field)?;
        if u64::from(count) > self.remaining() as u64 {
            return Err(Self::error_at(
                at,
                DecodeErrorKind::CountPastEnd {
                    field,
                    count: count.into(),
                    remaining: self.remaining(),
                },
            ));
        }
        (0..count).map(|_| f(self)).collect()
    }

    /// Succeeds if every byte has been read.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(Self::error_at(
                self.pos,
                DecodeErrorKind::TrailingBytes { count },
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(f: impl FnOnce(&mut Writer)) -> Vec<u8> {
        let mut w = Writer::new();
        f(&mut w);
        w.finish().unwrap()
    }

    #[test]
    fn integers_are_big_endian_fixed_width() {
        let b = written(|w| {
            w.u8(0xab);
            w.u16(0x0102);
            w.u32(0x0304_0506);
            w.u64(0x0708_090a_0b0c_0d0e);
        });
        assert_eq!(b, [0xab, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        let mut r = Reader::new(&b);
        assert_eq!(r.u8("a").unwrap(), 0xab);
        assert_eq!(r.u16("b").unwrap(), 0x0102);
        assert_eq!(r.u32("c").unwrap(), 0x0304_0506);
        assert_eq!(r.u64("d").unwrap(), 0x0708_090a_0b0c_0d0e);
        r.finish().unwrap();
        assert_eq!(r.field_offset("c"), Some(3));
        assert_eq!(r.field_offset("d[1].x"), Some(7));
    }

    #[test]
    fn bool_accepts_only_0_and_1() {
        let b = written(|w| {
            w.bool(false);
            w.bool(true);
        });
        assert_eq!(b, [0, 1]);
        let mut r = Reader::new(&b);
        assert!(!r.bool("x").unwrap());
        assert!(r.bool("y").unwrap());
        let e = Reader::new(&[0x02]).bool("x").unwrap_err();
        assert_eq!(e.offset, 0);
        let mut r = Reader::new(&[0x00, 0x02]);
        r.bool("x").unwrap();
        let e = r.bool("flag").unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 1: field flag: bool byte 0x02 is not 0x00 or 0x01"
        );
        assert_eq!(e.code(), "invalid_bool");
    }

    #[test]
    fn option_accepts_only_0_and_1_tags() {
        let b = written(|w| {
            w.option(None::<&u16>, |w, v| w.u16(*v));
            w.option(Some(&7u16), |w, v| w.u16(*v));
        });
        assert_eq!(b, [0, 1, 0, 7]);
        let mut r = Reader::new(&b);
        assert_eq!(r.option("a", |r| r.u16("a")).unwrap(), None);
        assert_eq!(r.option("b", |r| r.u16("b")).unwrap(), Some(7));
        r.finish().unwrap();
        let e = Reader::new(&[0x02, 0, 7])
            .option("note", |r| r.u16("note"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 0: field note: optional presence byte 0x02 is not 0x00 or 0x01"
        );
    }

    #[test]
    fn strings_round_trip_and_reject_bad_input() {
        let b = written(|w| w.str("s", "Привет\nмир"));
        assert_eq!(&b[..4], &[0, 0, 0, 19]);
        assert_eq!(Reader::new(&b).string("s").unwrap(), "Привет\nмир");

        let e = Reader::new(&[0, 0x3d, 0x09, 0x00, b'a', b'b'])
            .string("id")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 0: field id: string length 4000000 exceeds remaining 2 bytes"
        );
        let e = Reader::new(&[0, 0, 0, 3, b'a', 0xff, b'b'])
            .string("s")
            .unwrap_err();
        assert_eq!(e.to_string(), "offset 5: field s: invalid UTF-8");
        let e = Reader::new(&[0, 0, 0, 3, b'a', b'b', 0x00])
            .string("s")
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 6: field s: control character U+0000 not allowed"
        );
        // U+0085 (NEXT LINE) is a C1 control.
        let e = Reader::new(&[0, 0, 0, 2, 0xc2, 0x85])
            .string("s")
            .unwrap_err();
        assert_eq!(e.code(), "control_char");
        let e = Reader::new(&[0, 0, 0]).string("s").unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 0: field s: needs 4 bytes, only 3 left"
        );

        let mut w = Writer::new();
        w.str("name", "a\tb");
        assert_eq!(
            w.finish().unwrap_err().to_string(),
            "invalid entry: field name: control character U+0009 not allowed"
        );
    }

    #[test]
    fn dates_are_validated_on_read() {
        let d = Date::new(2024, 2, 29).unwrap();
        let b = written(|w| w.date(d));
        assert_eq!(b, [0x07, 0xe8, 2, 29]);
        assert_eq!(Reader::new(&b).date("d").unwrap(), d);
        let e = Reader::new(&[0x07, 0xe7, 2, 29]).date("when").unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 0: field when: 2023-02-29 is not a valid date"
        );
        assert!(Reader::new(&[0, 0, 1, 1]).date("d").is_err());
    }

    #[test]
    fn lists_round_trip_and_reject_huge_counts() {
        let items = [1u16, 2, 3];
        let b = written(|w| w.list(&items, |w, v| w.u16(*v)));
        assert_eq!(b, [0, 0, 0, 3, 0, 1, 0, 2, 0, 3]);
        assert_eq!(Reader::new(&b).list("l", |r| r.u16("l")).unwrap(), items);
        let e = Reader::new(&[0xff, 0xff, 0xff, 0xff, 0])
            .list("l", |r| r.u8("l"))
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "offset 0: field l: list count 4294967295 exceeds remaining 1 byte"
        );
    }

    #[test]
    fn codes_outside_their_table_are_invalid_enum() {
        let b = written(|w| {
            w.i32(-2);
            w.u8(3);
        });
        assert_eq!(b, [0xff, 0xff, 0xff, 0xfe, 3]);
        let mut r = Reader::new(&b);
        assert_eq!(r.i32("lat").unwrap(), -2);
        let e = r
            .code("method", "a method code (1 a, 2 b)", |c| {
                (c <= 2).then_some(c)
            })
            .unwrap_err();
        assert_eq!(e.code(), "invalid_enum");
        assert_eq!(
            e.to_string(),
            "offset 4: field method: byte 0x03 is not a method code (1 a, 2 b)"
        );
        let mut r = Reader::new(&[2]);
        assert_eq!(r.code("m", "x", |c| (c <= 2).then_some(c)).unwrap(), 2);
        assert_eq!(
            Reader::new(&[]).code("m", "x", Some).unwrap_err().code(),
            "unexpected_end"
        );
    }

    #[test]
    fn bytes32_round_trips() {
        let v = [7u8; 32];
        let b = written(|w| w.bytes32(&v));
        assert_eq!(Reader::new(&b).bytes32("h").unwrap(), v);
        assert_eq!(Reader::new(&b[..31]).bytes32("h").unwrap_err().offset, 0);
    }

    #[test]
    fn writer_refuses_oversized_output() {
        let mut w = Writer::new();
        w.put(&[0u8; MAX_ENTRY_SIZE]);
        assert!(w.buf.len() == MAX_ENTRY_SIZE);
        w.u8(0);
        assert_eq!(w.len(), MAX_ENTRY_SIZE + 1);
        assert_eq!(
            w.finish().unwrap_err(),
            EncodeError::TooLarge {
                len: MAX_ENTRY_SIZE + 1
            }
        );
    }

    #[test]
    fn trailing_bytes_are_reported_at_their_offset() {
        let mut r = Reader::new(&[1, 2, 3]);
        r.u8("a").unwrap();
        assert_eq!(
            r.finish().unwrap_err().to_string(),
            "offset 1: trailing 2 bytes after payload"
        );
    }
}
