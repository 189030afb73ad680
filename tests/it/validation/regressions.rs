//! Problems once found in the rules, pinned.

use serde_json::json;

use super::from_json::from_json_error;
use crate::support::validation::*;

// ---------------------------------------------------------------------------
// Problems once found in the rules, pinned
// ---------------------------------------------------------------------------

/// Without a sales_tax line the order is taxed EU style, even with no
/// tax_rate: a line tax without a rate is no violation of its own, and the
/// order tax must match it.
#[test]
pub(crate) fn a_line_tax_without_a_rate_counts_in_the_order_tax() {
    let mut v = simple_order();
    set(
        &mut v,
        "/order_lines/0/total_tax_amount",
        json!(200_000_000),
    );
    assert_violations(&v, &["order_tax_amount"], "tax 2e8, order tax 0");
    set(&mut v, "/order_tax_amount", json!(200_000_000));
    assert_valid(&v, "tax 2e8, order tax 2e8");
}

#[test]
pub(crate) fn from_json_messages_do_not_echo_values() {
    let huge = "A".repeat(10 * 1024 * 1024);
    let mut v = simple_order();
    set(&mut v, "/order_amount", json!(huge));
    let errors = from_json_error(&to_bytes(&v));
    assert_eq!(paths(&errors), ["order_amount"]);
    assert!(errors.to_string().len() < 1000, "a 10 MB message");
    let mut v = simple_order();
    set(
        &mut v,
        "/shipping_address",
        json!("Adam Andersson, 33 Cavendish Square"),
    );
    let errors = from_json_error(&to_bytes(&v));
    assert!(!errors.to_string().contains("Andersson"), "{errors}");
}

#[test]
pub(crate) fn unknown_enum_values_are_not_echoed_whole() {
    let huge = "x".repeat(10 * 1024 * 1024);
    for pointer in [
        "/order_lines/0/type",
        "/order_lines/0/subscription/interval",
    ] {
        let mut v = full_order();
        set(&mut v, pointer, json!(huge));
        let errors = check(&v).expect_err("unknown value");
        assert!(
            errors.to_string().len() < 1000,
            "{pointer}: a {} byte message",
            errors.to_string().len()
        );
    }
}

#[test]
pub(crate) fn from_json_rejects_an_array_for_the_order() {
    let text = br#"[null,null,null,null,null,null,1000,[[null,null,"Plan",null,null,1,null,null,null,1000,null,null,null,1000,null]],0,"EUR",null]"#;
    let _ = from_json_error(text);
}
