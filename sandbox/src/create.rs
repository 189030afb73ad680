//! Create-order: the body, its idempotency key, and the one step that
//! checks the token, validates the order and stores it.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;

use super::answer::Answer;
use super::body::{malformed, read_body};
use super::canonical;
use super::state::{KeyStart, Shared};
use super::{auth, canonical::Digest};
use klarna_customer_token::ErrorCode;
use klarna_customer_token::IdempotencyKey;
use klarna_customer_token::headers::IDEMPOTENCY_KEY;

/// A create-order request, authenticated, with its body still to read.
pub(crate) struct Request<'a> {
    pub(crate) parts: &'a http::request::Parts,
    /// The `Authorization` value, which scopes the idempotency key.
    pub(crate) authorization: &'a str,
    pub(crate) token: &'a str,
    /// An injected delay to wait once the key is claimed.
    pub(crate) delay_before: Option<Duration>,
    pub(crate) correlation_id: &'a str,
}

/// Answers a create-order request.
pub(crate) async fn create(shared: &Arc<Shared>, request: Request<'_>, body: Incoming) -> Answer {
    let correlation_id = request.correlation_id;
    let raw = match read_body(shared, request.parts, body, correlation_id).await {
        Ok(raw) => raw,
        Err(answer) => return answer,
    };
    // All an idempotency key keeps of the body: the digest of its canonical
    // form, every field counted, unknown ones too.
    let digest = match canonical::digest(&raw) {
        Ok(digest) => digest,
        Err(e) => return malformed(&e, correlation_id),
    };
    let order =
        klarna_customer_token::OrderRequest::from_json(&raw).map_err(|e| match e.validation() {
            Some(violations) => violations.to_string(),
            None => e.to_string(),
        });
    let Some(raw_key) = request.parts.headers.get(IDEMPOTENCY_KEY) else {
        return shared.create_order(request.token, order, digest, None, correlation_id);
    };
    // The key as the crate's type, by the crate's rule: anything the client
    // would not send is refused, not stored as something else. Bytes that
    // are not UTF-8 become U+FFFD, which that rule refuses as a character.
    let key = match IdempotencyKey::new(String::from_utf8_lossy(raw_key.as_bytes())) {
        Ok(key) => key,
        Err(e) => {
            return Answer::error_one(
                400,
                ErrorCode::BadRequest,
                format!("Klarna-Idempotency-Key: {}", e.message()),
                correlation_id,
            );
        }
    };
    keyed(shared, &request, order, digest, key).await
}

/// Answers a create-order request with a key: a replay, a mismatch, or
/// the order processed once while the key is held.
async fn keyed(
    shared: &Arc<Shared>,
    request: &Request<'_>,
    order: Result<klarna_customer_token::OrderRequest, String>,
    digest: Digest,
    key: IdempotencyKey,
) -> Answer {
    // Scoped by the credentials (whatever the scheme's case), the token and
    // the key.
    let credentials =
        auth::basic_credentials(request.authorization).unwrap_or(request.authorization);
    let id = canonical::digest_parts(&[
        credentials.as_bytes(),
        request.token.as_bytes(),
        key.as_str().as_bytes(),
    ]);
    loop {
        match shared.begin_key(id, digest) {
            KeyStart::Replay(answer) => return answer,
            KeyStart::Mismatch => {
                return Answer::error_one(
                    409,
                    ErrorCode::IdempotencyKeyMismatch,
                    "This idempotency key was used with a different request body",
                    request.correlation_id,
                );
            }
            KeyStart::Wait(mut done) => {
                // Wakes when the first request finishes or is abandoned;
                // then look again.
                let _ = done.wait_for(|finished| *finished).await;
            }
            KeyStart::Fresh(guard) => {
                // Delayed while holding the key: a repeat now waits for it.
                if let Some(delay) = request.delay_before {
                    tokio::time::sleep(delay).await;
                }
                return shared.create_order(
                    request.token,
                    order,
                    digest,
                    Some((guard, key)),
                    request.correlation_id,
                );
            }
        }
    }
}
