//! The builders: the totals they fill in and the checks they run.

use klarna_customer_token::{
    OrderLine, OrderLineBuilder, OrderLineType, OrderRequest, SubscriptionInterval,
};
use serde_json::Value;

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 4. Builders
// ---------------------------------------------------------------------------

pub(crate) fn built(builder: OrderLineBuilder) -> OrderLine {
    match builder.build() {
        Ok(line) => line,
        Err(e) => panic!("line rejected: {e}"),
    }
}

#[test]
pub(crate) fn line_builder_fills_total_and_tax() {
    let l = built(
        OrderLine::builder("Running shoe")
            .quantity(2)
            .unit_price(2500)
            .total_discount_amount(500)
            .tax_rate(1900),
    );
    assert_eq!(l.total_amount(), 4500);
    assert_eq!(l.total_tax_amount(), Some(718)); // 718.49
    let l = built(OrderLine::builder("Plan").quantity(3).unit_price(1000));
    assert_eq!(l.total_amount(), 3000);
    assert_eq!(l.total_tax_amount(), None);
    assert_eq!(l.tax_rate(), None);
    let l = built(
        OrderLine::builder("Gift card")
            .line_type(OrderLineType::GiftCard)
            .quantity(1)
            .unit_price(-500)
            .tax_rate(1900),
    );
    assert_eq!(l.total_amount(), -500);
    assert_eq!(l.total_tax_amount(), Some(-80)); // −79.83
}

pub(crate) fn line_with_total(total: i64, rate: i64) -> OrderLine {
    let kind = if total < 0 {
        OrderLineType::Discount
    } else {
        OrderLineType::Physical
    };
    built(
        OrderLine::builder("x")
            .line_type(kind)
            .quantity(1)
            .unit_price(total)
            .tax_rate(rate),
    )
}

#[test]
pub(crate) fn line_builder_tax_rounds_half_away_from_zero() {
    let cases = [
        (1, 10_000, 1),   // 0.5
        (3, 10_000, 2),   // 1.5
        (-1, 10_000, -1), // −0.5
        (-3, 10_000, -2), // −1.5
        (3, 2000, 1),     // 0.5
        (9, 2000, 2),     // 1.5
        (-9, 2000, -2),   // −1.5
        (105, 500, 5),    // 5.0
        (21, 1000, 2),    // 1.909
        (11_900, 1900, 1900),
        (2500, 1900, 399),
        (-2500, 1900, -399),
        (0, 1900, 0),
        (1000, 0, 0),
        (100_000_000, 10_000, 50_000_000),
        (-100_000_000, 10_000, -50_000_000),
        (99_999_999, 10_000, 50_000_000), // 49,999,999.5
    ];
    for (total, rate, tax) in cases {
        let l = line_with_total(total, rate);
        assert_eq!(l.total_tax_amount(), Some(tax), "{total} at {rate}");
    }
    for total in -300..=300 {
        for rate in [0, 1, 7, 500, 1900, 2000, 2500, 3333, 9999, 10_000] {
            let l = line_with_total(total, rate);
            assert_eq!(
                l.total_tax_amount(),
                Some(reference_tax(total, rate)),
                "{total} at {rate}"
            );
        }
    }
}

#[test]
pub(crate) fn line_builder_keeps_explicit_totals_and_checks_them() {
    let l = built(
        OrderLine::builder("x")
            .quantity(1)
            .unit_price(11_900)
            .tax_rate(1900)
            .total_tax_amount(1901),
    );
    assert_eq!(l.total_tax_amount(), Some(1901));
    let err = OrderLine::builder("x")
        .quantity(2)
        .unit_price(100)
        .total_amount(201)
        .build()
        .expect_err("wrong total");
    assert_eq!(paths(validation_of(&err)), ["total_amount"]);
    let err = OrderLine::builder("x")
        .quantity(1)
        .unit_price(11_900)
        .tax_rate(1900)
        .total_tax_amount(1902)
        .build()
        .expect_err("wrong tax");
    assert_eq!(paths(validation_of(&err)), ["total_tax_amount"]);
    let err = OrderLine::builder("x")
        .quantity(1)
        .unit_price(100)
        .tax_rate(10_001)
        .build()
        .expect_err("bad rate");
    assert_eq!(paths(validation_of(&err)), ["tax_rate"]);
}

#[test]
pub(crate) fn line_builder_requires_quantity_and_unit_price() {
    let err = OrderLine::builder("x")
        .unit_price(1)
        .build()
        .expect_err("no quantity");
    assert_eq!(paths(validation_of(&err)), ["quantity"]);
    let err = OrderLine::builder("x")
        .quantity(1)
        .build()
        .expect_err("no unit price");
    assert_eq!(paths(validation_of(&err)), ["unit_price"]);
    let err = OrderLine::builder("x").build().expect_err("neither");
    assert_eq!(
        sorted_paths(validation_of(&err)),
        ["quantity", "unit_price"]
    );
}

