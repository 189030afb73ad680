//! Fields the typed API does not know: kept as given, sent after the typed
//! fields.

use std::fmt;

use serde::Serialize;

use super::{Address, Attachment, MerchantUrls, ProductIdentifiers, Subscription};

/// The value of a field the typed API does not know.
#[derive(Clone)]
pub(super) enum ExtraValue {
    /// As read from JSON, byte for byte.
    Raw(Box<serde_json::value::RawValue>),
    /// As given to a builder's `extra`.
    Value(serde_json::Value),
}

impl ExtraValue {
    fn to_value(&self) -> Option<serde_json::Value> {
        match self {
            Self::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            Self::Value(value) => Some(value.clone()),
        }
    }
}

impl PartialEq for ExtraValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Raw(a), Self::Raw(b)) => a.get() == b.get(),
            (Self::Value(a), Self::Value(b)) => a == b,
            (a, b) => a.to_value().is_some() && a.to_value() == b.to_value(),
        }
    }
}

impl Eq for ExtraValue {}

impl Serialize for ExtraValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Raw(raw) => raw.serialize(serializer),
            Self::Value(value) => value.serialize(serializer),
        }
    }
}

/// The fields of one object of the request that the typed API does not
/// know, in the order given. They serialize after the typed fields,
/// unchanged.
#[derive(Clone, Default, PartialEq, Eq)]
pub(super) struct Extra(Vec<(String, ExtraValue)>);

impl Extra {
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(super) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
    pub(super) fn push_raw(&mut self, name: String, value: Box<serde_json::value::RawValue>) {
        self.0.push((name, ExtraValue::Raw(value)));
    }
    pub(super) fn push_value(&mut self, name: String, value: serde_json::Value) {
        self.0.push((name, ExtraValue::Value(value)));
    }
}

/// Names only: values may be personal data.
impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

macro_rules! extra_setter {
    ($($ty:ident),+) => {$(
        impl $ty {
            /// Adds a field the typed API does not have. It is sent as
            /// given, after the typed fields. A name the typed API already
            /// has is refused when the order is validated: set that field
            /// through its own method.
            pub fn with_extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
                self.extra.push_value(name.into(), value);
                self
            }
        }
    )+};
}

extra_setter!(
    ProductIdentifiers,
    Subscription,
    Address,
    Attachment,
    MerchantUrls
);
