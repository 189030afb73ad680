//! The raw bindings progenitor generates from `openapi/` at build time.
//!
//! Private: the facade owns every public name. The request body and every
//! response body use the facade's own types (see `build.rs`), so no response
//! is decoded through a generated exhaustive enum.

#![allow(
    dead_code,
    unused_imports,
    unused_mut,
    unreachable_pub,
    missing_docs,
    missing_debug_implementations,
    clippy::all,
    clippy::pedantic
)]

include!(concat!(env!("OUT_DIR"), "/generated.rs"));
