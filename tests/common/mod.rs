//! Helpers the integration tests share. Each test crate declares `mod common;`
//! and uses a part of them, so the unused rest is allowed.
#![allow(dead_code)]

pub mod capture;
pub mod fixtures;
#[cfg(feature = "sandbox")]
pub mod receiver;
#[cfg(feature = "sandbox")]
pub mod sandbox;
