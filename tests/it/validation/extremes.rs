//! No panics on extreme input.

use klarna_customer_token::{OrderLine, OrderRequest};
use serde_json::json;

use super::builders::built;
use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 5. No panics on extreme input
// ---------------------------------------------------------------------------

pub(crate) const EXTREMES: [i64; 9] = [
    i64::MIN,
    i64::MIN + 1,
    -100_000_001,
    -1,
    0,
    1,
    100_000_001,
    i64::MAX - 1,
    i64::MAX,
];

#[test]
pub(crate) fn builders_survive_extreme_numbers() {
    for q in EXTREMES {
        for p in EXTREMES {
            for d in [None, Some(i64::MIN), Some(0), Some(i64::MAX)] {
                for r in [None, Some(i64::MIN), Some(-1), Some(1900), Some(i64::MAX)] {
                    let mut b = OrderLine::builder("x").quantity(q).unit_price(p);
                    if let Some(d) = d {
                        b = b.total_discount_amount(d);
                    }
                    if let Some(r) = r {
                        b = b.tax_rate(r);
                    }
                    match b.build() {
                        Ok(line) => {
                            let _ = OrderRequest::builder()
                                .purchase_currency("EUR")
                                .line(line.clone())
                                .line(line)
                                .build();
                        }
                        Err(e) => assert!(e.validation().is_some(), "{e}"),
                    }
                }
            }
        }
    }
    let err = OrderLine::builder("x")
        .quantity(i64::MAX)
        .unit_price(i64::MIN)
        .build()
        .expect_err("overflowing line");
    // The product does not fit the wire's 64 bits: the total cannot be sent.
    assert!(validation_of(&err).at("total_amount").is_some(), "{err}");
    for amount in EXTREMES {
        let _ = OrderRequest::builder()
            .purchase_currency("EUR")
            .line(built(OrderLine::builder("x").quantity(1).unit_price(1)))
            .order_amount(amount)
            .order_tax_amount(amount)
            .build();
    }
}

pub(crate) const NUMERIC_POINTERS: &[&str] = &[
    "/order_amount",
    "/order_tax_amount",
    "/order_lines/0/quantity",
    "/order_lines/0/unit_price",
    "/order_lines/0/total_amount",
    "/order_lines/0/total_discount_amount",
    "/order_lines/0/tax_rate",
    "/order_lines/0/total_tax_amount",
    "/order_lines/0/subscription/interval_count",
];

#[test]
pub(crate) fn json_with_extreme_numbers_never_panics() {
    for x in [i64::MIN, i64::MAX] {
        let mut v = full_order();
        for pointer in NUMERIC_POINTERS {
            set(&mut v, pointer, json!(x));
        }
        let errors = check(&v).expect_err("all extreme");
        assert!(!errors.is_empty());
    }
    // Each field alone at each extreme.
    for pointer in NUMERIC_POINTERS {
        for x in EXTREMES {
            let mut v = full_order();
            set(&mut v, pointer, json!(x));
            let _ = check(&v);
        }
    }
    // quantity i64::MAX × unit_price i64::MIN, with every other amount extreme.
    for total in [i64::MIN, 0, i64::MAX] {
        let mut v = full_order();
        set(&mut v, "/order_lines/0/quantity", json!(i64::MAX));
        set(&mut v, "/order_lines/0/unit_price", json!(i64::MIN));
        set(&mut v, "/order_lines/0/total_amount", json!(total));
        set(&mut v, "/order_lines/0/type", json!("discount"));
        let errors = check(&v).expect_err("overflowing product");
        assert!(
            errors.at("order_lines[0].total_amount").is_some(),
            "{errors}"
        );
    }
}

#[test]
pub(crate) fn ten_megabyte_strings_are_rejected_with_short_messages() {
    let huge = "é".repeat(5 * 1024 * 1024); // 10 MiB
    for (pointer, path) in [
        ("/order_lines/0/name", "order_lines[0].name"),
        ("/merchant_data", "merchant_data"),
        ("/purchase_currency", "purchase_currency"),
        ("/shipping_address/email", "shipping_address.email"),
        ("/shipping_address/country", "shipping_address.country"),
    ] {
        let mut v = full_order();
        set(&mut v, pointer, json!(huge));
        // The body is over Klarna's 1 MB too (the empty path).
        let errors = assert_violations(&v, &["", path], path);
        assert!(errors.to_string().len() < 1000, "{path}: message too long");
    }
    // Rejected at the right path too (their messages are long: see the
    // ignored test below).
    for (pointer, path) in [
        ("/order_lines/0/type", "order_lines[0].type"),
        (
            "/order_lines/0/subscription/interval",
            "order_lines[0].subscription.interval",
        ),
    ] {
        let mut v = full_order();
        set(&mut v, pointer, json!(huge));
        assert_violations(&v, &["", path], path);
    }
    let err = OrderLine::builder(huge.clone())
        .quantity(1)
        .unit_price(1)
        .build()
        .expect_err("10 MB name");
    assert_eq!(paths(validation_of(&err)), ["name"]);
    assert!(err.to_string().len() < 1000);
    let err = OrderRequest::builder()
        .purchase_currency("EUR")
        .merchant_data(huge)
        .line(built(OrderLine::builder("x").quantity(1).unit_price(1)))
        .build()
        .expect_err("10 MB merchant_data");
    assert_eq!(paths(validation_of(&err)), ["", "merchant_data"]);
}

#[test]
pub(crate) fn deeply_nested_json_is_rejected_without_overflowing_the_stack() {
    for text in [
        "[".repeat(100_000),
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        format!("{{\"merchant_data\":{}", "[".repeat(100_000)),
    ] {
        let err = OrderRequest::from_json(text.as_bytes()).expect_err("not an order");
        assert!(err.validation().is_some());
    }
}
