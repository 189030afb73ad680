//! The names of the headers Klarna's Customer Token API uses, written once:
//! the client reads and writes them through these constants, and so does the
//! sandbox crate (`klarna-customer-token-sandbox`). HTTP header names are
//! case-insensitive; these are the lowercase forms the `http` crate stores.
//!
//! ```
//! use klarna_customer_token::headers;
//!
//! assert_eq!(headers::CORRELATION_ID, "klarna-correlation-id");
//! ```

/// The create-order idempotency key (`Klarna-Idempotency-Key`); the client
/// sends it through the generated code, which takes the name from the
/// description (a unit test checks that the two agree).
pub const IDEMPOTENCY_KEY: &str = "klarna-idempotency-key";
/// The id Klarna gives every answer, quoted to its support
/// (`Klarna-Correlation-Id`).
pub const CORRELATION_ID: &str = "klarna-correlation-id";
/// How long to wait before the next request (`Retry-After`).
pub const RETRY_AFTER: &str = "retry-after";
/// The requests allowed per window (`X-Ratelimit-Limit`).
pub const RATELIMIT_LIMIT: &str = "x-ratelimit-limit";
/// The requests left in the window (`X-Ratelimit-Remaining`).
pub const RATELIMIT_REMAINING: &str = "x-ratelimit-remaining";
/// Seconds until the window resets (`X-Ratelimit-Reset`).
pub const RATELIMIT_RESET: &str = "x-ratelimit-reset";
