//! Klarna's fraud-review notifications for pending orders: typed, and
//! authenticated by the URL they are sent to.
//!
//! A created order's `fraud_status` is `ACCEPTED` or `PENDING`. A pending
//! order must not be captured or fulfilled: Klarna reviews it (usually
//! hours, at most 24) and then `POST`s the decision to the order's
//! `merchant_urls.notification` as JSON with `order_id` and `event_type`
//! ([`FraudEvent`]: `FRAUD_RISK_ACCEPTED`, `FRAUD_RISK_REJECTED`,
//! `FRAUD_RISK_STOPPED`), re-sending every 10 minutes for 24 hours until it
//! gets a `200`. [`FraudNotification::from_json`] reads that body;
//! [`Charge::notification`](crate::charge::Charge::notification) applies it
//! to the charge that holds the order.
//!
//! # Threat model
//! **Klarna does not sign these requests.** Anyone who can reach the
//! notification endpoint could post "accepted" for any order id. This
//! crate makes the URL itself the secret: [`NotificationSigner::url`] puts
//! the charge's idempotency key and an HMAC-SHA256 of it (under a secret
//! only the merchant holds) in the URL's query, and
//! [`NotificationSigner::verify`] checks an incoming request's URL in
//! constant time and returns the key. A notification is applied only when
//! its URL verifies **and** its `order_id` is the order recorded for that
//! key.
//!
//! - It stops anyone who does not know the URL: a forged request, a guessed
//!   order id, a notification meant for another charge (its key and MAC do
//!   not match that charge's order).
//! - It does not stop anyone who learned the URL (a leaked log line, a
//!   proxy that records query strings): such a party can replay or forge
//!   decisions for **that one** charge. Klarna recommends confirming a
//!   decision by reading the order back through the Order Management API
//!   (`GET /ordermanagement/v1/orders/{order_id}`, `fraud_status`) before
//!   acting on it; that API is outside this crate.
//! - So the URL is a secret: never log it whole. The client's scrub treats
//!   the `klarna_sig` query parameter as one, and the sandbox lists
//!   deliveries with the URL cut to its path.
//!
//! ```
//! use klarna_customer_token::notification::{FraudEvent, FraudNotification, NotificationSigner};
//! use klarna_customer_token::IdempotencyKey;
//!
//! let signer = NotificationSigner::new(b"a secret of at least 32 bytes, from a vault".to_vec())?;
//! let key = IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-12", 1);
//! let url = signer.url("https://shop.example/klarna/notify", &key)?;
//! // Klarna later posts to `url`; the receiver checks the URL, then reads the body.
//! assert_eq!(signer.verify(&url)?, key);
//! let body = br#"{"order_id":"ord-1","event_type":"FRAUD_RISK_ACCEPTED","decided_at":"2026-12-07T10:00:00Z"}"#;
//! let notification = FraudNotification::from_json(body)?;
//! assert_eq!(notification.event_type(), &FraudEvent::Accepted);
//! assert_eq!(notification.unknown_fields(), ["decided_at"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub(crate) mod signer;

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::violation::{ValidationErrors, json_path, without_values};

pub use crate::enums::FraudEvent;
pub use signer::{NotificationError, NotificationSigner, hide_signatures};

/// The largest notification body read: Klarna's carries an order id, an
/// event type and a time stamp.
pub const MAX_NOTIFICATION_BYTES: usize = 64 * 1024;

/// A fraud-review notification, as Klarna posts it.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct FraudNotification {
    order_id: String,
    event_type: FraudEvent,
    /// Every other field, kept as received (Klarna sends the decision's
    /// time under a name it does not document).
    #[cfg_attr(feature = "serde", serde(flatten))]
    extra: Map<String, Value>,
}

#[derive(Deserialize)]
struct Raw {
    order_id: String,
    event_type: FraudEvent,
    #[serde(flatten)]
    extra: Map<String, Value>,
}

impl FraudNotification {
    /// Reads a notification body.
    ///
    /// # Errors
    /// [`Error::Validation`] naming the JSON path when the body is larger
    /// than [`MAX_NOTIFICATION_BYTES`], is not a JSON object, or lacks
    /// `order_id` or `event_type` as strings, or has an empty `order_id`.
    ///
    /// ```
    /// use klarna_customer_token::notification::FraudNotification;
    /// let err = FraudNotification::from_json(br#"{"order_id": 7, "event_type": "FRAUD_RISK_ACCEPTED"}"#)
    ///     .unwrap_err();
    /// assert!(err.validation().unwrap().at("order_id").is_some());
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, Error> {
        if body.len() > MAX_NOTIFICATION_BYTES {
            return Err(ValidationErrors::single(
                "",
                format!(
                    "a notification body of {} bytes is larger than the {MAX_NOTIFICATION_BYTES} \
                     read",
                    body.len()
                ),
            )
            .into());
        }
        let mut decoder = serde_json::Deserializer::from_slice(body);
        let raw: Raw = serde_path_to_error::deserialize(&mut decoder).map_err(|e| {
            ValidationErrors::single(&json_path(e.path()), without_values(&e.inner().to_string()))
        })?;
        decoder
            .end()
            .map_err(|e| ValidationErrors::single("", without_values(&e.to_string())))?;
        if raw.order_id.is_empty() {
            return Err(ValidationErrors::single("order_id", "must not be empty").into());
        }
        Ok(Self {
            order_id: raw.order_id,
            event_type: raw.event_type,
            extra: raw.extra,
        })
    }

