//! Reading a file: its shape, YAML and JSON, bytes, versions, operation ids and control
//! characters.

use super::*;

// ---------------------------------------------------------------------------
// The fixture itself
// ---------------------------------------------------------------------------

/// The fixture has the shape this file claims; otherwise the tests below
/// would prove nothing about Klarna's quirks.
#[test]
fn fixture_has_the_shape_of_klarnas_file() {
    assert!(
        FIXTURE
            .utf8_chunks()
            .any(|chunk| !chunk.invalid().is_empty()),
        "the fixture must hold a byte that is not valid UTF-8"
    );
    assert!(FIXTURE.contains(&0x92), "a raw Windows-1252 0x92 byte");

    let doc = klarna_raw();
    assert_eq!(doc["openapi"], "3.0.0");
    assert_eq!(doc["info"]["title"], "Klarna Payments API V1");
    assert_eq!(doc["info"]["version"], "1.0.0");
    assert_eq!(
        doc["servers"],
        json!([{
            "url": "https://api.klarna.com",
            "description": "Production (Europe)"
        }])
    );
    assert!(doc.pointer("/components/securitySchemes").is_none());
    assert!(doc.get("security").is_none());

    let schemas: BTreeSet<&str> = doc["components"]["schemas"]
        .as_object()
        .expect("schemas")
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(schemas, SCHEMAS.iter().copied().collect());

    for (id, method, path) in OPERATIONS {
        let (p, m, op) = operation(&doc, id);
        assert_eq!((p, m), (*path, *method), "{id}");
        assert!(
            op["parameters"]
                .as_array()
                .expect("inline parameters")
                .iter()
                .any(|p| p["name"] == "customerToken" && p["in"] == "path"),
            "{id} declares customerToken inline"
        );
        if let Some(body) = op.get("requestBody") {
            assert!(body.get("required").is_none(), "{id}: body not required");
        }
    }

    // Which responses carry a body: Klarna's mix.
    let with_body = |id: &str| -> Vec<(String, bool)> {
        responses(&doc, id)
            .iter()
            .map(|(code, r)| (code.clone(), r.get("content").is_some()))
            .collect()
    };
    let expect = |pairs: &[(&str, bool)]| -> Vec<(String, bool)> {
        pairs.iter().map(|(c, b)| ((*c).to_owned(), *b)).collect()
    };
    assert_eq!(
        with_body("readCustomerToken"),
        expect(&[("200", true), ("403", false), ("404", false)])
    );
    assert_eq!(
        with_body("createOrder"),
        expect(&[
            ("200", true),
            ("400", true),
            ("403", false),
            ("404", false),
            ("409", false)
        ])
    );
    assert_eq!(
        with_body("patchCustomerToken"),
        expect(&[
            ("202", false),
            ("400", false),
            ("403", false),
            ("404", false)
        ])
    );
    assert_eq!(
        responses(&doc, "createOrder")["400"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorV2"
    );
}

// ---------------------------------------------------------------------------
// YAML, JSON and bytes
// ---------------------------------------------------------------------------

#[test]
fn yaml_is_parsed_and_the_same_document_in_json_gives_the_same_value() {
    let yaml = klarna_raw();
    assert_eq!(
        yaml["paths"][TOKEN_PATH]["get"]["operationId"],
        "readCustomerToken"
    );
    // Unquoted status codes (`200:`) are read as string keys.
    assert!(responses(&yaml, "readCustomerToken").contains_key("200"));
    assert_eq!(
        prop(&yaml, "order_line", "total_amount")["maximum"],
        100_000_000
    );

    let as_json = serde_json::to_string_pretty(&yaml).expect("serializes");
    assert_eq!(normalize::parse(&as_json), Ok(yaml.clone()));
    // And through the whole pipeline, as bytes.
    assert_eq!(normalize::load(as_json.as_bytes()), Ok(klarna()));

    // A small document written by hand in both notations.
    let yaml = normalize::parse(
        "openapi: 3.0.0\ninfo: {title: T, version: '1'}\npaths:\n  /a:\n    get:\n      \
         operationId: a\n      responses:\n        200:\n          description: ok\n",
    );
    let json = normalize::parse(
        r#"{"openapi": "3.0.0", "info": {"title": "T", "version": "1"},
            "paths": {"/a": {"get": {"operationId": "a",
            "responses": {"200": {"description": "ok"}}}}}}"#,
    );
    assert!(yaml.is_ok());
    assert_eq!(yaml, json);
}

#[test]
fn text_that_is_not_a_mapping_is_refused() {
    for text in ["- just\n- a list\n", "just a string", "{ unclosed: [", ""] {
        assert!(normalize::parse(text).is_err(), "{text:?}");
    }
}

