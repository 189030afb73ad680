//! The `klarna-token` binary's tests, one binary with a module per topic:
//! `read` (read, cancel, order, validate and their output), `batch` (the
//! journaled batch and `notify`), and `support` (running the binary).

mod batch;
mod read;
mod support;
