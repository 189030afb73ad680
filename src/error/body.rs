//! Klarna's error body (`ErrorV2`), read leniently.

use crate::enums::FraudStatus;
use crate::payment_method::AuthorizedPaymentMethod;

/// The largest error body whose fields are read. Klarna's error bodies are a
/// few hundred bytes; a longer one is shown only as a preview.
pub(crate) const MAX_PARSED_ERROR_BODY: usize = 64 * 1024;

/// The fields of Klarna's error body (`ErrorV2`) that the facade keeps, read
/// leniently: any field may be absent or of an unexpected type without
/// failing the decoding. Every other field is skipped without a copy.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
pub(crate) struct ErrorFields {
    #[serde(deserialize_with = "lenient_string")]
    error_code: Option<String>,
    #[serde(deserialize_with = "lenient_messages")]
    error_messages: Vec<String>,
    #[serde(deserialize_with = "lenient_string")]
    error_message: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    correlation_id: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    reason: Option<String>,
    #[serde(deserialize_with = "lenient_string")]
    fraud_status: Option<String>,
    #[serde(deserialize_with = "lenient_method")]
    authorized_payment_method: Option<AuthorizedPaymentMethod>,
}

fn lenient_string<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    use serde::Deserialize as _;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        _ => None,
    })
}

fn lenient_messages<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    use serde::Deserialize as _;
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(items) => items
            .into_iter()
            .filter_map(|m| match m {
                serde_json::Value::String(s) => Some(s),
                _ => None,
            })
            .collect(),
        serde_json::Value::String(one) => vec![one],
        _ => Vec::new(),
    })
}

fn lenient_method<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<AuthorizedPaymentMethod>, D::Error> {
    use serde::Deserialize as _;
    let value = serde_json::Value::deserialize(d)?;
    Ok(serde_json::from_value(value).ok())
}

impl ErrorFields {
    /// The fields of a JSON object body, if it is one and short enough.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        if body.len() > MAX_PARSED_ERROR_BODY {
            return None;
        }
        let first = body.iter().find(|b| !b.is_ascii_whitespace())?;
        if *first != b'{' {
            return None;
        }
        serde_json::from_slice(body).ok()
    }

    pub(crate) fn error_code(&self) -> Option<&str> {
        self.error_code.as_deref()
    }

    pub(crate) fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }

    pub(crate) fn reason(&self) -> Option<&str> {
        self.reason.as_deref()
    }

    pub(crate) fn fraud_status(&self) -> Option<FraudStatus> {
        self.fraud_status.clone().map(FraudStatus::from)
    }

    pub(crate) fn authorized_payment_method(&mut self) -> Option<AuthorizedPaymentMethod> {
        self.authorized_payment_method.take()
    }

    /// `error_messages` (a list or a single string), then `error_message`.
    pub(crate) fn messages(&self) -> impl Iterator<Item = &str> {
        self.error_messages
            .iter()
            .map(String::as_str)
            .chain(self.error_message.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_body_reads_both_message_shapes() {
        let body = ErrorFields::parse(
            br#"{"error_code":"BAD_VALUE","error_messages":["a","b"],"error_message":"c","correlation_id":"x","other":[1,{"a":2}]}"#,
        )
        .unwrap();
        assert_eq!(body.messages().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(body.error_code(), Some("BAD_VALUE"));
        assert_eq!(body.correlation_id(), Some("x"));
        let one = ErrorFields::parse(br#"{"error_messages":"one","error_code":7}"#).unwrap();
        assert_eq!(one.messages().collect::<Vec<_>>(), ["one"]);
        assert_eq!(one.error_code(), None);
        assert!(ErrorFields::parse(b"<html>").is_none());
        assert!(ErrorFields::parse(b"[1]").is_none());
        assert!(ErrorFields::parse(b"{\"error_code\":\"X\"").is_none());
    }

    #[test]
    fn long_error_bodies_are_not_parsed() {
        let pad = " ".repeat(MAX_PARSED_ERROR_BODY);
        let body = format!("{{\"error_code\":\"BAD_VALUE\"}}{pad}");
        assert!(ErrorFields::parse(body.as_bytes()).is_none());
        assert!(ErrorFields::parse(body.trim_end().as_bytes()).is_some());
    }
}
