//! Schema constraints: lengths, patterns, minimums, enums.

use klarna_customer_token::{OrderLine, OrderLineType, SubscriptionInterval, limits};
use serde_json::{Value, json};

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 2. Schema constraints
// ---------------------------------------------------------------------------

#[test]
pub(crate) fn the_base_orders_are_valid() {
    assert_valid(&simple_order(), "simple order");
    assert_valid(&full_order(), "full order");
}

#[test]
pub(crate) fn order_amount_is_at_least_one() {
    for bad in [0, -1, i64::MIN] {
        let mut v = simple_order();
        set(&mut v, "/order_amount", json!(bad));
        // The sum rule is skipped: the field is already reported.
        assert_violations(&v, &["order_amount"], &format!("order_amount {bad}"));
    }
    assert_valid(&order(vec![line("x", 1, 1, 1)], 1, 0), "order_amount 1");
}

#[test]
pub(crate) fn order_tax_amount_is_not_negative() {
    for bad in [-1, i64::MIN] {
        let mut us = simple_order();
        set(&mut us, "/order_tax_amount", json!(bad));
        assert_violations(&us, &["order_tax_amount"], &format!("US tax {bad}"));
        let mut eu = full_order();
        set(&mut eu, "/order_tax_amount", json!(bad));
        assert_violations(&eu, &["order_tax_amount"], &format!("EU tax {bad}"));
    }
    // 0 at a 0 % rate.
    assert_valid(&order(vec![eu_line(1, 100, 0, 0)], 100, 0), "tax 0");
}

#[test]
pub(crate) fn purchase_currency_is_three_ascii_letters() {
    for bad in [
        "",
        "G",
        "GB",
        "GBPX",
        "G1P",
        "ÄBC",
        "€UR",
        "GB ",
        " GB",
        "G-P",
        "ＧＢＰ",
        "GB\u{0}",
    ] {
        let mut v = simple_order();
        set(&mut v, "/purchase_currency", json!(bad));
        assert_violations(&v, &["purchase_currency"], &format!("currency {bad:?}"));
    }
    for good in ["gbp", "GBP", "Eur", "xYz"] {
        let mut v = simple_order();
        set(&mut v, "/purchase_currency", json!(good));
        assert_valid(&v, &format!("currency {good:?}"));
    }
}

pub(crate) fn lines_order(n: usize) -> Value {
    let lines: Vec<Value> = (0..n)
        .map(|i| line(&format!("Item {i}"), 1, 1, 1))
        .collect();
    let amount = i64::try_from(n.max(1)).expect("small");
    order(lines, amount, 0)
}

#[test]
pub(crate) fn an_order_holds_1_to_1000_lines() {
    assert_eq!(
        (limits::MIN_ORDER_LINES, limits::MAX_ORDER_LINES),
        (1, 1000)
    );
    assert_violations(&lines_order(0), &["order_lines"], "0 lines");
    assert_valid(&lines_order(1), "1 line");
    assert_valid(&lines_order(1000), "1000 lines");
    assert_violations(&lines_order(1001), &["order_lines"], "1001 lines");
}

/// (JSON pointer into `full_order()`, min chars, max chars).
pub(crate) const STRING_LIMITS: &[(&str, usize, usize)] = &[
    ("/merchant_data", 0, 6000),
    ("/merchant_reference1", 0, 255),
    ("/merchant_reference2", 0, 255),
    ("/merchant_urls/confirmation", 0, 2000),
    ("/merchant_urls/push", 0, 2000),
    ("/order_lines/1/name", 1, 255),
    ("/order_lines/1/reference", 0, 256),
    ("/order_lines/1/merchant_data", 0, 255),
    ("/order_lines/1/image_url", 0, 1024),
    ("/order_lines/1/product_url", 0, 1024),
    ("/order_lines/1/quantity_unit", 1, 8),
    ("/order_lines/1/product_identifiers/brand", 0, 70),
    ("/order_lines/1/product_identifiers/category_path", 0, 750),
    (
        "/order_lines/1/product_identifiers/global_trade_item_number",
        0,
        50,
    ),
    (
        "/order_lines/1/product_identifiers/manufacturer_part_number",
        0,
        70,
    ),
    ("/order_lines/1/product_identifiers/color", 0, 64),
    ("/order_lines/1/product_identifiers/size", 0, 64),
    ("/shipping_address/attention", 0, 99),
    ("/shipping_address/city", 0, 99),
    ("/shipping_address/email", 0, 99),
    ("/shipping_address/family_name", 0, 99),
    ("/shipping_address/given_name", 0, 99),
    ("/shipping_address/organization_name", 0, 99),
    ("/shipping_address/phone", 5, 99),
    ("/shipping_address/postal_code", 0, 10),
    ("/shipping_address/region", 0, 99),
    ("/shipping_address/street_address", 0, 99),
    ("/shipping_address/street_address2", 0, 99),
    ("/shipping_address/title", 0, 20),
];

