#![cfg(feature = "sandbox")]
//! The in-memory sandbox (`klarna_customer_token::sandbox`), end to end:
//! the crate's own client where it can produce the input, raw HTTP
//! (reqwest) or raw TCP where it cannot. One topic per file under
//! `tests/sandbox/`; the helpers they share are in `tests/common/`.

mod common;

mod sandbox {
    mod admin;
    mod auth;
    mod bad_input;
    mod connections;
    mod faults;
    mod idempotency;
    mod inspection;
    mod lifecycle;
    mod limits;
    mod pending;
    mod rate_limit;
    mod seed;
    mod steer;
    mod token_state;
    mod validation;
}
