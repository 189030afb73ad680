//! The family of variants: every edit that must leave the generated code as
//! it is, and the edits that must be refused.

use super::*;

// ---------------------------------------------------------------------------
// The family
// ---------------------------------------------------------------------------

const OPERATION_IDS: &[&str] = &["readCustomerToken", "createOrder", "patchCustomerToken"];

/// Every variant that must be accepted with the same generated code.
pub(crate) fn accepted() -> Vec<Variant> {
    [
        response_variants(),
        text_variants(),
        document_variants(),
        incidental_variants(),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// Error bodies on some operations and statuses and not others, cancel's
/// 202 with and without a body, extra statuses.
fn response_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    // Error bodies removed, on each operation alone and on all of them.
    for id in OPERATION_IDS {
        out.push(Variant::edit(
            format!("no error bodies on {id}"),
            move |doc| {
                remove_error_bodies(operation(doc, id));
            },
        ));
    }
    out.push(Variant::edit("no error bodies at all", |doc| {
        operations(doc).into_iter().for_each(remove_error_bodies);
    }));
    // Error bodies on some statuses and not others, per operation.
    for id in OPERATION_IDS {
        out.push(Variant::edit(
            format!("an error body on the first error status only, {id}"),
            move |doc| {
                let op = operation(doc, id);
                let mut first = true;
                for (code, response) in responses(op).iter_mut() {
                    if !is_error(code) {
                        continue;
                    }
                    let r = response.as_object_mut().expect("response");
                    if first {
                        r.insert("content".to_owned(), error_body());
                        first = false;
                    } else {
                        r.remove("content");
                    }
                }
                assert!(!first, "{id} declares an error");
            },
        ));
    }
    // Cancel's 202 with a body (the description declares it without one).
    out.push(Variant::edit("a 202 with a body", |doc| {
        let op = operation(doc, "patchCustomerToken");
        let accepted = responses(op).get_mut("202").expect("a 202");
        accepted["content"] =
            json!({ "application/json": { "schema": { "$ref": "#/components/schemas/customer_token" } } });
    }));
    out.push(Variant::edit("a 202 without a body", |doc| {
        let op = operation(doc, "patchCustomerToken");
        if let Some(r) = responses(op).get_mut("202").and_then(Value::as_object_mut) {
            r.remove("content");
        }
    }));
    // Extra statuses with and without bodies.
    for status in ["401", "429", "500", "503"] {
        for with_body in [true, false] {
            let name = format!(
                "an extra {status} {}",
                if with_body {
                    "with a body"
                } else {
                    "without a body"
                }
            );
            out.push(Variant::edit(name, move |doc| {
                for op in operations(doc) {
                    let mut response = json!({ "description": format!("status {status}") });
                    if with_body {
                        response["content"] = error_body();
                    }
                    responses(op).insert(status.to_owned(), response);
                }
            }));
        }
    }
    out
}

/// The file's text: control characters and Windows-1252 bytes in prose, a
/// byte-order mark, CRLF line endings, the JSON form.
fn text_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    // Control characters in prose.
    for code in (0x01u32..=0x1f).chain([0x7f]).chain(0x80..=0x9f) {
        if matches!(code, 0x09 | 0x0a | 0x0d) {
            continue;
        }
        let c = char::from_u32(code).expect("a char");
        out.push(Variant::prose_bytes(
            format!("U+{code:04X} in prose"),
            c.to_string().into_bytes(),
        ));
    }
    // Windows-1252 bytes in prose (not valid UTF-8).
    out.push(Variant::prose_bytes(
        "Windows-1252 bytes without a character (0x81 0x8D 0x8F 0x90 0x9D) in prose",
        vec![
            b'a', 0x81, b' ', 0x8d, b' ', 0x8f, b' ', 0x90, b' ', 0x9d, b'z',
        ],
    ));
    out.push(Variant::prose_bytes(
        "Windows-1252 typography (0x92 0x93 0x94 0x96 0xB1 0xE9) in prose",
        [
            &b"a"[..],
            &[0x92],
            b"s ",
            &[0x93],
            b"q",
            &[0x94],
            b" ",
            &[0x96],
            b" ",
            &[0xb1],
            b"1 caf",
            &[0xe9],
        ]
        .concat(),
    ));
    out.push(Variant::text(
        "a UTF-8 byte-order mark",
        Stage::ByteOrderMark,
        |text| {
            let mut out = "\u{feff}".as_bytes().to_vec();
            out.extend(text);
            out
        },
    ));
    out.push(Variant::text(
        "CRLF line endings",
        Stage::LineEndings,
        |text| replace(&text, b"\n", b"\r\n"),
    ));
    out.push(Variant {
        name: "the JSON form".to_owned(),
        edit: None,
        text: None,
        json: true,
    });
    out
}

