//! Reading an order from JSON: the passes. The decoder of each object is
//! generated from its row of the field table (`super::fields`).
//!
//! One decoder serves two passes:
//!
//! - **The fast pass** reads the bytes straight into the typed order. Every
//!   object of the API must be a JSON object (a derived decoder would also
//!   take an array of the fields in order, which is not the API's JSON); a
//!   field the typed API does not know is kept byte for byte, in order. Any
//!   problem stops it.
//! - **The thorough pass** runs only when the fast one failed: it reads the
//!   document as a JSON value (a document that is not an object is refused
//!   whole, without building one), decodes every field it can, notes every one
//!   it cannot (wrong type, missing, repeated) with its path, and then runs
//!   every validation rule on what it decoded. A mistyped field hides
//!   nothing else.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

use super::extra::Extra;
use super::{OrderLine, OrderRequest};
use crate::enums::SubscriptionInterval;
use crate::violation::{self, ValidationErrors};

/// Why the decoder refused a document.
pub(super) enum Refused {
    /// Every problem, found without running the rules.
    Problems(ValidationErrors),
    /// The order as far as the thorough pass could decode it, and what it
    /// could not decode (with paths): the rules are run on the rest next
    /// (`validate::check_decoded`, called by the parent module, so that
    /// the decoder does not depend on the rules, which depend on the field
    /// table that depends on the decoder).
    Partly(Box<OrderRequest>, ValidationErrors),
}

/// Reads an order; `strict` refuses fields the typed API does not know.
pub(super) fn decode_order(json: &[u8], strict: bool) -> Result<OrderRequest, Refused> {
    let mut ctx = Ctx::fast();
    let mut de = serde_json::Deserializer::from_slice(json);
    let fast = Seed::<OrderRequest>::new(&mut ctx)
        .deserialize(&mut de)
        .and_then(|order| de.end().map(|()| order));
    match fast {
        Ok(order) => {
            if strict {
                let unknown = order.unknown_fields();
                if !unknown.is_empty() {
                    let mut errors = ValidationErrors::default();
                    for path in &unknown {
                        errors.push(path, UNKNOWN_FIELD);
                    }
                    return Err(Refused::Problems(errors));
                }
            }
            Ok(order)
        }
        Err(_) => Err(thorough(json, strict)),
    }
}

const UNKNOWN_FIELD: &str = "is not a field of the API (refused by from_json_strict)";

/// The thorough pass: every problem the document has, each with its path.
fn thorough(json: &[u8], strict: bool) -> Refused {
    if !starts_an_object(json) {
        // Refused whole, so never built as a `Value` (one of a 10 MiB
        // `[0,0,…]` would take some 160 MiB): the syntax is checked as the
        // bytes stream by, keeping nothing.
        return Refused::Problems(ValidationErrors::single(
            "",
            match serde_json::from_slice::<IgnoredAny>(json) {
                Ok(_) => NOT_AN_OBJECT.to_owned(),
                Err(e) => format!("not valid JSON: {e}"),
            },
        ));
    }
    let value: serde_json::Value = match serde_json::from_slice(json) {
        Ok(value) => value,
        Err(e) => {
            return Refused::Problems(ValidationErrors::single("", format!("not valid JSON: {e}")));
        }
    };
    let mut ctx = Ctx::thorough();
    let order = match Seed::<OrderRequest>::new(&mut ctx).deserialize(&value) {
        Ok(order) => order,
        Err(_) => {
            return Refused::Problems(ValidationErrors::single("", NOT_AN_OBJECT));
        }
    };
    let mut decoded = ctx.errors;
    if strict {
        for path in order.unknown_fields() {
            decoded.push(&path, UNKNOWN_FIELD);
        }
    }
    if decoded.is_empty() {
        // The value decoded where the bytes did not: something only the
        // byte stream shows, such as a field given twice. Name it.
        let mut de = serde_json::Deserializer::from_slice(json);
        return Refused::Problems(
            match serde_path_to_error::deserialize::<_, OrderRequest>(&mut de) {
                Err(e) => ValidationErrors::from_deserialize(&e),
                Ok(_) => ValidationErrors::single("", "the order could not be decoded"),
            },
        );
    }
    Refused::Partly(Box::new(order), decoded)
}

