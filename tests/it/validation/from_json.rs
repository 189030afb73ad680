//! `from_json` errors name the path.

use klarna_customer_token::{OrderRequest, ValidationErrors};
use serde_json::{Value, json};

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 6. from_json errors name the path
// ---------------------------------------------------------------------------

#[track_caller]
pub(crate) fn from_json_error(v: &[u8]) -> ValidationErrors {
    match OrderRequest::from_json(v) {
        Ok(order) => panic!("expected from_json to fail, got {order:?}"),
        Err(e) => validation_of(&e).clone(),
    }
}

pub(crate) fn three_lines() -> Value {
    order(
        vec![line("a", 1, 1, 1), line("b", 1, 1, 1), line("c", 1, 1, 1)],
        3,
        0,
    )
}

#[test]
pub(crate) fn from_json_names_the_path_of_a_wrong_type() {
    for bad in [json!("3"), json!(1.5), json!(null), json!([]), json!(true)] {
        let mut v = three_lines();
        set(&mut v, "/order_lines/2/quantity", bad.clone());
        let errors = from_json_error(&to_bytes(&v));
        assert_eq!(paths(&errors), ["order_lines[2].quantity"], "{bad}");
    }
    let text = String::from_utf8(to_bytes(&three_lines()))
        .expect("utf-8")
        .replace("\"order_amount\":3", "\"order_amount\":9223372036854775808");
    assert_eq!(paths(&from_json_error(text.as_bytes())), ["order_amount"]);
    let mut v = full_order();
    set(&mut v, "/shipping_address/phone", json!(447_954_651));
    assert_eq!(
        paths(&from_json_error(&to_bytes(&v))),
        ["shipping_address.phone"]
    );
    let mut v = full_order();
    set(&mut v, "/order_lines/1/product_identifiers/size", json!(42));
    assert_eq!(
        paths(&from_json_error(&to_bytes(&v))),
        ["order_lines[1].product_identifiers.size"]
    );
}

/// Unknown fields are kept and sent (this replaces the earlier rule that
/// refused them); `from_json_strict` still refuses them, by path.
#[test]
pub(crate) fn from_json_keeps_unknown_fields_and_from_json_strict_names_them() {
    for (pointer, path) in [
        ("/customer_token", "customer_token"),
        ("/order_lines/1/colour", "order_lines[1].colour"),
        ("/shipping_address/zip", "shipping_address.zip"),
        (
            "/order_lines/0/product_identifiers/ean",
            "order_lines[0].product_identifiers.ean",
        ),
        (
            "/order_lines/0/subscription/trial",
            "order_lines[0].subscription.trial",
        ),
        ("/merchant_urls/terms", "merchant_urls.terms"),
        ("/attachment/version", "attachment.version"),
    ] {
        let mut v = full_order();
        set(&mut v, pointer, json!("x"));
        let order = OrderRequest::from_json(&to_bytes(&v)).expect("kept, not refused");
        assert_eq!(order.unknown_fields(), [path]);
        order.validate().expect("an unknown field breaks no rule");
        let sent: Value = serde_json::from_slice(&order.to_json()).expect("json");
        assert_eq!(sent, v, "{path}: sent unchanged");

        let errors = match OrderRequest::from_json_strict(&to_bytes(&v)) {
            Ok(_) => panic!("{path}: from_json_strict accepted it"),
            Err(e) => validation_of(&e).clone(),
        };
        assert_eq!(paths(&errors), [path]);
    }
    // Several at once, each named.
    let mut v = full_order();
    set(&mut v, "/locale", json!("en-GB"));
    set(&mut v, "/order_lines/1/colour", json!("red"));
    let errors = OrderRequest::from_json_strict(&to_bytes(&v)).expect_err("two unknown");
    assert_eq!(
        paths(validation_of(&errors)),
        ["locale", "order_lines[1].colour"]
    );
}

