//! The canonical form of a JSON document and its SHA-256 digest.
//!
//! The canonical form is the document with every object's keys sorted (by
//! their bytes, duplicates kept in the order received) and no whitespace;
//! strings and numbers are written as `serde_json` writes them. Two bodies
//! that are the same JSON value have the same canonical form, whatever
//! their key order and whitespace.
//!
//! The document is never built as a `serde_json::Value` (a 10 MiB array of
//! zeros would take some 160 MiB as one): arrays and scalars stream straight
//! into the digest, and only the members of an object are buffered, to be
//! sorted.

use std::fmt;

use serde::de::{DeserializeSeed, MapAccess, SeqAccess, Visitor};
use sha2::{Digest as _, Sha256};

/// A SHA-256 digest.
pub(crate) type Digest = [u8; 32];

/// Where canonical bytes go.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

/// SHA-256 fed in blocks: most writes are a byte or two, and one hasher
/// update per write would cost more than the parsing.
struct Hashing {
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl Hashing {
    const BLOCK: usize = 64 * 1024;

    fn new() -> Self {
        Self {
            hasher: Sha256::new(),
            buffer: Vec::with_capacity(Self::BLOCK),
        }
    }

    fn finish(mut self) -> Digest {
        self.hasher.update(&self.buffer);
        self.hasher.finalize().into()
    }
}

impl Sink for Hashing {
    fn put(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
        if self.buffer.len() >= Self::BLOCK {
            self.hasher.update(&self.buffer);
            self.buffer.clear();
        }
    }
}

/// The digest of the canonical form of `raw`, or the parse error when `raw`
/// is not one JSON document.
pub(crate) fn digest(raw: &[u8]) -> Result<Digest, serde_json::Error> {
    let mut hashing = Hashing::new();
    let mut de = serde_json::Deserializer::from_slice(raw);
    Canon {
        sink: &mut hashing,
        prefix: None,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(hashing.finish())
}

/// The digest of a sequence of byte strings, each length-prefixed so that
/// no two sequences share one.
pub(crate) fn digest_parts(parts: &[&[u8]]) -> Digest {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

/// The canonical form itself (for tests).
#[cfg(test)]
pub(crate) fn canonical(raw: &[u8]) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::new();
    let mut de = serde_json::Deserializer::from_slice(raw);
    Canon {
        sink: &mut out,
        prefix: None,
    }
    .deserialize(&mut de)?;
    de.end()?;
    Ok(out)
}

/// The decimal digits of an integer, without an allocation.
struct Digits {
    bytes: [u8; 21],
    start: usize,
}

impl Digits {
    fn as_slice(&self) -> &[u8] {
        &self.bytes[self.start..]
    }
}

fn itoa_buffer(mut n: u64, negative: bool) -> Digits {
    let mut digits = Digits {
        bytes: [0; 21],
        start: 21,
    };
    loop {
        digits.start -= 1;
        digits.bytes[digits.start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if negative {
        digits.start -= 1;
        digits.bytes[digits.start] = b'-';
    }
    digits
}

/// Writes one value's canonical form to `sink`, preceded by `prefix` (the
/// comma before an array element), which is written only once the value is
/// known to exist.
struct Canon<'a, S: Sink> {
    sink: &'a mut S,
    prefix: Option<u8>,
}

impl<S: Sink> Canon<'_, S> {
    fn start(&mut self) {
        if let Some(prefix) = self.prefix.take() {
            self.sink.put(&[prefix]);
        }
    }

    fn json<T: serde::Serialize + ?Sized>(mut self, value: &T) {
        self.start();
        // Serializing a string or a number into memory cannot fail.
        let text = serde_json::to_vec(value).unwrap_or_default();
        self.sink.put(&text);
    }

    /// A string, as `serde_json` writes it. One with nothing to escape
    /// (`serde_json` escapes `"`, `\` and the controls below U+0020 only)
    /// goes to the sink as it is, quoted, with no escaped copy made first:
    /// most strings, and a 10 MiB one among them.
    fn string(mut self, text: &str) {
        if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
            return self.json(text);
        }
        self.start();
        self.sink.put(b"\"");
        self.sink.put(text.as_bytes());
        self.sink.put(b"\"");
    }

    fn integer(mut self, text: &[u8]) {
        self.start();
        self.sink.put(text);
    }
}

impl<'de, S: Sink> DeserializeSeed<'de> for Canon<'_, S> {
    type Value = ();

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de, S: Sink> Visitor<'de> for Canon<'_, S> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(mut self, v: bool) -> Result<(), E> {
        self.start();
        self.sink.put(if v { b"true" } else { b"false" });
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.integer(itoa_buffer(v.unsigned_abs(), v < 0).as_slice());
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.integer(itoa_buffer(v, false).as_slice());
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        self.json(&v);
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.string(v);
        Ok(())
    }

