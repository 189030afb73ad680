//! Build-time code generation for `klarna-customer-token`.
//!
//! The facade's build script reads the vendored OpenAPI description, checks
//! and normalizes it ([`normalize`]) and hands its canonical form to
//! progenitor ([`codegen`]). The facade's drift guards and the `update-spec`
//! maintainer tool compare descriptions, and a description with the
//! facade's own types, through one structural model ([`structure`]).
//!
//! Features: `generate` (progenitor; what the build script needs) and
//! `update-spec` (the binary, on by default). Without them, only
//! [`normalize`] and [`structure`] are built, with `serde_json` and
//! `serde_norway`.
//!
//! ```
//! use klarna_customer_token_codegen::{normalize, structure};
//!
//! let doc = normalize::load(br#"{
//!     "openapi": "3.0.0",
//!     "info": { "title": "t", "version": "1" },
//!     "paths": { "/a": { "get": { "operationId": "a", "responses": {} } } }
//! }"#).expect("usable");
//! assert_eq!(doc["openapi"], "3.0.3");
//! let api = structure::from_openapi(&doc);
//! assert_eq!(api.operations["a"].path, "/a");
//! ```

#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "generate")]
pub mod codegen;
pub mod normalize;
pub mod structure;
