//! The generator's tests, one binary with a module per topic:
//! `normalize` (the normalization step against the quirks of Klarna's
//! description, and the generated code) and `variants` (a family of
//! variants of the description, and the `update-spec` tool end to end).

mod normalize;
mod variants;
