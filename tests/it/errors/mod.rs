//! How every failure Klarna (or a gateway, or the network) can produce
//! reaches the caller: the `Error` variant, its status, code, messages,
//! correlation id, raw body, retryability, order outcome, idempotency key and
//! attempt count — and that nothing it shows leaks the token or the
//! credentials.
//!
//! Every test runs against a local `httpmock` server on 127.0.0.1.

mod codes;
mod display;
mod messages;
mod network;
mod redaction;
mod retries;
mod statuses;
mod success;