#[test]
pub(crate) fn string_limits_match_the_published_constants() {
    let pairs = [
        (limits::MERCHANT_DATA, (0, 6000)),
        (limits::MERCHANT_REFERENCE, (0, 255)),
        (limits::MERCHANT_URL, (0, 2000)),
        (limits::LINE_NAME, (1, 255)),
        (limits::LINE_REFERENCE, (0, 256)),
        (limits::LINE_MERCHANT_DATA, (0, 255)),
        (limits::URL, (0, 1024)),
        (limits::QUANTITY_UNIT, (1, 8)),
        (limits::BRAND, (0, 70)),
        (limits::CATEGORY_PATH, (0, 750)),
        (limits::GTIN, (0, 50)),
        (limits::MPN, (0, 70)),
        (limits::COLOR, (0, 64)),
        (limits::SIZE, (0, 64)),
        (limits::ADDRESS_FIELD, (0, 99)),
        (limits::PHONE, (5, 99)),
        (limits::POSTAL_CODE, (0, 10)),
        (limits::TITLE, (0, 20)),
    ];
    for (length, (min, max)) in pairs {
        assert_eq!((length.min, length.max), (min, max));
    }
}

#[test]
pub(crate) fn string_limits_are_counted_in_characters() {
    for &(pointer, min, max) in STRING_LIMITS {
        let path = path_of(pointer);
        // One-, two- and four-byte characters: the limit is in characters.
        for ch in ['x', 'é', '😀'] {
            let text = |n: usize| json!(ch.to_string().repeat(n));
            let mut v = full_order();
            set(&mut v, pointer, text(max));
            assert_valid(&v, &format!("{path}: {max} × {ch:?}"));
            set(&mut v, pointer, text(max + 1));
            assert_violations(&v, &[&path], &format!("{path}: {} × {ch:?}", max + 1));
            set(&mut v, pointer, text(min));
            assert_valid(&v, &format!("{path}: {min} × {ch:?}"));
            if min > 0 {
                set(&mut v, pointer, text(min - 1));
                assert_violations(&v, &[&path], &format!("{path}: {} × {ch:?}", min - 1));
            }
        }
    }
}

#[test]
pub(crate) fn optional_strings_may_be_absent() {
    for &(pointer, _, _) in STRING_LIMITS {
        if pointer.ends_with("/name") || pointer.ends_with("/confirmation") {
            continue; // required
        }
        let mut v = full_order();
        remove(&mut v, pointer);
        assert_valid(&v, &format!("without {pointer}"));
    }
}

#[test]
pub(crate) fn line_name_limits_through_the_builder() {
    let build = |name: String| OrderLine::builder(name).quantity(1).unit_price(1).build();
    let ok = build("é".repeat(255)).expect("255 two-byte chars");
    assert_eq!(ok.name().chars().count(), 255);
    for bad in ["é".repeat(256), String::new()] {
        let err = build(bad).expect_err("bad name");
        assert_eq!(paths(validation_of(&err)), ["name"]);
    }
}

#[test]
pub(crate) fn country_is_two_ascii_letters_and_is_never_echoed() {
    for good in ["GB", "gb", "Se"] {
        let mut v = full_order();
        set(&mut v, "/shipping_address/country", json!(good));
        assert_valid(&v, &format!("country {good:?}"));
    }
    for bad in ["", "G", "GBR", "G1", "ÄB", "Ä", "QQ ", "1"] {
        let mut v = full_order();
        set(&mut v, "/shipping_address/country", json!(bad));
        let errors = assert_violations(
            &v,
            &["shipping_address.country"],
            &format!("country {bad:?}"),
        );
        if bad.len() > 1 {
            let message = errors
                .at("shipping_address.country")
                .expect("country")
                .message();
            assert!(!message.contains(bad), "echoes {bad:?}: {message}");
        }
    }
}