const NOT_AN_OBJECT: &str = "must be a JSON object";

/// Whether the first byte after JSON's whitespace opens an object.
fn starts_an_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|&b| b == b'{')
}

/// The state of one decoding pass.
pub(super) struct Ctx {
    /// Whether a problem is noted and decoding goes on (the thorough pass),
    /// or decoding stops at once (the fast pass).
    thorough: bool,
    /// The path of the object being decoded (thorough pass only).
    path: String,
    errors: ValidationErrors,
}

impl Ctx {
    pub(super) fn fast() -> Self {
        Self {
            thorough: false,
            path: String::new(),
            errors: ValidationErrors::default(),
        }
    }

    fn thorough() -> Self {
        Self {
            thorough: true,
            ..Self::fast()
        }
    }

    fn report(&mut self, field: &str, message: impl Into<String>) {
        let path = if self.path.is_empty() {
            field.to_owned()
        } else if field.is_empty() {
            self.path.clone()
        } else {
            format!("{}.{field}", self.path)
        };
        self.errors.push(&path, message);
    }

    /// Runs `f` with the field `segment` added to the path.
    fn within<T>(&mut self, segment: &str, f: impl FnOnce(&mut Self) -> T) -> T {
        let len = self.path.len();
        if len > 0 {
            self.path.push('.');
        }
        self.path.push_str(segment);
        let out = f(self);
        self.path.truncate(len);
        out
    }

    /// A field given twice: an error in the fast pass, noted in the
    /// thorough one.
    fn duplicate<'de, A: MapAccess<'de>>(
        &mut self,
        map: &mut A,
        name: &'static str,
    ) -> Result<(), A::Error> {
        if !self.thorough {
            return Err(de::Error::duplicate_field(name));
        }
        map.next_value::<IgnoredAny>()?;
        self.report(name, "is given more than once");
        Ok(())
    }

    /// Decodes one field's value into its slot.
    pub(super) fn take<'de, A, T>(
        &mut self,
        map: &mut A,
        name: &'static str,
        slot: &mut Option<T>,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        T: Deserialize<'de> + Placeholder,
    {
        self.take_seed(map, name, slot, PhantomData::<T>)
    }

    fn take_seed<'de, A, S>(
        &mut self,
        map: &mut A,
        name: &'static str,
        slot: &mut Option<S::Value>,
        seed: S,
    ) -> Result<(), A::Error>
    where
        A: MapAccess<'de>,
        S: DeserializeSeed<'de>,
        S::Value: Placeholder,
    {
        if slot.is_some() {
            return self.duplicate(map, name);
        }
        if !self.thorough {
            *slot = Some(map.next_value_seed(seed)?);
            return Ok(());
        }
        match map.next_value_seed(seed) {
            Ok(value) => *slot = Some(value),
            Err(e) => {
                self.report(name, violation::without_values(&e.to_string()));
                // Seen, so not reported missing too.
                *slot = Some(S::Value::placeholder());
            }
        }
        Ok(())
    }

    /// A required field that is absent: an error in the fast pass, a
    /// placeholder (never sent: the pass ends in an error) in the thorough one.
    pub(super) fn missing<T: Placeholder, E: de::Error>(
        &mut self,
        name: &'static str,
    ) -> Result<T, E> {
        if !self.thorough {
            return Err(E::missing_field(name));
        }
        self.report(name, "is required");
        Ok(T::placeholder())
    }
}

/// The value standing in for a field the thorough pass could not decode.
pub(super) trait Placeholder {
    /// The stand-in value.
    fn placeholder() -> Self;
}

impl Placeholder for String {
    fn placeholder() -> Self {
        String::new()
    }
}
impl Placeholder for i64 {
    fn placeholder() -> Self {
        0
    }
}
impl Placeholder for Vec<OrderLine> {
    fn placeholder() -> Self {
        Vec::new()
    }
}
impl<T> Placeholder for Option<T> {
    fn placeholder() -> Self {
        None
    }
}
impl Placeholder for SubscriptionInterval {
    fn placeholder() -> Self {
        SubscriptionInterval::Unknown(String::new())
    }
}

