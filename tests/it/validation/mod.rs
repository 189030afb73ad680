//! Integration tests of order validation through the public API, by topic:
//! the seed's example order, every schema constraint, Klarna's arithmetic,
//! the builders, extreme inputs, `from_json` errors, and property tests.

mod arithmetic;
mod builders;
mod extremes;
mod from_json;
mod oracle;
mod properties;
mod regressions;
mod schema;
mod seed;
