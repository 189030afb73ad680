//! Support shared by the benchmarks of `klarna-customer-token` and its
//! memory example: a minimal loopback HTTP server and a memory reading.

pub mod proc_memory;
pub mod server;