#[test]
pub(crate) fn order_builder_requires_a_currency() {
    let err = OrderRequest::builder()
        .line(built(OrderLine::builder("x").quantity(1).unit_price(1)))
        .build()
        .expect_err("no currency");
    assert_eq!(paths(validation_of(&err)), ["purchase_currency"]);
    assert!(err.to_string().contains("purchase_currency"), "{err}");
}

#[test]
pub(crate) fn order_builder_fills_eu_totals() {
    let order = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(built(
            OrderLine::builder("Shoe")
                .quantity(2)
                .unit_price(2500)
                .total_discount_amount(500)
                .tax_rate(1900),
        ))
        .line(built(
            OrderLine::builder("Welcome")
                .line_type(OrderLineType::Discount)
                .quantity(1)
                .unit_price(-500)
                .tax_rate(1900),
        ))
        .line(built(
            OrderLine::builder("Shipping")
                .line_type(OrderLineType::ShippingFee)
                .quantity(1)
                .unit_price(490)
                .tax_rate(2500),
        ))
        .build()
        .expect("valid");
    assert_eq!(order.order_amount(), 4500 - 500 + 490);
    assert_eq!(order.order_tax_amount(), 718 - 80 + 98);
    order.validate().expect("still valid");
}

#[test]
pub(crate) fn order_builder_fills_us_totals() {
    let order = OrderRequest::builder()
        .purchase_currency("USD")
        .lines([
            built(OrderLine::builder("Widget").quantity(2).unit_price(5000)),
            built(
                OrderLine::builder("Tax")
                    .line_type(OrderLineType::SalesTax)
                    .quantity(1)
                    .unit_price(825),
            ),
        ])
        .build()
        .expect("valid");
    assert_eq!(order.order_amount(), 10_825);
    assert_eq!(order.order_tax_amount(), 825);

    let untaxed = OrderRequest::builder()
        .purchase_currency("USD")
        .line(built(
            OrderLine::builder("Widget").quantity(2).unit_price(5000),
        ))
        .build()
        .expect("valid");
    assert_eq!(untaxed.order_tax_amount(), 0);
}

#[test]
pub(crate) fn order_builder_keeps_explicit_totals_and_checks_them() {
    let shoe = || {
        built(
            OrderLine::builder("Shoe")
                .quantity(1)
                .unit_price(11_900)
                .tax_rate(1900),
        )
    };
    let order = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(shoe())
        .order_tax_amount(1901)
        .build()
        .expect("within tolerance");
    assert_eq!(order.order_tax_amount(), 1901);
    let err = OrderRequest::builder()
        .purchase_currency("EUR")
        .line(shoe())
        .order_amount(11_901)
        .order_tax_amount(1902)
        .build()
        .expect_err("both wrong");
    assert_eq!(
        paths(validation_of(&err)),
        ["order_amount", "order_tax_amount"]
    );
    let err = OrderRequest::builder()
        .purchase_currency("EUR")
        .build()
        .expect_err("no lines");
    assert_eq!(
        sorted_paths(validation_of(&err)),
        ["order_amount", "order_lines"]
    );
}

#[test]
pub(crate) fn order_builder_output_round_trips() {
    let order = OrderRequest::builder()
        .purchase_currency("SEK")
        .merchant_reference1("ON4711")
        .merchant_reference2("ref-2")
        .merchant_data("{\"a\":1}")
        .auto_capture(true)
        .merchant_urls(
            klarna_customer_token::MerchantUrls::new("https://shop.example/ok")
                .with_push("https://shop.example/push"),
        )
        .attachment(klarna_customer_token::Attachment::new(
            "application/vnd.klarna.internal.emd-v2+json",
            "{}",
        ))
        .shipping_address(
            klarna_customer_token::Address::new()
                .with_given_name("Adam")
                .with_country("SE")
                .with_phone("+46701234567"),
        )
        .line(built(
            OrderLine::builder("Plan")
                .quantity(1)
                .unit_price(9900)
                .tax_rate(2500)
                .quantity_unit("pcs")
                .reference("P-1")
                .product_identifiers(
                    klarna_customer_token::ProductIdentifiers::new().with_brand("b"),
                )
                .subscription(klarna_customer_token::Subscription::new(
                    "Gold",
                    SubscriptionInterval::Month,
                    1,
                )),
        ))
        .build()
        .expect("valid");
    let back = OrderRequest::from_json(&order.to_json()).expect("reloads");
    assert_eq!(back, order);
    assert_eq!(
        serde_json::to_value(&back).expect("serializes"),
        serde_json::from_slice::<Value>(&order.to_json()).expect("JSON")
    );
}