#[test]
fn an_invalid_utf8_byte_does_not_make_the_file_unreadable() {
    // The whole pipeline succeeds on the raw bytes.
    let text = normalize::decode_text(FIXTURE);
    let doc = normalize::parse(&text).expect("parses");
    normalize::check(&doc).expect("passes the checks");
    assert!(normalize::load(FIXTURE).is_ok());

    // Before cleaning, the byte 0x92 is its Windows-1252 character, U+2019.
    let pointer =
        "/components/schemas/customer_token_order/properties/merchant_reference1/description";
    assert_eq!(
        description(&doc, pointer),
        "The merchant\u{2019}s own reference for the order, such as an order number."
    );
    // After cleaning, an ASCII apostrophe.
    assert_eq!(
        description(&klarna(), pointer),
        "The merchant's own reference for the order, such as an order number."
    );

    // Byte by byte: the C1 range follows Windows-1252.
    assert_eq!(normalize::decode_text(b"a\x92b"), "a\u{2019}b");
    assert_eq!(
        normalize::decode_text(b"\x80\x85\x93\x94\x96\x97\x99\xa0\xe9"),
        "\u{20ac}\u{2026}\u{201c}\u{201d}\u{2013}\u{2014}\u{2122}\u{a0}\u{e9}"
    );
    // Valid UTF-8 is read as UTF-8.
    assert_eq!(normalize::decode_text("Malmö ’".as_bytes()), "Malmö ’");
}

/// Root cause of `a_closing_curly_quote_next_to_an_invalid_byte_still_loads`
/// and `typography_and_mojibake_become_the_intended_ascii_next_to_an_invalid_byte`:
/// one invalid byte makes `decode_text` read the *whole* file as
/// Windows-1252, so every valid UTF-8 character elsewhere turns into
/// mojibake (and examples such as `Malmö` change too).
#[test]
fn decode_text_keeps_valid_utf8_next_to_an_invalid_byte() {
    assert_eq!(
        normalize::decode_text(b"Malm\xc3\xb6 \x92"),
        "Malmö \u{2019}"
    );

    let doc = klarna_raw();
    assert_eq!(prop(&doc, "address", "city")["example"], "Malmö");
    assert!(description(&doc, "/info/description").contains("Kustom\u{2019}s hosts"));
}

#[test]
fn a_closing_curly_quote_next_to_an_invalid_byte_still_loads() {
    // The fixture with one closing curly quote more (`“SEK".` -> `“SEK”.`).
    let needle = "\u{201c}SEK\".".as_bytes();
    let at = FIXTURE
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the fixture has this text");
    let mut bytes = FIXTURE.to_vec();
    bytes.splice(at..at + needle.len(), "\u{201c}SEK\u{201d}.".bytes());
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "still holds the 0x92 byte"
    );

    let doc = normalize::load(&bytes).expect("loads");
    assert_eq!(
        description(
            &doc,
            "/components/schemas/customer_token_order/properties/purchase_currency/description"
        ),
        "ISO 4217 currency code, e.g. \"SEK\"."
    );
}

// ---------------------------------------------------------------------------
// Versions and operation ids
// ---------------------------------------------------------------------------

#[test]
fn openapi_3_0_0_is_accepted_and_declared_3_0_3() {
    let mut doc = klarna_raw();
    assert_eq!(normalize::check(&doc), Ok(()));
    let notes = normalize::normalize(&mut doc);
    assert_eq!(doc["openapi"], "3.0.3");
    assert!(
        notes.iter().any(|n| n.contains("3.0.3")),
        "notes: {notes:?}"
    );

    // `openapi: 3.0` unquoted is a YAML number; it is accepted too.
    let mut short = normalize::parse("openapi: 3.0\npaths: {}\n").expect("parses");
    assert_eq!(normalize::check(&short), Ok(()));
    normalize::normalize(&mut short);
    assert_eq!(short["openapi"], "3.0.3");
}

#[test]
fn openapi_3_1_is_refused_naming_the_version() {
    let mut doc = klarna_raw();
    doc["openapi"] = json!("3.1.0");
    let err = normalize::check(&doc).expect_err("3.1 is refused");
    assert!(err.0.contains("3.1.0"), "{err}");

    // Through `load`, from the bytes.
    let text = normalize::decode_text(FIXTURE).replacen("openapi: 3.0.0", "openapi: 3.1.0", 1);
    let err = normalize::load(text.as_bytes()).expect_err("3.1 is refused");
    assert!(err.0.contains("OpenAPI 3.1.0"), "{err}");
}

#[test]
fn swagger_2_is_refused_naming_the_version() {
    let doc = normalize::parse(
        "swagger: '2.0'\ninfo: {title: T, version: '1'}\nhost: api.klarna.com\npaths: {}\n",
    )
    .expect("parses");
    let err = normalize::check(&doc).expect_err("Swagger is refused");
    assert!(err.0.contains("Swagger 2.0"), "{err}");

    let err = normalize::check(&json!({ "paths": {} })).expect_err("no version");
    assert!(err.0.contains("openapi"), "{err}");
}

