//! Reading a request body: JSON only, within [`MAX_BODY_BYTES`] and the
//! body-read timeout.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::Incoming;

use super::MAX_BODY_BYTES;
use super::answer::Answer;
use super::answer::codes;
use super::canonical;
use super::state::Shared;
use klarna_customer_token::ErrorCode;

/// How much of a too-large body is read (and dropped) so that the client,
/// still sending, receives the 413 rather than a reset connection.
const DRAIN_CAP: usize = 8 * MAX_BODY_BYTES;
/// How long a client that stops sending a too-large body waits for its 413.
const DRAIN_PAUSE: Duration = Duration::from_secs(1);

/// The answer to a body that is not one JSON document.
pub(crate) fn malformed(e: &serde_json::Error, correlation_id: &str) -> Answer {
    Answer::error_one(
        400,
        ErrorCode::BadRequest,
        format!("The body is not valid JSON: {e}"),
        correlation_id,
    )
}

/// Reads a JSON request body, within the size limit, to the digest of its
/// canonical form.
pub(crate) async fn read_json(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Result<canonical::Digest, Answer> {
    let raw = read_body(shared, parts, body, correlation_id).await?;
    canonical::digest(&raw).map_err(|e| malformed(&e, correlation_id))
}

/// Reads a request body that must be JSON, within the size limit and the
/// body-read timeout.
pub(crate) async fn read_body(
    shared: &Shared,
    parts: &http::request::Parts,
    body: Incoming,
    correlation_id: &str,
) -> Result<Bytes, Answer> {
    check_content_type(&parts.headers, correlation_id)?;
    let declared_too_large = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|length| length > MAX_BODY_BYTES as u64);
    let (collected, seen) = collect(shared, body, declared_too_large, correlation_id).await?;
    if declared_too_large || seen > MAX_BODY_BYTES {
        return Err(Answer::error_one(
            413,
            ErrorCode::PayloadTooLarge,
            format!("The body is larger than {MAX_BODY_BYTES} bytes"),
            correlation_id,
        ));
    }
    Ok(Bytes::from(collected))
}

/// Refuses a content type that is not JSON.
fn check_content_type(headers: &http::HeaderMap, correlation_id: &str) -> Result<(), Answer> {
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if media_type == "application/json" {
        return Ok(());
    }
    Err(Answer::error_one(
        400,
        ErrorCode::BadRequest,
        format!("The content type must be application/json, got {content_type:?}"),
        correlation_id,
    ))
}

/// Reads the body's frames: the bytes kept (none once past the size
/// limit) and how many arrived. A body larger than the limit is read on,
/// up to [`DRAIN_CAP`], and a client that stops sending one gets its 413
/// after [`DRAIN_PAUSE`].
async fn collect(
    shared: &Shared,
    mut body: Incoming,
    declared_too_large: bool,
    correlation_id: &str,
) -> Result<(Vec<u8>, usize), Answer> {
    // Real time: the sandbox clock does not move it.
    let deadline = tokio::time::Instant::now() + shared.body_read_timeout;
    let mut collected: Vec<u8> = Vec::new();
    let mut seen = 0usize;
    loop {
        let draining = declared_too_large || seen > MAX_BODY_BYTES;
        let wait_until = if draining {
            deadline.min(tokio::time::Instant::now() + DRAIN_PAUSE)
        } else {
            deadline
        };
        let frame = match tokio::time::timeout_at(wait_until, body.frame()).await {
            Ok(frame) => frame,
            Err(_) if draining => break,
            Err(_) => return Err(timed_out(shared.body_read_timeout, correlation_id)),
        };
        let Some(frame) = frame else { break };
        let Ok(frame) = frame else {
            return Err(Answer::error_one(
                400,
                ErrorCode::BadRequest,
                "The body could not be read",
                correlation_id,
            ));
        };
        if let Ok(data) = frame.into_data() {
            seen = seen.saturating_add(data.len());
            if seen <= MAX_BODY_BYTES {
                collected.extend_from_slice(&data);
            } else {
                collected = Vec::new();
                if seen > DRAIN_CAP {
                    break;
                }
            }
        }
    }
    Ok((collected, seen))
}

/// The 408 to a body that did not arrive in time; the connection closes.
pub(crate) fn timed_out(timeout: Duration, correlation_id: &str) -> Answer {
    Answer::error_one(
        408,
        ErrorCode::from(codes::REQUEST_TIMEOUT),
        format!("The body did not arrive within {} ms", timeout.as_millis()),
        correlation_id,
    )
    .closing()
}