#[test]
pub(crate) fn subscription_interval_count_is_at_least_one() {
    for bad in [0, -1, i64::MIN] {
        let mut v = full_order();
        set(
            &mut v,
            "/order_lines/1/subscription/interval_count",
            json!(bad),
        );
        assert_violations(
            &v,
            &["order_lines[1].subscription.interval_count"],
            &format!("interval_count {bad}"),
        );
    }
    for good in [1, 12, i64::MAX] {
        let mut v = full_order();
        set(
            &mut v,
            "/order_lines/1/subscription/interval_count",
            json!(good),
        );
        assert_valid(&v, &format!("interval_count {good}"));
    }
}

#[test]
pub(crate) fn subscription_interval_must_be_known() {
    for good in SubscriptionInterval::KNOWN {
        let mut v = full_order();
        set(&mut v, "/order_lines/0/subscription/interval", json!(good));
        assert_valid(&v, &format!("interval {good}"));
    }
    for bad in ["FORTNIGHT", "month", "", "DAYS"] {
        let mut v = full_order();
        set(&mut v, "/order_lines/0/subscription/interval", json!(bad));
        assert_violations(
            &v,
            &["order_lines[0].subscription.interval"],
            &format!("interval {bad:?}"),
        );
    }
}

#[test]
pub(crate) fn line_type_must_be_known() {
    let base = order(
        vec![
            line("a", 1, 100, 100),
            line("b", 1, 100, 100),
            line("c", 1, 100, 100),
        ],
        300,
        0,
    );
    for good in OrderLineType::KNOWN {
        let mut v = base.clone();
        set(&mut v, "/order_lines/2/type", json!(good));
        if *good == "sales_tax" {
            set(&mut v, "/order_tax_amount", json!(100));
        }
        assert_valid(&v, &format!("type {good}"));
    }
    for bad in ["bundle", "PHYSICAL", "Physical", "", "discount "] {
        let mut v = base.clone();
        set(&mut v, "/order_lines/2/type", json!(bad));
        assert_violations(&v, &["order_lines[2].type"], &format!("type {bad:?}"));
    }
}

#[test]
pub(crate) fn tax_rate_is_0_to_10000() {
    assert_eq!(limits::MAX_TAX_RATE, 10_000);
    for bad in [-1, 10_001, i64::MIN, i64::MAX] {
        let mut v = simple_order();
        set(&mut v, "/order_lines/0/tax_rate", json!(bad));
        assert_violations(&v, &["order_lines[0].tax_rate"], &format!("tax_rate {bad}"));
    }
    // 1000 at 0 % carries 0 tax, at 100 % carries 500.
    assert_valid(&order(vec![eu_line(1, 1000, 0, 0)], 1000, 0), "rate 0");
    assert_valid(
        &order(vec![eu_line(1, 1000, 10_000, 500)], 1000, 500),
        "rate 10000",
    );
}

/// The description caps `unit_price` and `total_amount` at 100,000,000
/// and sets no minimum (the earlier rule also refused amounts below
/// −100,000,000, and a tax beyond ±100,000,000: no Klarna document states
/// either, so both went).
#[test]
pub(crate) fn unit_price_and_total_amount_are_at_most_100_million() {
    assert_eq!(limits::MAX_LINE_AMOUNT, 100_000_000);
    let at_limit = order(
        vec![
            line("big", 1, 100_000_000, 100_000_000),
            line("one", 1, 1, 1),
            typed_line("discount", 1, -100_000_000, -100_000_000),
        ],
        1,
        0,
    );
    assert_valid(&at_limit, "±100,000,000");
    let far_below = order(
        vec![
            line("a", 1, 100_000_000, 100_000_000),
            line("b", 1, 100_000_000, 100_000_000),
            line("c", 1, 100_000_000, 100_000_000),
            line("credit", 1, -250_000_000, -250_000_000),
        ],
        50_000_000,
        0,
    );
    assert_valid(&far_below, "a line of −250,000,000");

    // unit_price over the limit; the total is in range and the line rule skipped.
    let mut v = order(vec![line("x", 1, 100_000_001, 100_000_000)], 100_000_000, 0);
    set(&mut v, "/order_lines/0/total_discount_amount", json!(1));
    assert_violations(&v, &["order_lines[0].unit_price"], "unit_price 100,000,001");

    // total_amount over the limit; the order sum is skipped.
    let v = order(vec![line("x", 2, 60_000_000, 120_000_000)], 120_000_000, 0);
    assert_violations(&v, &["order_lines[0].total_amount"], "total 120,000,000");

    let v = order(vec![line("x", 1, i64::MAX, i64::MAX)], 1000, 0);
    assert_violations(
        &v,
        &["order_lines[0].unit_price", "order_lines[0].total_amount"],
        "amounts i64::MAX",
    );
    // i64::MIN is in range; only the order's arithmetic is wrong.
    let v = order(vec![line("x", 1, i64::MIN, i64::MIN)], 1000, 0);
    assert_violations(&v, &["order_amount"], "amounts i64::MIN");
}