/// A field name, borrowed from the input where it can be.
pub(super) struct Key<'de>(pub(super) Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct KeyVisitor;
        impl<'de> Visitor<'de> for KeyVisitor {
            type Value = Key<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Borrowed(key)))
            }
            fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key.to_owned())))
            }
            fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
                Ok(Key(Cow::Owned(key)))
            }
        }
        deserializer.deserialize_str(KeyVisitor)
    }
}

/// Keeps a field the typed API does not know, byte for byte.
pub(super) fn keep_unknown<'de, A: MapAccess<'de>>(
    map: &mut A,
    key: Key<'de>,
    extra: &mut Extra,
) -> Result<(), A::Error> {
    let value = map.next_value::<Box<RawValue>>()?;
    extra.push_raw(key.0.into_owned(), value);
    Ok(())
}

/// Decodes a `T` with the pass's context.
pub(super) struct Seed<'a, T> {
    /// The pass's state.
    pub(super) ctx: &'a mut Ctx,
    _type: PhantomData<T>,
}

impl<'a, T> Seed<'a, T> {
    pub(super) fn new(ctx: &'a mut Ctx) -> Self {
        Seed {
            ctx,
            _type: PhantomData,
        }
    }
}

/// An optional object: `null` or absent is none.
struct OptionSeed<'a, T>(Seed<'a, T>);

impl<'de, T> DeserializeSeed<'de> for OptionSeed<'_, T>
where
    for<'a> Seed<'a, T>: DeserializeSeed<'de, Value = T>,
{
    type Value = Option<T>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<T>, D::Error> {
        struct OptionVisitor<'a, T>(Seed<'a, T>);
        impl<'de, T> Visitor<'de> for OptionVisitor<'_, T>
        where
            for<'a> Seed<'a, T>: DeserializeSeed<'de, Value = T>,
        {
            type Value = Option<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object or null")
            }
            fn visit_none<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }
            fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
                Ok(None)
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
                self.0.deserialize(d).map(Some)
            }
        }
        deserializer.deserialize_option(OptionVisitor(self.0))
    }
}

/// Decodes an optional nested object, noting its own problems under its path.
pub(super) fn take_object<'de, A, T>(
    ctx: &mut Ctx,
    map: &mut A,
    name: &'static str,
    slot: &mut Option<Option<T>>,
) -> Result<(), A::Error>
where
    A: MapAccess<'de>,
    for<'a> Seed<'a, T>: DeserializeSeed<'de, Value = T>,
{
    if slot.is_some() {
        return ctx.duplicate(map, name);
    }
    if !ctx.thorough {
        *slot = Some(map.next_value_seed(OptionSeed(Seed::<T>::new(ctx)))?);
        return Ok(());
    }
    let result = ctx.within(name, |ctx| {
        map.next_value_seed(OptionSeed(Seed::<T>::new(ctx)))
    });
    match result {
        Ok(value) => *slot = Some(value),
        Err(_) => {
            ctx.report(name, NOT_AN_OBJECT);
            *slot = Some(None);
        }
    }
    Ok(())
}

/// `order_lines`: an array of line objects.
pub(super) fn take_lines<'de, A: MapAccess<'de>>(
    ctx: &mut Ctx,
    map: &mut A,
    slot: &mut Option<Vec<OrderLine>>,
) -> Result<(), A::Error> {
    if slot.is_some() {
        return ctx.duplicate(map, "order_lines");
    }
    if !ctx.thorough {
        *slot = Some(map.next_value_seed(LinesSeed(ctx))?);
        return Ok(());
    }
    match map.next_value_seed(LinesSeed(ctx)) {
        Ok(lines) => *slot = Some(lines),
        Err(_) => {
            ctx.report("order_lines", "must be an array of order lines");
            *slot = Some(Vec::new());
        }
    }
    Ok(())
}

struct LinesSeed<'a>(&'a mut Ctx);

