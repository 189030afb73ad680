//! Support shared by the benchmarks of `klarna-customer-token` and its
//! memory example: a minimal loopback HTTP server, the raw side the facade
//! is measured against, and a memory reading.

pub mod proc_memory;
pub mod raw;
pub mod server;