/// The document's declarations: OpenAPI versions, no servers, no security
/// scheme, statuses, `redirect_url` required or not.
fn document_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    for version in ["3.0.0", "3.0.1", "3.0.2", "3.0.3"] {
        out.push(Variant::edit(format!("openapi {version}"), move |doc| {
            doc["openapi"] = json!(version);
        }));
    }
    out.push(Variant::edit("no servers", |doc| {
        doc.as_object_mut().expect("root").remove("servers");
    }));
    out.push(Variant::edit("no securitySchemes", |doc| {
        doc.as_object_mut().expect("root").remove("security");
        if let Some(c) = doc["components"].as_object_mut() {
            c.remove("securitySchemes");
        }
    }));
    out.push(Variant::edit("statuses as plain strings", |doc| {
        each_schema(doc, &|schema| {
            if let Some(status) = schema
                .get_mut("properties")
                .and_then(|p| p.get_mut("status"))
                .and_then(Value::as_object_mut)
            {
                status.remove("enum");
                status.insert("type".to_owned(), json!("string"));
            }
        });
    }));
    out.push(Variant::edit("statuses as closed enums", |doc| {
        let status = doc
            .pointer_mut("/components/schemas/customer_token/properties/status")
            .expect("status");
        status["enum"] = json!(["ACTIVE", "SUSPENDED", "CANCELLED"]);
    }));
    for required in [true, false] {
        let name = format!(
            "redirect_url {}",
            if required { "required" } else { "optional" }
        );
        out.push(Variant::edit(name, move |doc| {
            let order = doc.pointer_mut("/components/schemas/order").expect("order");
            let list = order["required"].as_array_mut().expect("required");
            list.retain(|n| n != "redirect_url");
            if required {
                list.push(json!("redirect_url"));
            }
        }));
    }
    out
}

/// Incidental additions everywhere: extensions, external docs, examples.
fn incidental_variants() -> Vec<Variant> {
    let mut out = Vec::new();
    out.push(Variant::edit("x- extensions everywhere", |doc| {
        each_extensible(doc, &|map| {
            map.insert(
                "x-variant".to_owned(),
                json!({ "note": "extension", "list": [1, "two"] }),
            );
            map.insert(
                "x-rust-type".to_owned(),
                json!({ "crate": "nope", "path": "nope::Nope", "version": "1" }),
            );
        });
    }));
    out.push(Variant::edit("externalDocs everywhere", |doc| {
        let docs =
            json!({ "url": "https://docs.klarna.com/api/customertoken/", "description": "More" });
        doc["externalDocs"] = docs.clone();
        for op in operations(doc) {
            op.insert("externalDocs".to_owned(), docs.clone());
        }
        each_schema(doc, &|schema| {
            if !schema.contains_key("$ref") {
                schema.insert("externalDocs".to_owned(), docs.clone());
            }
        });
        doc["info"]["termsOfService"] = json!("https://www.klarna.com/terms");
    }));
    out.push(Variant::edit("examples everywhere", |doc| {
        each_schema(doc, &|schema| {
            if !schema.contains_key("$ref") {
                schema.insert("example".to_owned(), json!("an example"));
            }
        });
        for op in operations(doc) {
            for response in responses(op).values_mut() {
                for media in response
                    .get_mut("content")
                    .and_then(Value::as_object_mut)
                    .into_iter()
                    .flat_map(|c| c.values_mut())
                {
                    media["examples"] = json!({ "one": { "summary": "one", "value": { "a": 1 } } });
                }
            }
        }
        doc["info"]["summary"] = json!("a summary");
    }));
    out
}

/// Variants that must be refused, with a text the reason must hold.
pub(crate) fn refused() -> Vec<(Variant, &'static str)> {
    vec![
        (
            Variant::value_bytes(
                "a control character in an enum value",
                "/components/schemas/order_line/properties/type/enum/2",
                vec![0x01],
            ),
            "#/components/schemas/order_line/properties/type/enum/2",
        ),
        (
            Variant::value_bytes(
                "U+0019 in a pattern",
                "/components/schemas/customer_token_order/properties/purchase_currency/pattern",
                vec![0x19],
            ),
            "#/components/schemas/customer_token_order/properties/purchase_currency/pattern",
        ),
        (
            Variant::value_bytes(
                "a C1 control in an enum value",
                "/components/schemas/subscription/properties/interval/enum/0",
                "\u{85}".as_bytes().to_vec(),
            ),
            "#/components/schemas/subscription/properties/interval/enum/0",
        ),
        (
            Variant::edit("OpenAPI 3.1", |doc| doc["openapi"] = json!("3.1.0")),
            "OpenAPI 3.1.0",
        ),
        (
            Variant::edit("a missing operationId", |doc| {
                operation(doc, "createOrder").remove("operationId");
            }),
            "no operationId: POST /customer-token/v1/tokens/{customerToken}/order",
        ),
    ]
}
