//! JSON Schemas of the request and response types (feature `schemars`).

use std::collections::BTreeMap;

use schemars::SchemaGenerator;

/// The JSON Schema of every request and response body the facade sends or
/// reads, by the schema names of Klarna's API description
/// (`customer_token_order`, `order_line`, `customer_token`, `order`, …),
/// with every nested schema under its own name.
///
/// Open string sets (statuses, types, codes) are `{"type": "string"}` with
/// the values this version knows under `x-open-enum`: any other string is
/// accepted too.
///
/// ```
/// let schemas = klarna_customer_token::json_schemas();
/// let line = &schemas["order_line"];
/// assert_eq!(line["properties"]["name"]["maxLength"], 255);
/// ```
pub fn json_schemas() -> BTreeMap<String, serde_json::Value> {
    let mut generator = SchemaGenerator::default();
    // Each call registers the type and everything it contains under
    // `definitions`; the returned references are not needed.
    let _ = generator.subschema_for::<crate::OrderRequest>();
    let _ = generator.subschema_for::<crate::TokenDetails>();
    let _ = generator.subschema_for::<crate::order::OrderBody>();
    let _ = generator.subschema_for::<crate::token::CancelRequest>();
    generator
        .definitions()
        .iter()
        .map(|(name, schema)| (name.clone(), schema.clone()))
        .collect()
}
