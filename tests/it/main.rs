//! The client's integration tests, one binary by topic: each module is one
//! topic, and `support` holds what they share (credentials, the orders,
//! log capture, the error checks and the validation helpers).
//!
//! Tests talk only to servers they start on 127.0.0.1: `httpmock`, the
//! testkit's hostile server, and the sandbox crate
//! (`klarna-customer-token-sandbox`, a dev-dependency).

mod support;

mod billing;
mod charge_model;
mod drift;
mod errors;
mod hostile;
mod http;
mod logs;
mod real_orders;
mod retry_safety;
mod validation;