#[test]
pub(crate) fn from_json_reports_missing_required_fields() {
    for (pointer, path) in [
        ("/order_amount", "order_amount"),
        ("/purchase_currency", "purchase_currency"),
        ("/order_lines/1/name", "order_lines[1].name"),
        ("/order_lines/1/total_amount", "order_lines[1].total_amount"),
        (
            "/order_lines/0/subscription/interval_count",
            "order_lines[0].subscription.interval_count",
        ),
        ("/merchant_urls/confirmation", "merchant_urls.confirmation"),
    ] {
        let mut v = full_order();
        remove(&mut v, pointer);
        let errors = from_json_error(&to_bytes(&v));
        assert_eq!(paths(&errors), [path], "{pointer}");
        let message = errors.iter().next().expect("one").message();
        assert_eq!(message, "is required");
    }
}

/// A field that cannot be decoded hides nothing else: every problem of the
/// document is reported at once, with its path.
#[test]
pub(crate) fn from_json_reports_every_problem_at_once() {
    let mut v = three_lines();
    set(&mut v, "/order_lines/0/quantity", json!("one"));
    set(&mut v, "/purchase_currency", json!("EURO"));
    set(&mut v, "/order_lines/1/total_amount", json!(2));
    remove(&mut v, "/order_lines/2/name");
    set(&mut v, "/shipping_address", json!([1]));
    set(&mut v, "/order_lines/2/colour", json!("red"));
    let errors = from_json_error(&to_bytes(&v));
    assert_eq!(
        sorted_paths(&errors),
        [
            "order_amount",
            "order_lines[0].quantity",
            "order_lines[1].total_amount",
            "order_lines[2].name",
            "purchase_currency",
            "shipping_address",
        ],
        "{errors}"
    );
    // The order sum depends on a line total that is itself wrong, and a
    // rule about the broken quantity is not reported twice.
    let mut v = three_lines();
    set(&mut v, "/order_lines/1/quantity", json!(1.5));
    set(&mut v, "/order_amount", json!(4));
    let errors = from_json_error(&to_bytes(&v));
    assert_eq!(
        paths(&errors),
        ["order_amount", "order_lines[1].quantity"],
        "{errors}"
    );
    // A line that is not an object: the other lines are still checked.
    let mut v = three_lines();
    set(&mut v, "/order_lines/0", json!("a line"));
    set(&mut v, "/order_lines/2/total_amount", json!(5));
    let errors = from_json_error(&to_bytes(&v));
    assert_eq!(
        paths(&errors),
        ["order_lines[0]", "order_lines[2].total_amount"],
        "{errors}"
    );
    // A field given twice is named.
    let text = String::from_utf8(to_bytes(&three_lines()))
        .expect("utf-8")
        .replacen(
            "\"order_amount\":3",
            "\"order_amount\":3,\"order_amount\":3",
            1,
        );
    let errors = from_json_error(text.as_bytes());
    assert!(errors.to_string().contains("order_amount"), "{errors}");
}

#[test]
pub(crate) fn from_json_rejects_trailing_data() {
    let good = to_bytes(&simple_order());
    OrderRequest::from_json(&good).expect("valid JSON");
    let mut padded = good.clone();
    padded.extend_from_slice(b" \n\t ");
    OrderRequest::from_json(&padded).expect("trailing whitespace is fine");
    for garbage in [&b"x"[..], b"{}", b",", b"]", b"\0", b"null"] {
        let mut bytes = good.clone();
        bytes.extend_from_slice(garbage);
        let errors = from_json_error(&bytes);
        assert_eq!(
            paths(&errors),
            [""],
            "{:?}",
            String::from_utf8_lossy(garbage)
        );
    }
    // Empty input and invalid UTF-8 are errors too.
    let _ = from_json_error(b"");
    let mut bytes = good;
    let at = bytes
        .iter()
        .position(|&b| b == b'P')
        .expect("the name Plan");
    bytes[at] = 0xff;
    let _ = from_json_error(&bytes);
}