#[test]
pub(crate) fn a_huge_line_tax_breaks_the_arithmetic() {
    let mut v = order(vec![eu_line(1, 1000, 1900, 160)], 1000, 160);
    set(
        &mut v,
        "/order_lines/0/total_tax_amount",
        json!(100_000_001),
    );
    assert_violations(
        &v,
        &["order_tax_amount", "order_lines[0].total_tax_amount"],
        "tax 100,000,001",
    );
}

/// Negative amounts are allowed on every line type (this replaces the
/// earlier rule that allowed them only on discount, gift_card and
/// store_credit lines): Klarna's discounts page shows a discount as a
/// negative physical line, and its schema sets no minimum.
#[test]
pub(crate) fn negative_amounts_are_allowed_on_every_line_type() {
    for kind in OrderLineType::KNOWN {
        let v = order(
            vec![line("x", 1, 1000, 1000), typed_line(kind, 1, -100, -100)],
            900,
            0,
        );
        if *kind == "sales_tax" {
            // A US order: its tax would be −100, below the minimum of 0.
            assert_violations(&v, &["order_tax_amount"], "negative sales_tax");
        } else {
            assert_valid(&v, &format!("negative {kind}"));
        }
    }
    // A line without a type is physical.
    let v = order(
        vec![line("x", 1, 1000, 1000), line("y", 1, -100, -100)],
        900,
        0,
    );
    assert_valid(&v, "negative untyped line");
    // With its tax, EU style.
    let v = order(
        vec![eu_line(1, 1190, 1900, 190), eu_line(1, -119, 1900, -19)],
        1071,
        171,
    );
    assert_valid(&v, "negative physical line with tax");
    // A negative total alone: 0 × 0 − 0 would be 0, so only the total is wrong.
    let v = order(vec![line("x", 1, 1000, 1000), line("y", 0, 0, -5)], 995, 0);
    assert_violations(&v, &["order_lines[1].total_amount"], "negative total");
    // The order total must still be at least 1.
    let v = order(
        vec![line("x", 1, 1000, 1000), line("y", 1, -1000, -1000)],
        0,
        0,
    );
    assert_violations(&v, &["order_amount"], "order total 0");
}

#[test]
pub(crate) fn quantity_is_not_negative() {
    for bad in [-1, i64::MIN] {
        let mut v = simple_order();
        set(&mut v, "/order_lines/0/quantity", json!(bad));
        assert_violations(&v, &["order_lines[0].quantity"], &format!("quantity {bad}"));
    }
    // Quantity 0 is allowed.
    let v = order(vec![line("x", 1, 10, 10), line("free", 0, 10, 0)], 10, 0);
    assert_valid(&v, "quantity 0");
}

#[test]
pub(crate) fn total_discount_amount_is_not_negative() {
    for bad in [-1, i64::MIN] {
        let mut v = simple_order();
        set(&mut v, "/order_lines/0/total_discount_amount", json!(bad));
        assert_violations(
            &v,
            &["order_lines[0].total_discount_amount"],
            &format!("discount {bad}"),
        );
    }
    let mut v = simple_order();
    set(&mut v, "/order_lines/0/total_discount_amount", json!(0));
    assert_valid(&v, "discount 0");
}
