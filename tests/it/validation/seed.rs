//! The seed's example order.

use klarna_customer_token::{OrderLineType, OrderRequest, SubscriptionInterval};
use serde_json::{Value, json};

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 1. The seed's example order
// ---------------------------------------------------------------------------

#[test]
pub(crate) fn seed_fixture_is_the_unescaped_curl_body() {
    let text = std::str::from_utf8(SEED_ORDER).expect("utf-8");
    // The shell's '\'' is a plain single quote in the JSON.
    assert!(text.contains(r#"\"substore\":\"Women's Fashion\""#));
    assert!(!text.contains(r"'\''"));
}

#[test]
pub(crate) fn seed_order_loads_and_round_trips_field_for_field() {
    let order = OrderRequest::from_json(SEED_ORDER).expect("the seed's example loads");
    let original: Value = serde_json::from_slice(SEED_ORDER).expect("the seed is JSON");
    assert_eq!(serde_json::to_value(&order).expect("serializes"), original);
    let via_to_json: Value = serde_json::from_slice(&order.to_json()).expect("to_json is JSON");
    assert_eq!(via_to_json, original);
    assert_eq!(
        OrderRequest::from_json(&order.to_json()).expect("reloads"),
        order
    );

    assert_eq!(order.order_amount(), 1);
    assert_eq!(order.order_tax_amount(), 0);
    assert_eq!(order.purchase_currency(), "GBP");
    assert_eq!(order.auto_capture(), Some(false));
    assert_eq!(order.merchant_reference1(), Some("ON4711"));
    assert_eq!(
        order.merchant_urls().map(|u| u.confirmation()),
        Some("string")
    );
    assert_eq!(
        order.shipping_address().and_then(|a| a.postal_code()),
        Some("W1G 0PW")
    );
    let l = &order.order_lines()[0];
    assert_eq!(
        (l.quantity(), l.unit_price(), l.total_amount()),
        (1, 2500, 2500)
    );
    assert_eq!(l.total_discount_amount(), Some(500));
    assert_eq!(l.tax_rate(), Some(1900));
    assert_eq!(l.total_tax_amount(), Some(475));
    assert_eq!(l.line_type(), Some(&OrderLineType::Physical));
    assert_eq!(
        l.subscription().map(|s| s.interval()),
        Some(&SubscriptionInterval::Day)
    );
    assert_eq!(
        l.product_identifiers().and_then(|p| p.category_path()),
        Some("Shoes > Running")
    );
}

#[test]
pub(crate) fn seed_order_breaks_exactly_four_arithmetic_rules() {
    let order = OrderRequest::from_json(SEED_ORDER).expect("the seed's example loads");
    let errors = order
        .validate()
        .expect_err("the seed's example is inconsistent");
    assert_eq!(errors.len(), 4, "{errors}");
    // Reported in field order: top-level fields first, then the line's.
    assert_eq!(
        paths(&errors),
        [
            "order_amount",
            "order_tax_amount",
            "order_lines[0].total_amount",
            "order_lines[0].total_tax_amount",
        ],
        "{errors}"
    );
    // quantity × unit_price − discount = 1 × 2500 − 500 = 2000 ≠ 2500.
    let total = errors
        .at("order_lines[0].total_amount")
        .expect("line total");
    assert!(total.message().contains("2000"), "{}", total.message());
    // 2500 × 1900 / 11900 ≈ 399.16, and 475 is not within 1 of it.
    let tax = errors
        .at("order_lines[0].total_tax_amount")
        .expect("line tax");
    assert!(tax.message().contains("399"), "{}", tax.message());
    // 1 ≠ Σ total_amount = 2500.
    let amount = errors.at("order_amount").expect("order amount");
    assert!(amount.message().contains("2500"), "{}", amount.message());
    // 0 is not within 1 (one line) of Σ tax = 475.
    let order_tax = errors.at("order_tax_amount").expect("order tax");
    assert!(
        order_tax.message().contains("475"),
        "{}",
        order_tax.message()
    );
}

#[test]
pub(crate) fn seed_order_fixed_up_passes() {
    let mut v: Value = serde_json::from_slice(SEED_ORDER).expect("JSON");
    set(&mut v, "/order_lines/0/total_amount", json!(2000));
    set(&mut v, "/order_lines/0/total_tax_amount", json!(319)); // 2000 × 1900 / 11900 ≈ 319.3
    set(&mut v, "/order_amount", json!(2000));
    set(&mut v, "/order_tax_amount", json!(319));
    assert_valid(&v, "seed with consistent amounts");
}
