//! What the sandbox keeps of what it received: stored orders and recorded
//! requests.

use std::fmt;
use std::time::Duration;

use super::MAX_RECORDED_BYTES;
use super::review::OrderFraudStatus;
use klarna_customer_token::Operation;
use klarna_customer_token::{CustomerToken, IdempotencyKey, OrderRequest};

/// An order the sandbox stored.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct StoredOrder {
    /// The order id the sandbox gave it.
    pub order_id: String,
    /// The token it was charged to.
    pub token: CustomerToken,
    /// The idempotency key it came with, if any.
    pub idempotency_key: Option<IdempotencyKey>,
    /// The order as received.
    pub order: OrderRequest,
    /// Sandbox time when it was stored.
    pub created_at: Duration,
    /// Its fraud status now: `PENDING` for a token under
    /// [`FraudReview::Pending`](super::FraudReview::Pending) until decided
    /// ([`Sandbox::decide_fraud`](super::Sandbox::decide_fraud)), else
    /// `ACCEPTED`.
    pub fraud_status: OrderFraudStatus,
}

/// A request the sandbox received. Its `Debug` output hides the
/// `Authorization` header and shows tokens in the path by their last four
/// characters only.
///
/// A record keeps at most [`MAX_RECORDED_BYTES`] (8 KiB) of method, path
/// and headers, in that order; past that the rest is cut (at a character
/// boundary) and [`truncated`](Self::truncated) is `true`.
#[derive(Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RecordedRequest {
    /// The method, such as `POST`.
    pub method: String,
    /// The path, such as `/customer-token/v1/tokens/…/order`.
    pub path: String,
    /// The headers, names lowercased, in the order received.
    pub headers: Vec<(String, String)>,
    /// Whether the method, path or headers were cut to fit
    /// [`MAX_RECORDED_BYTES`].
    pub truncated: bool,
}

impl RecordedRequest {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RecordedRequest {
    /// The path with the token shown by its last four characters.
    pub(crate) fn redacted_path(&self) -> String {
        redact_path(&self.path)
    }

    /// The headers with the credentials replaced by `<redacted>`.
    pub(crate) fn redacted_headers(&self) -> Vec<(&str, &str)> {
        self.headers
            .iter()
            .map(|(n, v)| {
                if n == "authorization" || n == "proxy-authorization" {
                    (n.as_str(), "<redacted>")
                } else {
                    (n.as_str(), v.as_str())
                }
            })
            .collect()
    }
}

impl fmt::Debug for RecordedRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordedRequest")
            .field("method", &self.method)
            .field("path", &self.redacted_path())
            .field("headers", &self.redacted_headers())
            .field("truncated", &self.truncated)
            .finish()
    }
}

/// A path's text where a token stands, as a log may show it: by its last
/// four characters, or nothing for text shorter than eight. The rule of
/// [`CustomerToken::redacted`], for text that need not be a valid token (a
/// path may carry anything there); a unit test keeps the two in step.
fn redact_segment(segment: &str) -> String {
    let count = segment.chars().count();
    if count < 8 {
        return "…".to_owned();
    }
    let tail: String = segment.chars().skip(count - 4).collect();
    format!("…{tail}")
}

/// A path with the token shown by its last four characters: everything
/// between a route's text before its token and its text after is the
/// token; a path that starts like a route but ends otherwise is redacted
/// from there to its end.
pub(crate) fn redact_path(path: &str) -> String {
    let mut to_end = None;
    for (before, after) in Operation::ALL
        .into_iter()
        .filter_map(super::path::around_token)
    {
        let Some(rest) = path.strip_prefix(before) else {
            continue;
        };
        if after.is_empty() {
            to_end = Some((before, rest));
        } else if let Some(token) = rest.strip_suffix(after) {
            return format!("{before}{}{after}", redact_segment(token));
        }
    }
    match to_end {
        Some((before, rest)) => format!("{before}{}", redact_segment(rest)),
        None => path.to_owned(),
    }
}

/// Takes up to `budget` bytes of `text`, cut at a character boundary.
fn take(text: &str, budget: &mut usize, truncated: &mut bool) -> String {
    if text.len() <= *budget {
        *budget -= text.len();
        return text.to_owned();
    }
    *truncated = true;
    let mut end = *budget;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    *budget = 0;
    text[..end].to_owned()
}

/// The record of a request: at most [`MAX_RECORDED_BYTES`] of method, path
/// and headers.
pub(crate) fn record(parts: &http::request::Parts) -> RecordedRequest {
    let mut budget = MAX_RECORDED_BYTES;
    let mut truncated = false;
    let method = take(parts.method.as_str(), &mut budget, &mut truncated);
    let path = take(parts.uri.path(), &mut budget, &mut truncated);
    let mut headers = Vec::new();
    for (name, value) in &parts.headers {
        if budget == 0 {
            truncated = true;
            break;
        }
        let name = take(name.as_str(), &mut budget, &mut truncated);
        let value = take(
            &String::from_utf8_lossy(value.as_bytes()),
            &mut budget,
            &mut truncated,
        );
        headers.push((name, value));
    }
    RecordedRequest {
        method,
        path,
        headers,
        truncated,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_keeps_at_most_the_budget_cut_at_a_character() {
        let mut request = http::Request::get("/é".repeat(3000));
        for i in 0..20 {
            request = request.header(format!("x-{i}"), "ü".repeat(400));
        }
        let (parts, ()) = request.body(()).expect("request").into_parts();
        let record = record(&parts);
        let size = record.method.len()
            + record.path.len()
            + record
                .headers
                .iter()
                .map(|(n, v)| n.len() + v.len())
                .sum::<usize>();
        assert!(size <= MAX_RECORDED_BYTES);
        assert!(record.truncated);
        assert!(record.headers.is_empty(), "the path took the budget");
    }
    #[test]
    fn a_segment_is_redacted_as_the_client_redacts_a_token() {
        for token in [
            "short",
            "1234567",
            "12345678",
            "secret-token-1234",
            "tøken-€üxyz",
        ] {
            let valid = CustomerToken::new(token).expect("a valid token");
            assert_eq!(redact_segment(token), valid.redacted(), "{token}");
        }
    }

    #[test]
    fn a_path_shows_its_token_by_its_last_four_characters() {
        let prefix = "/customer-token/v1/tokens/";
        for (path, shown) in [
            (
                format!("{prefix}secret-token-1234"),
                format!("{prefix}…1234"),
            ),
            (
                format!("{prefix}secret-token-1234/order"),
                format!("{prefix}…1234/order"),
            ),
            (
                format!("{prefix}secret-token-1234/status"),
                format!("{prefix}…1234/status"),
            ),
            (
                format!("{prefix}a/b/secret-9876/order"),
                format!("{prefix}…9876/order"),
            ),
            (
                format!("{prefix}secret-token-5678/other"),
                format!("{prefix}…ther"),
            ),
            (
                "/elsewhere/secret".to_owned(),
                "/elsewhere/secret".to_owned(),
            ),
        ] {
            assert_eq!(redact_path(&path), shown, "{path}");
        }
    }
}