impl<'de> DeserializeSeed<'de> for LinesSeed<'_> {
    type Value = Vec<OrderLine>;
    fn deserialize<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Vec<OrderLine>, D::Error> {
        struct LinesVisitor<'a>(&'a mut Ctx);
        impl<'de> Visitor<'de> for LinesVisitor<'_> {
            type Value = Vec<OrderLine>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an array of order lines")
            }
            fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Vec<OrderLine>, S::Error> {
                let ctx = self.0;
                let mut lines = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
                loop {
                    let index = lines.len();
                    if !ctx.thorough {
                        match seq.next_element_seed(Seed::<OrderLine>::new(ctx))? {
                            Some(line) => lines.push(line),
                            None => break,
                        }
                        continue;
                    }
                    let next = ctx.within(&format!("order_lines[{index}]"), |ctx| {
                        seq.next_element_seed(Seed::<OrderLine>::new(ctx))
                    });
                    match next {
                        Ok(Some(line)) => lines.push(line),
                        Ok(None) => break,
                        Err(_) => {
                            ctx.report(&format!("order_lines[{index}]"), NOT_AN_OBJECT);
                            lines.push(OrderLine::empty(String::new()));
                        }
                    }
                }
                Ok(lines)
            }
        }
        deserializer.deserialize_seq(LinesVisitor(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(json: &str) -> Vec<String> {
        match OrderRequest::decode(json.as_bytes(), false) {
            Ok(_) => Vec::new(),
            Err(e) => e.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn arrays_in_place_of_objects_are_named() {
        assert_eq!(problems("[1,2]"), ["must be a JSON object"]);
        assert_eq!(problems("null"), ["must be a JSON object"]);
        let p = problems(r#"{"shipping_address":[1]}"#);
        assert!(
            p.contains(&"shipping_address: must be a JSON object".to_owned()),
            "{p:?}"
        );
        let p = problems(r#"{"order_lines":[{},[1]]}"#);
        assert!(
            p.contains(&"order_lines[1]: must be a JSON object".to_owned()),
            "{p:?}"
        );
        let p = problems(r#"{"order_lines":[{"subscription":["x"]}]}"#);
        assert!(
            p.contains(&"order_lines[0].subscription: must be a JSON object".to_owned()),
            "{p:?}"
        );
    }

    #[test]
    fn syntax_errors_and_trailing_data_are_reported() {
        for json in ["{", "{} x", "[1,2] x", " [", "", "nul", "\"open"] {
            let p = problems(json);
            assert!(
                p.len() == 1 && p[0].contains("not valid JSON"),
                "{json:?}: {p:?}"
            );
        }
    }

    #[test]
    fn a_document_that_is_not_an_object_is_refused_whole() {
        for json in [" \n\t[0,0]", "\"text\"", "12", "true"] {
            assert_eq!(problems(json), [NOT_AN_OBJECT], "{json:?}");
        }
        let zeros = format!("[{}0]", "0,".repeat(100_000));
        assert_eq!(problems(&zeros), [NOT_AN_OBJECT]);
        // Whitespace before an object is still an object.
        assert!(
            problems(" \r\n\t{\"order_lines\":[1]}")
                .iter()
                .any(|p| p.starts_with("order_lines[0]")),
        );
    }

    #[test]
    fn unknown_fields_keep_their_bytes_and_order() {
        let json = br#"{"z":1.50,"order_amount":1,"a":{"k" : [1e3]},"order_tax_amount":0,
            "purchase_currency":"EUR","order_lines":[{"name":"x","quantity":1,
            "unit_price":1,"total_amount":1,"m":null}]}"#;
        let Ok(order) = decode_order(json, false) else {
            panic!("decodes");
        };
        assert_eq!(order.unknown_fields(), ["z", "a", "order_lines[0].m"]);
        let out = String::from_utf8(order.to_json()).expect("utf-8");
        assert!(out.contains(r#""m":null}"#), "{out}");
        assert!(out.ends_with(r#","z":1.50,"a":{"k" : [1e3]}}"#), "{out}");
    }
}