#[test]
fn a_missing_operation_id_is_refused_naming_the_operation() {
    let mut doc = klarna_raw();
    doc["paths"][ORDER_PATH]["post"]
        .as_object_mut()
        .expect("operation")
        .remove("operationId");
    let err = normalize::check(&doc).expect_err("refused");
    assert!(
        err.0.contains(&format!("POST {ORDER_PATH}")),
        "names the operation: {err}"
    );
    assert!(!err.0.contains("GET"), "names only that operation: {err}");
    assert!(!err.0.contains("PATCH"), "names only that operation: {err}");
}

// ---------------------------------------------------------------------------
// Control characters, in two steps
// ---------------------------------------------------------------------------

/// Klarna's older file holds U+0018 and U+0019 where typographic quotes
/// belong; the YAML reader refuses them, so they are swapped for
/// placeholders before parsing and restored as quotes in prose after it.
#[test]
fn control_characters_in_prose_become_quotes_or_disappear() {
    let text = normalize::decode_text(OURS).replacen(
        "description: Person or department the delivery is for.",
        "description: \u{18}Attn.\u{19} Customer\u{19}s city\u{7}\u{1b}\u{7f}\u{85}.",
        1,
    );
    assert!(
        normalize::parse(&text).is_err(),
        "the YAML reader refuses them"
    );
    let doc = normalize::load(text.as_bytes()).expect("loads");
    assert_eq!(
        prop(&doc, "address", "attention")["description"],
        "'Attn.' Customer's city."
    );
    // Written as escapes in JSON, they are resolved the same way.
    let mut json_doc = normalize::parse(&normalize::decode_text(OURS)).expect("parses");
    json_doc["info"]["title"] = json!("\u{18}T\u{19}\u{1}");
    let bytes = serde_json::to_vec(&json_doc).expect("serializes");
    assert_eq!(
        normalize::load(&bytes).expect("loads")["info"]["title"],
        "'T'"
    );
}

/// The Windows-1252 fallback yields C1 characters for 0x81, 0x8D, 0x8F,
/// 0x90 and 0x9D; in prose they are removed like any other control.
#[test]
fn windows_1252_bytes_without_a_character_are_removed_from_prose() {
    assert_eq!(
        normalize::decode_text(b"\x81\x8d\x8f\x90\x9d"),
        "\u{81}\u{8d}\u{8f}\u{90}\u{9d}"
    );
    let mut bytes = OURS.to_vec();
    let needle = b"Person or department";
    let at = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("text");
    bytes.splice(at..at, b"a\x81\x8d\x8f\x90\x9d\xb1b ".iter().copied());
    let doc = normalize::load(&bytes).expect("loads");
    assert_eq!(
        prop(&doc, "address", "attention")["description"],
        "ab Person or department the delivery is for."
    );
}

#[test]
fn a_control_character_outside_prose_is_refused_with_its_path() {
    let text = normalize::decode_text(OURS);
    for (from, to, path) in [
        (
            "            - shipping_fee\n",
            "            - ship\u{1}ping_fee\n",
            "#/components/schemas/order_line/properties/type/enum/2",
        ),
        (
            "pattern: '^[A-Za-z]{3,3}$'",
            "pattern: '^[A-Za-z]{3,3}\u{19}$'",
            "#/components/schemas/customer_token_order/properties/purchase_currency/pattern",
        ),
        (
            "example: ON4711",
            "example: ON\u{90}4711",
            "#/components/schemas/customer_token_order/properties/merchant_reference1/example",
        ),
        (
            "operationId: createOrder",
            "operationId: create\u{18}Order",
            "#/paths/~1customer-token~1v1~1tokens~1{customerToken}~1order/post/operationId",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let err = normalize::load(text.replacen(from, to, 1).as_bytes()).expect_err("refused");
        assert!(err.0.ends_with(path), "{err}");
        assert!(err.0.contains("control character"), "{err}");
    }
}

#[test]
fn a_byte_order_mark_and_crlf_line_endings_are_accepted() {
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(
        normalize::decode_text(OURS)
            .replace('\n', "\r\n")
            .into_bytes(),
    );
    assert_eq!(normalize::load(&bytes), Ok(ours()));
}

#[test]
fn a_reference_to_an_undefined_schema_is_refused() {
    let text = normalize::decode_text(OURS).replacen(
        "$ref: '#/components/schemas/card_information'",
        "$ref: '#/components/schemas/card_info'",
        1,
    );
    let err = normalize::load(text.as_bytes()).expect_err("refused");
    assert!(err.0.contains("#/components/schemas/card_info"), "{err}");
}
