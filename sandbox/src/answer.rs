//! The answers the sandbox sends: their status, headers and body, and the
//! error body every JSON error shares.

use bytes::Bytes;
use http::{HeaderValue, Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;

/// The error codes only the sandbox sends (for HTTP-level refusals Klarna's
/// documents give no code for); the client reads them as
/// `ErrorCode::Unknown` and decides by the status.
pub(super) mod codes {
    /// 408: the request body did not arrive in time.
    pub(crate) const REQUEST_TIMEOUT: &str = "REQUEST_TIMEOUT";
    /// 414: a request line the sandbox cannot take.
    pub(crate) const URI_TOO_LONG: &str = "URI_TOO_LONG";
    /// 431: more than 64 KiB of request line and headers.
    pub(crate) const REQUEST_HEADER_FIELDS_TOO_LARGE: &str = "REQUEST_HEADER_FIELDS_TOO_LARGE";
}

use klarna_customer_token::ErrorCode;

/// The content type of every JSON answer.
const JSON: &str = "application/json";

/// An answer, kept so that it can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    /// The `Allow` header of a 405.
    pub(crate) allow: Option<&'static str>,
    /// Whether the connection closes after this answer.
    pub(crate) close: bool,
    pub(crate) body: Bytes,
}

/// Klarna's error body (`ErrorV2`) as the sandbox writes it. The fields
/// are in the order `serde_json` sorts them.
#[derive(Serialize)]
pub(crate) struct ErrorBody<'a> {
    pub(crate) correlation_id: &'a str,
    pub(crate) error_code: &'a ErrorCode,
    pub(crate) error_messages: Vec<String>,
}

impl ErrorBody<'_> {
    /// The body as JSON.
    pub(crate) fn to_bytes(&self) -> Bytes {
        to_json(self).unwrap_or_default()
    }
}

/// A value as JSON; `None` only for a value `serde_json` cannot write (a
/// map with keys that are not strings), which no sandbox type is.
fn to_json<T: Serialize + ?Sized>(value: &T) -> Option<Bytes> {
    serde_json::to_vec(value).ok().map(Bytes::from)
}

impl Answer {
    /// A JSON answer with this status and body.
    pub(crate) fn json<T: Serialize + ?Sized>(status: u16, body: &T) -> Self {
        match to_json(body) {
            Some(body) => Self {
                content_type: Some(JSON),
                body,
                ..Self::empty(status)
            },
            None => Self::empty(500),
        }
    }

    /// A Klarna-style error body, with at most [`MAX_ERROR_TEXT`] bytes of
    /// messages (see [`bound_messages`]).
    pub(crate) fn error(
        status: u16,
        code: ErrorCode,
        messages: Vec<String>,
        correlation_id: &str,
    ) -> Self {
        Self::json(
            status,
            &ErrorBody {
                correlation_id,
                error_code: &code,
                error_messages: bound_messages(messages),
            },
        )
    }

    /// An error with one message.
    pub(crate) fn error_one(
        status: u16,
        code: ErrorCode,
        message: impl Into<String>,
        correlation_id: &str,
    ) -> Self {
        Self::error(status, code, vec![message.into()], correlation_id)
    }

    /// A 405 naming the methods the path takes.
    pub(crate) fn wrong_method(allow: &'static str, correlation_id: &str) -> Self {
        let mut answer = Self::error_one(
            405,
            ErrorCode::MethodNotAllowed,
            format!("Use {allow} on this path"),
            correlation_id,
        );
        answer.allow = Some(allow);
        answer
    }

    /// The same answer, closing the connection after it.
    pub(crate) fn closing(mut self) -> Self {
        self.close = true;
        self
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            allow: None,
            close: false,
            body: Bytes::new(),
        }
    }

    /// The HTTP response, with the correlation id every answer carries.
    pub(crate) fn into_response(self, correlation_id: &str) -> Response<Full<Bytes>> {
        let mut response = Response::new(Full::new(self.body));
        *response.status_mut() =
            StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let headers = response.headers_mut();
        if let Some(content_type) = self.content_type {
            headers.insert(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(content_type),
            );
        }
        if let Some(allow) = self.allow {
            headers.insert(http::header::ALLOW, HeaderValue::from_static(allow));
        }
        if self.close {
            headers.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        }
        set_correlation(&mut response, correlation_id);
        response
    }
}

