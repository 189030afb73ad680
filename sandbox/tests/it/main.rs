//! The sandbox, end to end, one binary by topic: the client crate's own
//! client where it can produce the input, raw HTTP (reqwest) or raw TCP
//! where it cannot, and the `klarna-sandbox` binary (`binary`). What the
//! topics share (time bounds, clients, orders, raw exchanges, a
//! notification receiver) is in `support`.

mod support;

mod admin;
mod auth;
mod bad_input;
mod binary;
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