    /// The order the decision is about.
    pub fn order_id(&self) -> &str {
        &self.order_id
    }

    /// The decision.
    pub fn event_type(&self) -> &FraudEvent {
        &self.event_type
    }

    /// The names of the fields other than `order_id` and `event_type`, in
    /// name order.
    pub fn unknown_fields(&self) -> Vec<&str> {
        self.extra.keys().map(String::as_str).collect()
    }

    /// A field other than `order_id` and `event_type`, as received.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.extra.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(body: &[u8]) -> (String, String) {
        let err = FraudNotification::from_json(body).unwrap_err();
        let v = err.validation().unwrap().iter().next().unwrap();
        (v.path().to_owned(), v.message().to_owned())
    }

    #[test]
    fn every_documented_event_and_an_unknown_one() {
        for (wire, event) in [
            ("FRAUD_RISK_ACCEPTED", FraudEvent::Accepted),
            ("FRAUD_RISK_REJECTED", FraudEvent::Rejected),
            ("FRAUD_RISK_STOPPED", FraudEvent::Stopped),
            (
                "FRAUD_RISK_NEW",
                FraudEvent::Unknown("FRAUD_RISK_NEW".into()),
            ),
        ] {
            let body = format!(r#"{{"order_id":"o-1","event_type":"{wire}"}}"#);
            let n = FraudNotification::from_json(body.as_bytes()).unwrap();
            assert_eq!((n.order_id(), n.event_type()), ("o-1", &event));
            assert!(n.unknown_fields().is_empty());
        }
    }

    #[test]
    fn unknown_fields_are_kept() {
        let n = FraudNotification::from_json(
            br#"{"event_type":"FRAUD_RISK_REJECTED","decided_at":"2026-12-07T10:00:00Z","order_id":"o","x":{"y":[1]}}"#,
        )
        .unwrap();
        assert_eq!(n.unknown_fields(), ["decided_at", "x"]);
        assert_eq!(n.field("x"), Some(&serde_json::json!({"y": [1]})));
    }

    #[test]
    fn problems_name_their_path() {
        let (path, message) = problem(br#"{"event_type":"FRAUD_RISK_ACCEPTED"}"#);
        assert_eq!(path, "");
        assert!(message.starts_with("missing field `order_id`"), "{message}");
        assert_eq!(
            problem(br#"{"order_id":"o","event_type":5}"#).0,
            "event_type"
        );
        assert_eq!(
            problem(br#"{"order_id":["o"],"event_type":"FRAUD_RISK_ACCEPTED"}"#).0,
            "order_id"
        );
        assert_eq!(
            problem(br#"{"order_id":"","event_type":"FRAUD_RISK_ACCEPTED"}"#),
            ("order_id".to_owned(), "must not be empty".to_owned())
        );
        assert_eq!(problem(b"[1]").0, "");
        assert_eq!(
            problem(b"{\"order_id\":\"o\",\"event_type\":\"A\"} x").0,
            ""
        );
        let big = vec![b' '; MAX_NOTIFICATION_BYTES + 1];
        assert!(problem(&big).1.contains("larger than"));
    }

    #[test]
    fn an_order_never_shows_its_signed_url_whole() {
        let signer = NotificationSigner::new(vec![7; 32]).unwrap();
        let key = crate::IdempotencyKey::for_charge("ns", "c", 1);
        let url = signer.url("https://shop.example/n", &key).unwrap();
        let sig = url.split("klarna_sig=").nth(1).unwrap().to_owned();
        let urls = crate::MerchantUrls::new("https://shop.example/thanks").with_notification(url);
        let shown = format!("{urls:?}");
        assert!(
            !shown.contains(&sig) && shown.contains("[REDACTED]"),
            "{shown}"
        );
    }

    #[test]
    fn a_value_is_not_echoed_in_a_problem() {
        let (_, message) = problem(br#"{"order_id":"o","event_type":{"secret":"pw-12345"}}"#);
        assert!(!message.contains("pw-12345"), "{message}");
    }
}
