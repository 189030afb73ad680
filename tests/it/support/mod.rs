//! What the client's test topics share. Each topic uses a part of it.

pub(crate) mod capture;
pub(crate) mod errors;
pub(crate) mod fixtures;
pub(crate) mod validation;
