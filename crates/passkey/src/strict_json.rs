//! JSON parsing that refuses duplicate object keys at any depth.
//!
//! `serde_json::Value` silently keeps the last of two equal keys; a verifier
//! that did so could read a different `challenge` or `origin` than another
//! parser of the same signed bytes. clientDataJSON is parsed with this instead.

use std::cell::RefCell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::PasskeyError;

/// Parses `bytes` as one UTF-8 JSON value, refusing duplicate keys.
pub fn parse(bytes: &[u8]) -> Result<Value, PasskeyError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| PasskeyError::malformed(format!("clientDataJSON is not UTF-8: {e}")))?;
    let dup = RefCell::new(None);
    let mut de = serde_json::Deserializer::from_str(text);
    let result = Seed { dup: &dup }.deserialize(&mut de).and_then(|v| {
        de.end()?;
        Ok(v)
    });
    match result {
        Ok(v) => Ok(v),
        Err(e) => match dup.into_inner() {
            Some(key) => Err(PasskeyError::DuplicateKey(key)),
            None => Err(PasskeyError::malformed(format!(
                "clientDataJSON is not valid JSON: {e}"
            ))),
        },
    }
}

#[derive(Clone, Copy)]
struct Seed<'a> {
    dup: &'a RefCell<Option<String>>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(self)? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if out.contains_key(&key) {
                let msg = format!("duplicate key {key:?}");
                *self.dup.borrow_mut() = Some(key);
                return Err(de::Error::custom(msg));
            }
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_duplicates_at_any_depth() {
        assert_eq!(
            parse(br#"{"a":1,"a":2}"#),
            Err(PasskeyError::DuplicateKey("a".into()))
        );
        assert_eq!(
            parse(br#"{"a":{"b":1,"b":1}}"#),
            Err(PasskeyError::DuplicateKey("b".into()))
        );
        assert_eq!(
            parse(br#"{"a":[{"c":1,"c":1}]}"#),
            Err(PasskeyError::DuplicateKey("c".into()))
        );
        assert!(parse(br#"{"a":1,"b":{"a":2}}"#).is_ok());
    }

    #[test]
    fn refuses_trailing_data_and_bad_utf8() {
        assert!(matches!(
            parse(br#"{} {}"#),
            Err(PasskeyError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"{\"a\":\"\xff\"}"),
            Err(PasskeyError::Malformed(_))
        ));
        assert!(matches!(
            parse(b"\xef\xbb\xbf{}"),
            Err(PasskeyError::Malformed(_))
        ));
    }
}