/// Sets the `Klarna-Correlation-Id` header.
pub(crate) fn set_correlation<B>(response: &mut Response<B>, correlation_id: &str) {
    if let Ok(value) = HeaderValue::from_str(correlation_id) {
        response
            .headers_mut()
            .insert(klarna_customer_token::headers::CORRELATION_ID, value);
    }
}

/// How many bytes of messages one error answer lists. A hostile order can
/// break thousands of rules; its answer would be replayed from the
/// idempotency store, so it must stay small.
pub(crate) const MAX_ERROR_TEXT: usize = 4 * 1024;

/// The messages that fit in [`MAX_ERROR_TEXT`] bytes (as JSON strings),
/// cut at a whole message (a first message too long on its own is cut at a
/// character), and a last one that says how many were left out.
fn bound_messages(mut messages: Vec<String>) -> Vec<String> {
    let mut used = 0usize;
    let fit = messages
        .iter()
        .position(|m| {
            // The quotes and the comma.
            used = used.saturating_add(m.len() + 3);
            used > MAX_ERROR_TEXT
        })
        .unwrap_or(messages.len());
    if fit == messages.len() {
        return messages;
    }
    let mut left_out = messages.len() - fit;
    messages.truncate(fit.max(1));
    if fit == 0
        && let Some(first) = messages.first_mut()
    {
        let mut end = MAX_ERROR_TEXT.min(first.len());
        while !first.is_char_boundary(end) {
            end -= 1;
        }
        first.truncate(end);
        first.push_str("...");
        left_out -= 1;
    }
    messages.push(if left_out == 0 {
        format!("(cut: the sandbox lists at most {MAX_ERROR_TEXT} bytes of messages)")
    } else {
        format!(
            "... and {left_out} more (the sandbox lists at most {MAX_ERROR_TEXT} bytes of messages)"
        )
    });
    messages
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[test]
    fn an_error_body_is_klarna_s_with_sorted_keys() {
        let answer = Answer::error_one(404, ErrorCode::TokenNotFound, "gone", "corr");
        assert_eq!(
            std::str::from_utf8(&answer.body).expect("text"),
            r#"{"correlation_id":"corr","error_code":"TOKEN_NOT_FOUND","error_messages":["gone"]}"#
        );
        assert_eq!(answer.content_type, Some(JSON));
    }

    #[test]
    fn an_error_answer_lists_at_most_4_kib_of_messages() {
        let messages: Vec<String> = (0..3000).map(|i| format!("line {i}: wrong")).collect();
        let answer = Answer::error(400, ErrorCode::BadValue, messages, "corr");
        assert!(
            answer.body.len() < MAX_ERROR_TEXT + 512,
            "{}",
            answer.body.len()
        );
        let body: Value = serde_json::from_slice(&answer.body).expect("json");
        let listed = body["error_messages"].as_array().expect("messages");
        assert_eq!(listed[0], "line 0: wrong");
        let last = listed.last().and_then(Value::as_str).expect("a note");
        let kept = listed.len() - 1;
        assert!(
            last.starts_with(&format!("... and {} more", 3000 - kept)),
            "{last}"
        );
        // One message too long on its own is cut.
        let long = Answer::error(400, ErrorCode::BadValue, vec!["é".repeat(5000)], "corr");
        assert!(
            long.body.len() < MAX_ERROR_TEXT + 512,
            "{}",
            long.body.len()
        );
        let body: Value = serde_json::from_slice(&long.body).expect("json");
        let listed = body["error_messages"].as_array().expect("messages");
        assert_eq!(listed.len(), 2);
        assert!(listed[0].as_str().is_some_and(|m| m.ends_with("...")));
        assert!(listed[1].as_str().is_some_and(|m| m.starts_with("(cut: ")));
        // Few messages are listed as they are.
        let few = Answer::error(
            400,
            ErrorCode::BadValue,
            vec!["a".into(), "b".into()],
            "corr",
        );
        let body: Value = serde_json::from_slice(&few.body).expect("json");
        assert_eq!(body["error_messages"], json!(["a", "b"]));
    }
}
