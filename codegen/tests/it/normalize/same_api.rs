//! The decisive test (the Klarna-shaped fixture and our description are the same API), the
//! structural diff, and idempotence.

use super::*;

// ---------------------------------------------------------------------------
// The decisive test: the same API
// ---------------------------------------------------------------------------

/// Klarna's description (in its shape) and ours describe the same API:
/// operations, parameters, schemas, properties, required-ness, constraints
/// and enums are equal once both are normalized.
#[test]
fn the_klarna_shaped_fixture_and_our_description_have_the_same_structure() {
    let (klarna, ours) = (klarna(), ours());
    assert_eq!(differences(&klarna, &ours), Vec::<String>::new());
    // The spec-update diff also lists servers and responses: the two differ
    // only in the hosts and the error bodies the fixture leaves out, as
    // Klarna's file does. (Before responses were part of the diff, it was
    // empty here; before servers were, normalization added every host to
    // both.)
    let diff: Vec<String> = structure::diff(
        &structure::from_openapi(&klarna),
        &structure::from_openapi(&ours),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    let no_body = |id: &str, status: &str| {
        format!(
            "operation {id}: response {status}: no body in the vendored, \
             application/json ref ErrorV2 in the new"
        )
    };
    let only_ours = |host: &str| format!("servers: https://{host} only in the new");
    assert_eq!(
        diff,
        [
            only_ours("api-na.klarna.com"),
            only_ours("api-na.playground.klarna.com"),
            only_ours("api-oc.klarna.com"),
            only_ours("api-oc.playground.klarna.com"),
            only_ours("api.kustom.co"),
            only_ours("api.playground.klarna.com"),
            only_ours("api.playground.kustom.co"),
            no_body("createOrder", "403"),
            no_body("createOrder", "404"),
            no_body("createOrder", "409"),
            no_body("patchCustomerToken", "400"),
            no_body("patchCustomerToken", "403"),
            no_body("patchCustomerToken", "404"),
            no_body("readCustomerToken", "403"),
            no_body("readCustomerToken", "404"),
        ]
    );
    // ...and they generate the same code.
    assert_eq!(generate(&klarna), generate(&ours));

    let api = structure::from_openapi(&klarna);
    let ours_api = structure::from_openapi(&ours);
    assert_eq!(api.operations, ours_api.operations);
    assert_eq!(api.schemas, ours_api.schemas);
    assert_eq!(api.version, ours_api.version);
    // What was compared is the whole API, not an empty model.
    let operations: Vec<(&str, &str, &str)> = api
        .operations
        .iter()
        .map(|(id, op)| (id.as_str(), op.method.as_str(), op.path.as_str()))
        .collect();
    assert_eq!(
        operations,
        [
            ("createOrder", "POST", ORDER_PATH),
            ("patchCustomerToken", "PATCH", STATUS_PATH),
            ("readCustomerToken", "GET", TOKEN_PATH),
        ]
    );
    assert_eq!(
        api.operations["createOrder"].parameters,
        [
            ("header:klarna-idempotency-key".to_owned(), false),
            ("path:customerToken".to_owned(), true),
        ]
        .into_iter()
        .collect()
    );
    let schemas: BTreeSet<&str> = api.schemas.keys().map(String::as_str).collect();
    let expected: BTreeSet<&str> = SCHEMAS
        .iter()
        .copied()
        .filter(|s| *s != "ErrorV2")
        .collect();
    assert_eq!(schemas, expected);
    let name = &api.schemas["order_line"].properties["name"];
    assert_eq!(
        (name.required, name.constraints.len()),
        (true, 2),
        "minLength 1 and maxLength 255"
    );
    // `minLength: 0` is no constraint: the fixture declares it, ours does not.
    assert!(
        api.schemas["customer_token"].properties["status"]
            .constraints
            .is_empty()
    );

    // Normalization itself does not change the structure.
    assert_eq!(structure::from_openapi(&klarna_raw()), api);
}

#[test]
fn error_body_schemas_are_not_part_of_the_structure() {
    for doc in [klarna(), ours()] {
        assert!(
            !structure::from_openapi(&doc)
                .schemas
                .contains_key("ErrorV2")
        );
    }

    // Changing ErrorV2 changes nothing structural...
    let mut changed = klarna();
    let error = changed
        .pointer_mut("/components/schemas/ErrorV2")
        .and_then(Value::as_object_mut)
        .expect("ErrorV2");
    error.insert(
        "required".to_owned(),
        json!(["error_code", "error_message"]),
    );
    error["properties"]["error_message"] = json!({ "type": "string", "maxLength": 10 });
    assert_eq!(differences(&changed, &ours()), Vec::<String>::new());

    // ...while the same kind of change to a success body is seen.
    let mut changed = klarna();
    changed["components"]["schemas"]["order"]["properties"]["extra"] = json!({ "type": "string" });
    changed["components"]["schemas"]["order"]["required"] = json!(["fraud_status", "order_id"]);
    assert_eq!(
        differences(&changed, &ours()),
        [
            "order.extra: field only in the fixture",
            "order.redirect_url: optional in the fixture, required in the ours",
        ]
    );
}

/// The comparison is not vacuous: a changed constraint, parameter or enum
/// value in the Klarna-shaped description is reported.
#[test]
fn structural_changes_are_reported() {
    let base = klarna();
    let mut changed = base.clone();
    changed["components"]["schemas"]["order_line"]["properties"]["name"]["maxLength"] = json!(254);
    changed["components"]["schemas"]["order_line"]["properties"]["type"]["enum"]
        .as_array_mut()
        .expect("enum")
        .push(json!("return_fee"));
    changed["paths"][ORDER_PATH]["post"]["parameters"][1]["required"] = json!(true);
    changed["paths"][TOKEN_PATH]["get"]["responses"]["429"] = json!({ "description": "slow down" });
    changed["paths"][TOKEN_PATH]["get"]["responses"]["403"]["content"] = json!({
        "application/json": { "schema": { "$ref": "#/components/schemas/ErrorV2" } }
    });
    changed["paths"][STATUS_PATH]["patch"]["responses"]
        .as_object_mut()
        .expect("responses")
        .remove("404");
    // The fixture's one server becomes another (a trailing slash is the
    // same host).
    changed["servers"] = json!([
        { "url": "https://api.klarna.com/" },
        { "url": "https://api-na.klarna.com" }
    ]);
    let changes: Vec<String> = structure::diff(
        &structure::from_openapi(&base),
        &structure::from_openapi(&changed),
    )
    .iter()
    .map(ToString::to_string)
    .collect();
    assert_eq!(
        changes,
        [
            "servers: https://api-na.klarna.com only in the new",
            "operation createOrder: parameter header:klarna-idempotency-key optional in the vendored, required in the new",
            "operation patchCustomerToken: response 404 only in the vendored (no body)",
            "operation readCustomerToken: response 403: no body in the vendored, application/json ref ErrorV2 in the new",
            "operation readCustomerToken: response 429 only in the new (no body)",
            "order_line.name: maxLength 255 in the vendored, 254 in the new",
            "order_line.type: enum values only in the new: return_fee",
        ]
    );
}

// ---------------------------------------------------------------------------
// Idempotence
// ---------------------------------------------------------------------------

#[test]
fn normalize_is_idempotent() {
    for (name, raw) in [
        ("fixture", klarna_raw()),
        (
            "fixture as UTF-8",
            normalize::parse(&normalize::decode_text(&fixture_as_utf8())).expect("parses"),
        ),
        (
            "ours",
            normalize::parse(&normalize::decode_text(OURS)).expect("parses"),
        ),
    ] {
        let mut once = raw.clone();
        normalize::normalize(&mut once);
        let mut twice = once.clone();
        let notes = normalize::normalize(&mut twice);
        assert_eq!(
            notes,
            Vec::<String>::new(),
            "{name}: nothing left to change"
        );
        assert_eq!(twice, once, "{name}");
    }
    // The Klarna-shaped fixture needed every kind of change.
    let notes = normalize::normalize(&mut klarna_raw());
    for expected in ["3.0.3", "Basic", "description"] {
        assert!(
            notes.iter().any(|n| n.contains(expected)),
            "{expected:?} in {notes:?}"
        );
    }
}
