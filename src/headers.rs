//! The header names the API uses, written once: the client and the sandbox
//! read and write them through these constants. HTTP header names are
//! case-insensitive; these are the lowercase forms `http` stores.

/// The create-order idempotency key (`Klarna-Idempotency-Key`); the client
/// sends it through the generated code, which takes the name from the description.
#[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
pub(crate) const IDEMPOTENCY_KEY: &str = "klarna-idempotency-key";
/// The id Klarna gives every answer, quoted to its support
/// (`Klarna-Correlation-Id`).
pub(crate) const CORRELATION_ID: &str = "klarna-correlation-id";
/// How long to wait before the next request (`Retry-After`).
pub(crate) const RETRY_AFTER: &str = "retry-after";
/// The requests allowed per window (`X-Ratelimit-Limit`).
#[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
pub(crate) const RATELIMIT_LIMIT: &str = "x-ratelimit-limit";
/// The requests left in the window (`X-Ratelimit-Remaining`).
#[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
pub(crate) const RATELIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Seconds until the window resets (`X-Ratelimit-Reset`).
pub(crate) const RATELIMIT_RESET: &str = "x-ratelimit-reset";
