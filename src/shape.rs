//! A fast pass over an order's JSON that checks what serde's derived
//! decoders let through: every object of the API must be a JSON object.
//! (A derived struct decoder also accepts an array of the fields in order,
//! which is not the API's JSON.) It reads the document without building
//! anything, and names the path of the first offending value.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::validate::ValidationErrors;

/// Checks an order's JSON: syntax, a single document, and objects where the
/// API has objects.
pub(crate) fn check_order_json(json: &[u8]) -> Result<(), ValidationErrors> {
    let mut de = serde_json::Deserializer::from_slice(json);
    match serde_path_to_error::deserialize::<_, Object<OrderFields>>(&mut de) {
        Ok(_) => {}
        Err(e) if e.inner().is_data() => {
            let path = e.path().to_string();
            let path = if path == "." { String::new() } else { path };
            return Err(ValidationErrors::single(&path, "must be a JSON object"));
        }
        Err(e) => {
            return Err(ValidationErrors::single(
                "",
                format!("not valid JSON: {}", e.into_inner()),
            ));
        }
    }
    de.end()
        .map_err(|e| ValidationErrors::single("", format!("not valid JSON: {e}")))
}

/// What to check in the fields of one kind of object.
trait Fields {
    fn field<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// A JSON object (never an array), whose fields `F` checks.
struct Object<F>(PhantomData<F>);

impl<'de, F: Fields> Deserialize<'de> for Object<F> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor<F>(PhantomData<F>);
        impl<'de, F: Fields> Visitor<'de> for ObjectVisitor<F> {
            type Value = Object<F>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while let Some(Key(key)) = map.next_key::<Key>()? {
                    F::field(key, &mut map)?;
                }
                Ok(Object(PhantomData))
            }
        }
        deserializer.deserialize_map(ObjectVisitor(PhantomData))
    }
}

/// A field name, without allocating: only the names that matter are kept.
struct Key(&'static str);

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl Visitor<'_> for KeyVisitor {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key, E> {
                const NAMES: [&str; 6] = [
                    "attachment",
                    "merchant_urls",
                    "shipping_address",
                    "order_lines",
                    "product_identifiers",
                    "subscription",
                ];
                Ok(Key(NAMES.into_iter().find(|n| *n == key).unwrap_or("")))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// The order's fields.
struct OrderFields;

impl Fields for OrderFields {
    fn field<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "attachment" | "merchant_urls" | "shipping_address" => {
                map.next_value::<Option<Object<AnyFields>>>()?;
            }
            "order_lines" => {
                map.next_value::<Lines>()?;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A line's fields.
struct LineFields;

impl Fields for LineFields {
    fn field<'de, A: MapAccess<'de>>(key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "product_identifiers" | "subscription" => {
                map.next_value::<Option<Object<AnyFields>>>()?;
            }
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// Fields with nothing inside to check.
struct AnyFields;

impl Fields for AnyFields {
    fn field<'de, A: MapAccess<'de>>(_: &str, map: &mut A) -> Result<(), A::Error> {
        map.next_value::<IgnoredAny>()?;
        Ok(())
    }
}

/// `order_lines`: when it is an array, each line must be an object. Any
/// other value is left to the decoder to report.
struct Lines;

impl<'de> Deserialize<'de> for Lines {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct LinesVisitor;
        impl<'de> Visitor<'de> for LinesVisitor {
            type Value = Lines;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Lines, A::Error> {
                while seq.next_element::<Object<LineFields>>()?.is_some() {}
                Ok(Lines)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Lines, A::Error> {
                IgnoredAny.visit_map(map).map(|_| Lines)
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Lines, E> {
                Ok(Lines)
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Lines, E> {
                Ok(Lines)
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Lines, E> {
                Ok(Lines)
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Lines, E> {
                Ok(Lines)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Lines, E> {
                Ok(Lines)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Lines, E> {
                Ok(Lines)
            }
        }
        deserializer.deserialize_any(LinesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path_of(json: &str) -> Option<String> {
        check_order_json(json.as_bytes()).err().map(|e| {
            e.iter()
                .next()
                .map(|v| v.path().to_owned())
                .unwrap_or_default()
        })
    }

    #[test]
    fn arrays_in_place_of_objects_are_named() {
        assert_eq!(path_of(r#"{"order_lines":[{"name":"a"}]}"#), None);
        assert_eq!(path_of("[1,2]"), Some(String::new()));
        assert_eq!(path_of("null"), Some(String::new()));
        assert_eq!(
            path_of(r#"{"shipping_address":[1]}"#),
            Some("shipping_address".into())
        );
        assert_eq!(path_of(r#"{"shipping_address":null}"#), None);
        assert_eq!(
            path_of(r#"{"order_lines":[{},[1]]}"#),
            Some("order_lines[1]".into())
        );
        assert_eq!(
            path_of(r#"{"order_lines":[{"subscription":["x"]}]}"#),
            Some("order_lines[0].subscription".into())
        );
        // Other types are left to the decoder, which names them better.
        assert_eq!(path_of(r#"{"order_lines":"x","order_amount":"y"}"#), None);
        // Nested values that are not API objects are not inspected.
        assert_eq!(path_of(r#"{"merchant_data":[[1]],"x":{"y":[]}}"#), None);
    }

    #[test]
    fn syntax_errors_and_trailing_data_are_reported() {
        let err = check_order_json(b"{").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
        let err = check_order_json(b"{} x").unwrap_err();
        assert!(err.to_string().contains("not valid JSON"), "{err}");
    }
}
