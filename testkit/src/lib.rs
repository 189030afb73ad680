//! Test servers shared by the integration tests (`tests/`) and the memory
//! examples (`benches/examples/`) of `klarna-customer-token`, so that
//! neither includes the other's files. Not published.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod hostile;