    fn visit_unit<E>(mut self) -> Result<(), E> {
        self.start();
        self.sink.put(b"null");
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        self.start();
        self.sink.put(b"[");
        let mut prefix = None;
        while seq
            .next_element_seed(Canon {
                sink: &mut *self.sink,
                prefix,
            })?
            .is_some()
        {
            prefix = Some(b',');
        }
        self.sink.put(b"]");
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut members: Vec<(String, Vec<u8>)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let mut value = Vec::new();
            map.next_value_seed(Canon {
                sink: &mut value,
                prefix: None,
            })?;
            members.push((key, value));
        }
        // Stable: duplicate keys keep the order they came in.
        members.sort_by(|a, b| a.0.cmp(&b.0));
        self.start();
        self.sink.put(b"{");
        for (i, (key, value)) in members.iter().enumerate() {
            if i > 0 {
                self.sink.put(b",");
            }
            Canon {
                sink: &mut *self.sink,
                prefix: None,
            }
            .string(key);
            self.sink.put(b":");
            self.sink.put(value);
        }
        self.sink.put(b"}");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str) -> String {
        String::from_utf8(canonical(raw.as_bytes()).unwrap()).unwrap()
    }

    #[test]
    fn keys_are_sorted_and_whitespace_dropped_at_every_depth() {
        assert_eq!(
            canon(r#" { "b" : [ 1 , { "z":null, "a":true } ], "a":"x\u0041" , "c":{} , "d":[] } "#),
            r#"{"a":"xA","b":[1,{"a":true,"z":null}],"c":{},"d":[]}"#
        );
        assert_eq!(canon("[]"), "[]");
        assert_eq!(canon("[[],[[]]]"), "[[],[[]]]");
        assert_eq!(canon(r#""\"\\\n""#), r#""\"\\\n""#);
        assert_eq!(canon("-5"), "-5");
        assert_eq!(canon("0"), "0");
        assert_eq!(
            canon("[-9223372036854775808,18446744073709551615]"),
            "[-9223372036854775808,18446744073709551615]"
        );
        assert_eq!(canon("1.5e3"), "1500.0");
    }

    #[test]
    fn the_digest_ignores_key_order_and_whitespace_but_not_values() {
        let a = digest(br#"{"x":1,"y":[1,2],"unknown":{"q":"r"}}"#).unwrap();
        let b = digest(b"{ \"unknown\" : {\"q\":\"r\"},\n\"y\":[1, 2],\"x\":1}").unwrap();
        assert_eq!(a, b);
        // Unknown fields count.
        let c = digest(br#"{"x":1,"y":[1,2],"unknown":{"q":"s"}}"#).unwrap();
        assert_ne!(a, c);
        // Array order counts.
        assert_ne!(
            digest(br#"{"y":[1,2]}"#).unwrap(),
            digest(br#"{"y":[2,1]}"#).unwrap()
        );
        // The digest is SHA-256 of the canonical form.
        let expected: Digest = Sha256::digest(br#"{"a":1}"#).into();
        assert_eq!(digest(br#"{ "a" : 1 }"#).unwrap(), expected);
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        let mut every_control: String = (0u8..0x20).map(char::from).collect();
        every_control.push_str("\u{7f}\u{80}\u{9f}\u{2028}");
        for text in [
            "",
            "plain",
            "\"quoted\" \\ back/slash",
            "é ü 日本 🦀",
            every_control.as_str(),
        ] {
            let mut out = Vec::new();
            Canon {
                sink: &mut out,
                prefix: Some(b','),
            }
            .string(text);
            let mut expected = b",".to_vec();
            expected.extend(serde_json::to_vec(text).unwrap());
            assert_eq!(out, expected, "{text:?}");
        }
    }

    #[test]
    fn invalid_json_is_an_error() {
        for raw in ["", "{", "[1,]", r#"{"a":1} x"#, "nul", "[1] [2]"] {
            assert!(digest(raw.as_bytes()).is_err(), "{raw:?}");
        }
    }

    #[test]
    fn parts_are_length_prefixed() {
        assert_ne!(digest_parts(&[b"ab", b"c"]), digest_parts(&[b"a", b"bc"]));
        assert_eq!(digest_parts(&[b"a", b"b"]), digest_parts(&[b"a", b"b"]));
    }
}
