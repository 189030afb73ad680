//! Non-ASCII and mis-encoded prose.

use super::*;

// ---------------------------------------------------------------------------
// Non-ASCII and mis-encoded prose
// ---------------------------------------------------------------------------

#[test]
fn prose_becomes_plain_ascii_and_other_strings_are_untouched() {
    let raw = klarna_raw();
    let doc = normalized(&raw);

    let prose_before = leaves(&raw).into_iter().filter(Leaf::is_prose).count();
    let non_ascii_before = leaves(&raw)
        .into_iter()
        .filter(|l| l.is_prose() && !l.text.is_ascii())
        .count();
    assert!(non_ascii_before >= 20, "the fixture is meant to be messy");
    assert!(prose_before > non_ascii_before);

    for leaf in leaves(&doc).iter().filter(|l| l.is_prose()) {
        assert!(leaf.text.is_ascii(), "{}: {:?}", leaf.pointer, leaf.text);
    }

    // Every string that is not prose keeps its exact value: patterns, enum
    // values, examples, references, names. (`openapi` is the one exception.)
    let mut compared = 0;
    for leaf in leaves(&raw)
        .iter()
        .filter(|l| !l.is_prose() && l.pointer != "/openapi")
    {
        assert_eq!(
            doc.pointer(&leaf.pointer).and_then(Value::as_str),
            Some(leaf.text.as_str()),
            "{}",
            leaf.pointer
        );
        compared += 1;
    }
    assert!(compared > 200, "{compared}");
    assert_eq!(
        prop(&doc, "customer_token_order", "purchase_currency")["pattern"],
        "^[A-Za-z]{3,3}$"
    );
    assert_eq!(
        prop(&doc, "address", "country")["pattern"],
        "^[A-Za-z]{2,2}$"
    );
    // A non-ASCII example stays non-ASCII (whatever decode_text made of it).
    assert!(
        !prop(&doc, "address", "city")["example"]
            .as_str()
            .is_some_and(str::is_ascii)
    );
}

/// The intended ASCII of the fixture's typographic and mis-encoded prose.
#[track_caller]
fn assert_intended_ascii(doc: &Value) {
    let info = description(doc, "/info/description");
    for expected in [
        "the way Klarna's downloadable file is",
        "Customer Token endpoints - reading",
        "served on Kustom's hosts",
        "the customer's token, 100 kr.",
    ] {
        assert!(info.contains(expected), "{expected:?} in {info:?}");
    }
    let schemas = "/components/schemas";
    for (pointer, expected) in [
        (
            format!("{schemas}/customer_token_order/description"),
            "An order to be charged to the customer's token.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/merchant_reference1/description"),
            "The merchant's own reference for the order, such as an order number.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/merchant_reference2/description"),
            "A second reference, for the merchant's own use.",
        ),
        (
            format!("{schemas}/customer_token_order/properties/purchase_currency/description"),
            "ISO 4217 currency code, e.g. \"SEK\".",
        ),
        (
            format!("{schemas}/customer_token_order/properties/order_lines/description"),
            "The order's lines (1 - 1000 of them).",
        ),
        (
            format!("{schemas}/order_line/properties/tax_rate/description"),
            "Tax rate in basis points - 2500 is 25 %.",
        ),
        (
            format!("{schemas}/order_line/properties/total_amount/description"),
            "quantity x unit_price - total_discount_amount, in minor units.",
        ),
        (
            format!(
                "{schemas}/product_identifiers/properties/global_trade_item_number/description"
            ),
            "The GTIN (EAN, UPC, ISBN...).",
        ),
        (
            format!("{schemas}/customer_token/properties/status/description"),
            "'ACTIVE', 'SUSPENDED' or 'CANCELLED'.",
        ),
        (
            format!(
                "/paths/{}/get/responses/200/description",
                escape(TOKEN_PATH)
            ),
            "Token found - details follow.",
        ),
        (
            format!(
                "/paths/{}/post/responses/409/description",
                escape(ORDER_PATH)
            ),
            "The data in the request doesn't match the session.",
        ),
    ] {
        assert_eq!(description(doc, &pointer), expected, "{pointer}");
    }
}

/// The same document as a valid UTF-8 file: typographic characters and
/// UTF-8-encoded mojibake become the intended ASCII.
#[test]
fn typography_and_mojibake_become_the_intended_ascii_in_a_utf8_file() {
    let bytes = fixture_as_utf8();
    let doc = normalize::load(&bytes).expect("loads");
    assert_intended_ascii(&doc);
    // And nothing but the invalid byte differs from the original file.
    assert_eq!(
        structure::from_openapi(&doc),
        structure::from_openapi(&klarna())
    );
}

/// The same on the fixture as it is, with its invalid byte.
#[test]
fn typography_and_mojibake_become_the_intended_ascii_next_to_an_invalid_byte() {
    assert_intended_ascii(&klarna());
}

#[test]
fn known_quote_and_space_mojibake_becomes_ascii() {
    for (text, expected) in [
        ("the customerâ€™s token", "the customer's token"),
        ("â€˜quotedâ€™", "'quoted'"),
        ("â€œquotedâ€\u{9d}", "\"quoted\""),
        ("100Â kr", "100 kr"),
        ("100Â\u{a0}kr", "100 kr"),
        (
            "“typographic” ‘quotes’ – and … more",
            "\"typographic\" 'quotes' - and ... more",
        ),
        ("Kustom’s", "Kustom's"),
        ("a\u{a0}b", "a b"),
        ("plain ASCII stays", "plain ASCII stays"),
    ] {
        assert_eq!(normalize::ascii_text(text), expected, "{text:?}");
    }
}

#[test]
fn known_dash_and_ellipsis_mojibake_becomes_ascii() {
    for (text, expected) in [
        ("1 â€“ 1000", "1 - 1000"),
        ("wait â€” or not", "wait - or not"),
        ("and so onâ€¦", "and so on..."),
    ] {
        assert_eq!(normalize::ascii_text(text), expected, "{text:?}");
    }
}

#[test]
fn example_values_are_not_cleaned_as_prose() {
    let mut doc = json!({
        "openapi": "3.0.0",
        "paths": {},
        "components": { "schemas": { "address": {
            "type": "object",
            "properties": { "title": { "type": "string" } },
            "example": { "title": "Fröken", "given_name": "Åsa" }
        } } }
    });
    normalize::normalize(&mut doc);
    assert_eq!(
        doc["components"]["schemas"]["address"]["example"],
        json!({ "title": "Fröken", "given_name": "Åsa" })
    );
}
