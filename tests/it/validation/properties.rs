//! Property tests: the builders' output, one broken rule at a time, and
//! arbitrary input.

use klarna_customer_token::{
    Error, OrderLine, OrderLineBuilder, OrderLineType, OrderRequest, OrderRequestBuilder,
    SubscriptionInterval,
};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Value, json};

use crate::support::validation::*;

// ---------------------------------------------------------------------------
// 7. Property tests
// ---------------------------------------------------------------------------

/// Any characters, `min..=max` of them.
pub(crate) fn text(min: usize, max: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), min..=max).prop_map(String::from_iter)
}

pub(crate) fn line_kind() -> impl Strategy<Value = Option<OrderLineType>> {
    line_kind_in(true)
}

/// Line types; `sales_tax` only in orders taxed US style (`us`).
pub(crate) fn line_kind_in(us: bool) -> impl Strategy<Value = Option<OrderLineType>> {
    let sales_tax = if us { 1 } else { 0 };
    prop_oneof![
        4 => Just(None),
        4 => Just(Some(OrderLineType::Physical)),
        2 => Just(Some(OrderLineType::Digital)),
        1 => Just(Some(OrderLineType::ShippingFee)),
        sales_tax => Just(Some(OrderLineType::SalesTax)),
        1 => Just(Some(OrderLineType::Surcharge)),
        2 => Just(Some(OrderLineType::Discount)),
        1 => Just(Some(OrderLineType::GiftCard)),
        1 => Just(Some(OrderLineType::StoreCredit)),
    ]
}

pub(crate) fn interval() -> impl Strategy<Value = SubscriptionInterval> {
    prop_oneof![
        Just(SubscriptionInterval::Day),
        Just(SubscriptionInterval::Week),
        Just(SubscriptionInterval::Month),
        Just(SubscriptionInterval::Year),
    ]
}

#[derive(Clone, Debug)]
pub(crate) struct LineSpec {
    name: String,
    kind: Option<OrderLineType>,
    quantity: i64,
    unit_price: i64,
    discount: Option<i64>,
    tax_rate: Option<i64>,
    reference: Option<String>,
    quantity_unit: Option<String>,
    merchant_data: Option<String>,
    product_url: Option<String>,
    brand: Option<String>,
    subscription: Option<(String, SubscriptionInterval, i64)>,
}

impl LineSpec {
    pub(crate) fn total(&self) -> i64 {
        self.quantity * self.unit_price - self.discount.unwrap_or(0)
    }
    pub(crate) fn tax(&self) -> Option<i64> {
        self.tax_rate.map(|r| reference_tax(self.total(), r))
    }
    pub(crate) fn is_sales_tax(&self) -> bool {
        self.kind == Some(OrderLineType::SalesTax)
    }
    pub(crate) fn builder(&self) -> OrderLineBuilder {
        let mut b = OrderLine::builder(self.name.clone())
            .quantity(self.quantity)
            .unit_price(self.unit_price);
        if let Some(k) = &self.kind {
            b = b.line_type(k.clone());
        }
        if let Some(d) = self.discount {
            b = b.total_discount_amount(d);
        }
        if let Some(r) = self.tax_rate {
            b = b.tax_rate(r);
        }
        if let Some(s) = &self.reference {
            b = b.reference(s.clone());
        }
        if let Some(s) = &self.quantity_unit {
            b = b.quantity_unit(s.clone());
        }
        if let Some(s) = &self.merchant_data {
            b = b.merchant_data(s.clone());
        }
        if let Some(s) = &self.product_url {
            b = b.product_url(s.clone()).image_url(s.clone());
        }
        if let Some(s) = &self.brand {
            b = b.product_identifiers(
                klarna_customer_token::ProductIdentifiers::new()
                    .with_brand(s.clone())
                    .with_color("white"),
            );
        }
        if let Some((name, interval, count)) = &self.subscription {
            b = b.subscription(klarna_customer_token::Subscription::new(
                name.clone(),
                interval.clone(),
                *count,
            ));
        }
        b
    }
}

pub(crate) fn line_spec(eu: bool) -> impl Strategy<Value = LineSpec> {
    let rate = if eu {
        prop_oneof![
            4 => 0..=10_000i64,
            1 => prop::sample::select(vec![0i64, 600, 1900, 2500, 10_000]),
        ]
        .prop_map(Some)
        .boxed()
    } else {
        // US style: no rate, or a rate of 0, as shops send.
        prop::option::weighted(0.3, Just(0i64)).boxed()
    };
    (
        (
            line_kind_in(!eu),
            0..=1000i64,
            0..=100_000i64,
            prop::option::of(0..=1000i64),
            rate,
        ),
        (
            text(1, 255),
            prop::option::weighted(0.3, text(0, 256)),
            prop::option::weighted(0.3, text(1, 8)),
            prop::option::weighted(0.2, text(0, 255)),
            prop::option::weighted(0.1, text(0, 1024)),
            prop::option::weighted(0.2, text(0, 70)),
            prop::option::weighted(0.2, (text(0, 40), interval(), 1..=i64::MAX)),
        ),
    )
        .prop_map(
            |(
                (kind, quantity, magnitude, permille, tax_rate),
                (name, reference, quantity_unit, merchant_data, product_url, brand, subscription),
            )| {
                // Negative amounts on discount-like lines, and now and then
                // on a physical one (Klarna's way of showing a discount).
                let negative = kind.as_ref().is_some_and(discount_like)
                    || (kind.as_ref().is_none_or(|k| *k == OrderLineType::Physical)
                        && magnitude % 7 == 0);
                let (unit_price, discount) = if negative {
                    // Negative prices; a discount would push the total further down.
                    (-magnitude, permille.map(|_| 0))
                } else {
                    (
                        magnitude,
                        permille.map(|pm| quantity * magnitude * pm / 1000),
                    )
                };
                LineSpec {
                    name,
                    kind,
                    quantity,
                    unit_price,
                    discount,
                    tax_rate,
                    reference,
                    quantity_unit,
                    merchant_data,
                    product_url,
                    brand,
                    subscription,
                }
            },
        )
}

#[derive(Clone, Debug)]
pub(crate) struct OrderSpec {
    eu: bool,
    currency: String,
    lines: Vec<LineSpec>,
    merchant_reference1: Option<String>,
    merchant_data: Option<String>,
    confirmation: Option<String>,
    auto_capture: Option<bool>,
    address: Option<(String, String, String, String, String)>,
}

impl OrderSpec {
    pub(crate) fn expected_amount(&self) -> i64 {
        self.lines.iter().map(LineSpec::total).sum()
    }
    pub(crate) fn expected_tax(&self) -> i64 {
        if self.lines.iter().any(LineSpec::is_sales_tax) {
            self.lines
                .iter()
                .filter(|l| l.is_sales_tax())
                .map(LineSpec::total)
                .sum()
        } else {
            self.lines.iter().filter_map(LineSpec::tax).sum()
        }
    }
    pub(crate) fn builder(&self, lines: Vec<OrderLine>) -> OrderRequestBuilder {
        let mut b = OrderRequest::builder()
            .purchase_currency(self.currency.clone())
            .lines(lines);
        if let Some(s) = &self.merchant_reference1 {
            b = b.merchant_reference1(s.clone());
        }
        if let Some(s) = &self.merchant_data {
            b = b.merchant_data(s.clone());
        }
        if let Some(s) = &self.confirmation {
            b = b.merchant_urls(
                klarna_customer_token::MerchantUrls::new(s.clone()).with_push(s.clone()),
            );
        }
        if let Some(a) = self.auto_capture {
            b = b.auto_capture(a);
        }
        if let Some((country, phone, city, postal_code, title)) = &self.address {
            b = b.shipping_address(
                klarna_customer_token::Address::new()
                    .with_country(country.clone())
                    .with_phone(phone.clone())
                    .with_city(city.clone())
                    .with_postal_code(postal_code.clone())
                    .with_title(title.clone()),
            );
        }
        b
    }
    /// Builds every line (each must be accepted) and then the order.
    pub(crate) fn build(&self) -> Result<Result<OrderRequest, Error>, TestCaseError> {
        let mut lines = Vec::with_capacity(self.lines.len());
        for spec in &self.lines {
            let l = spec
                .builder()
                .build()
                .map_err(|e| TestCaseError::fail(format!("valid line rejected: {e}")))?;
            prop_assert_eq!(l.total_amount(), spec.total());
            prop_assert_eq!(l.total_tax_amount(), spec.tax());
            lines.push(l);
        }
        Ok(self.builder(lines).build())
    }
}

pub(crate) fn order_spec() -> impl Strategy<Value = OrderSpec> {
    any::<bool>().prop_flat_map(|eu| {
        (
            prop::collection::vec(line_spec(eu), 1..=50),
            "[A-Za-z]{3}",
            prop::option::weighted(0.3, text(0, 255)),
            prop::option::weighted(0.1, text(0, 6000)),
            prop::option::weighted(0.2, text(0, 2000)),
            prop::option::of(any::<bool>()),
            prop::option::weighted(
                0.3,
                (
                    "[A-Za-z]{2}",
                    text(5, 99),
                    text(0, 99),
                    text(0, 10),
                    text(0, 20),
                ),
            ),
        )
            .prop_map(
                move |(
                    lines,
                    currency,
                    merchant_reference1,
                    merchant_data,
                    confirmation,
                    auto_capture,
                    address,
                )| OrderSpec {
                    eu,
                    currency,
                    lines,
                    merchant_reference1,
                    merchant_data,
                    confirmation,
                    auto_capture,
                    address,
                },
            )
    })
}

/// Orders the builder accepts: the sum of the lines is at least 1 and the
/// order's tax is not negative.
pub(crate) fn buildable_order_spec() -> impl Strategy<Value = OrderSpec> {
    order_spec().prop_filter("order totals out of range", |s| {
        s.expected_amount() >= 1 && s.expected_tax() >= 0
    })
}

/// One rule broken on purpose.
#[derive(Clone, Debug)]
pub(crate) enum Mutation {
    LineTotal(Index, i64),
    OrderAmount(i64),
    TaxRate(Index, i64),
    LineTax(Index, i64),
    OrderTax(i64, bool),
    Currency(String),
    LongName(Index, String),
    EmptyName(Index),
    NegativeQuantity(Index, i64),
    NegativeDiscount(Index, i64),
    UnitPriceOutOfRange(Index, i64),
    UnknownType(Index, String),
    QuantityUnit(Index, String),
    IntervalCount(Index, i64),
    Country(String),
    ShortPhone(String),
    MerchantData(String),
    TooManyLines,
}

pub(crate) fn non_zero(limit: i64) -> impl Strategy<Value = i64> {
    prop_oneof![1..=limit, -limit..=-1]
}

pub(crate) fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<Index>(), non_zero(1_000_000_000)).prop_map(|(i, d)| Mutation::LineTotal(i, d)),
        3 => non_zero(1_000_000_000).prop_map(Mutation::OrderAmount),
        2 => (any::<Index>(), prop_oneof![i64::MIN..0, 10_001..=i64::MAX])
            .prop_map(|(i, r)| Mutation::TaxRate(i, r)),
        3 => (any::<Index>(), prop_oneof![2..=1_000_000i64, -1_000_000..=-2i64])
            .prop_map(|(i, d)| Mutation::LineTax(i, d)),
        3 => (1..=1_000_000i64, any::<bool>()).prop_map(|(d, up)| Mutation::OrderTax(d, up)),
        2 => prop_oneof![
            "[A-Za-z]{0,2}",
            "[A-Za-z]{4,8}",
            "[A-Za-z]{0,2}[^A-Za-z][A-Za-z]{0,2}",
        ]
        .prop_map(Mutation::Currency),
        2 => (any::<Index>(), text(256, 400)).prop_map(|(i, s)| Mutation::LongName(i, s)),
        1 => any::<Index>().prop_map(Mutation::EmptyName),
        1 => (any::<Index>(), i64::MIN..0).prop_map(|(i, q)| Mutation::NegativeQuantity(i, q)),
        1 => (any::<Index>(), i64::MIN..0).prop_map(|(i, d)| Mutation::NegativeDiscount(i, d)),
        1 => (any::<Index>(), 100_000_001..=i64::MAX)
            .prop_map(|(i, p)| Mutation::UnitPriceOutOfRange(i, p)),
        1 => (any::<Index>(), "[A-Za-z_ ]{0,20}")
            .prop_filter("unknown", |(_, s)| !OrderLineType::KNOWN.contains(&s.as_str()))
            .prop_map(|(i, s)| Mutation::UnknownType(i, s)),
        1 => (any::<Index>(), prop_oneof![Just(String::new()), text(9, 30)])
            .prop_map(|(i, s)| Mutation::QuantityUnit(i, s)),
        1 => (any::<Index>(), i64::MIN..=0).prop_map(|(i, c)| Mutation::IntervalCount(i, c)),
        1 => prop_oneof!["[A-Za-z]{0,1}", "[A-Za-z]{3,5}", "[^A-Za-z][A-Za-z]", "[A-Za-z][^A-Za-z]"]
            .prop_map(Mutation::Country),
        1 => text(0, 4).prop_map(Mutation::ShortPhone),
        1 => text(6001, 6100).prop_map(Mutation::MerchantData),
        1 => Just(Mutation::TooManyLines),
    ]
}

pub(crate) fn get_i64(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

/// Applies the mutation to a valid order's JSON and returns the path where a
/// violation must then be reported.
pub(crate) fn apply(v: &mut Value, m: &Mutation, eu: bool) -> String {
    let n = v["order_lines"].as_array().map_or(0, Vec::len);
    let at = |i: &Index, field: &str| {
        let i = i.index(n);
        (
            format!("/order_lines/{i}/{field}"),
            format!("order_lines[{i}].{field}"),
        )
    };
    match m {
        Mutation::LineTotal(i, d) => {
            let (p, path) = at(i, "total_amount");
            let current = get_i64(&*v, &p);
            set(v, &p, json!(current + d));
            path
        }
        Mutation::OrderAmount(d) => {
            let current = get_i64(&*v, "/order_amount");
            set(v, "/order_amount", json!(current + d));
            "order_amount".to_owned()
        }
        Mutation::TaxRate(i, r) => {
            let (p, path) = at(i, "tax_rate");
            set(v, &p, json!(r));
            path
        }
        Mutation::LineTax(i, d) => {
            let (p, path) = at(i, "total_tax_amount");
            // EU: the stated tax is within ½ of the exact one, so ±2 or more
            // breaks the ±1 tolerance. US: the line gets a rate of 0, whose
            // tax must be within 1 of 0 (and, beside a sales_tax line,
            // absent or 0).
            let current = if eu { get_i64(&*v, &p) } else { 0 };
            if !eu {
                let (rate, _) = at(i, "tax_rate");
                set(v, &rate, json!(0));
            }
            set(v, &p, json!(current + d));
            path
        }
        Mutation::OrderTax(d, up) => {
            let current = get_i64(&*v, "/order_tax_amount");
            let us = v["order_lines"]
                .as_array()
                .is_some_and(|lines| lines.iter().any(|l| l["type"] == "sales_tax"));
            // US style is exact; EU style tolerates ± the number of lines.
            let tolerance = if us {
                0
            } else {
                i64::try_from(n).expect("small")
            };
            let shift = tolerance + d;
            set(
                v,
                "/order_tax_amount",
                json!(if *up {
                    current + shift
                } else {
                    current - shift
                }),
            );
            "order_tax_amount".to_owned()
        }
        Mutation::Currency(c) => {
            set(v, "/purchase_currency", json!(c));
            "purchase_currency".to_owned()
        }
        Mutation::LongName(i, s) => {
            let (p, path) = at(i, "name");
            set(v, &p, json!(s));
            path
        }
        Mutation::EmptyName(i) => {
            let (p, path) = at(i, "name");
            set(v, &p, json!(""));
            path
        }
        Mutation::NegativeQuantity(i, q) => {
            let (p, path) = at(i, "quantity");
            set(v, &p, json!(q));
            path
        }
        Mutation::NegativeDiscount(i, d) => {
            let (p, path) = at(i, "total_discount_amount");
            set(v, &p, json!(d));
            path
        }
        Mutation::UnitPriceOutOfRange(i, price) => {
            let (p, path) = at(i, "unit_price");
            set(v, &p, json!(price));
            path
        }
        Mutation::UnknownType(i, s) => {
            let (p, path) = at(i, "type");
            set(v, &p, json!(s));
            path
        }
        Mutation::QuantityUnit(i, s) => {
            let (p, path) = at(i, "quantity_unit");
            set(v, &p, json!(s));
            path
        }
        Mutation::IntervalCount(i, c) => {
            let (p, path) = at(i, "subscription");
            set(
                v,
                &p,
                json!({"name": "Plan", "interval": "MONTH", "interval_count": c}),
            );
            format!("{path}.interval_count")
        }
        Mutation::Country(c) => {
            if v.get("shipping_address").is_none() {
                set(v, "/shipping_address", json!({}));
            }
            set(v, "/shipping_address/country", json!(c));
            "shipping_address.country".to_owned()
        }
        Mutation::ShortPhone(s) => {
            if v.get("shipping_address").is_none() {
                set(v, "/shipping_address", json!({}));
            }
            set(v, "/shipping_address/phone", json!(s));
            "shipping_address.phone".to_owned()
        }
        Mutation::MerchantData(s) => {
            set(v, "/merchant_data", json!(s));
            "merchant_data".to_owned()
        }
        Mutation::TooManyLines => {
            let lines = v["order_lines"].as_array_mut().expect("lines");
            let first = lines[0].clone();
            lines.resize(1001, first);
            "order_lines".to_owned()
        }
    }
}

// -- arbitrary values ------------------------------------------------------

pub(crate) fn wild_string() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => text(0, 12),
        1 => text(0, 300),
        1 => "[A-Za-z]{0,4}",
    ]
}

pub(crate) fn wild_line() -> impl Strategy<Value = Value> {
    (
        (
            any::<i64>(),
            any::<i64>(),
            any::<i64>(),
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
            prop::option::of(any::<i64>()),
        ),
        (
            wild_string(),
            prop::option::of(prop_oneof![
                prop::sample::select(OrderLineType::KNOWN.to_vec()).prop_map(str::to_owned),
                wild_string(),
            ]),
            prop::option::of(wild_string()),
            prop::option::of(wild_string()),
            prop::option::of((wild_string(), wild_string(), any::<i64>())),
            prop::option::of((wild_string(), wild_string())),
        ),
    )
        .prop_map(
            |(
                (quantity, unit_price, total_amount, discount, rate, tax),
                (name, kind, unit, reference, subscription, ids),
            )| {
                let mut v = line(&name, quantity, unit_price, total_amount);
                let optional = [
                    ("total_discount_amount", discount.map(|x| json!(x))),
                    ("tax_rate", rate.map(|x| json!(x))),
                    ("total_tax_amount", tax.map(|x| json!(x))),
                    ("type", kind.map(|x| json!(x))),
                    ("quantity_unit", unit.map(|x| json!(x))),
                    ("reference", reference.map(|x| json!(x))),
                    (
                        "subscription",
                        subscription.map(|(name, interval, count)| {
                            json!({"name": name, "interval": interval, "interval_count": count})
                        }),
                    ),
                    (
                        "product_identifiers",
                        ids.map(|(brand, gtin)| json!({"brand": brand, "global_trade_item_number": gtin})),
                    ),
                ];
                for (field, value) in optional {
                    if let Some(value) = value {
                        set(&mut v, &format!("/{field}"), value);
                    }
                }
                v
            },
        )
}

pub(crate) fn wild_order() -> impl Strategy<Value = Value> {
    (
        any::<i64>(),
        any::<i64>(),
        wild_string(),
        prop::collection::vec(wild_line(), 0..=6),
        prop::option::of(wild_string()),
        prop::option::of((wild_string(), wild_string(), wild_string())),
    )
        .prop_map(|(amount, tax, currency, lines, merchant_data, address)| {
            let mut v = json!({
                "order_amount": amount,
                "order_tax_amount": tax,
                "purchase_currency": currency,
                "order_lines": lines,
            });
            if let Some(m) = merchant_data {
                set(&mut v, "/merchant_data", json!(m));
            }
            if let Some((country, phone, title)) = address {
                set(
                    &mut v,
                    "/shipping_address",
                    json!({"country": country, "phone": phone, "title": title}),
                );
            }
            v
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// (a) Every order the builders accept validates and round-trips; the
    /// only orders refused are those whose totals leave the allowed range.
    #[test]
    fn builder_output_validates_and_round_trips(spec in order_spec()) {
        let amount = spec.expected_amount();
        let tax = spec.expected_tax();
        match spec.build()? {
            Ok(order) => {
                prop_assert!(amount >= 1 && tax >= 0);
                prop_assert_eq!(order.order_amount(), amount);
                prop_assert_eq!(order.order_tax_amount(), tax);
                prop_assert_eq!(order.order_lines().len(), spec.lines.len());
                if let Err(e) = order.validate() {
                    return Err(TestCaseError::fail(format!("built order fails validation: {e}")));
                }
                let json = order.to_json();
                let back = OrderRequest::from_json(&json)?;
                prop_assert_eq!(&back, &order);
                prop_assert_eq!(
                    serde_json::from_slice::<Value>(&json)?,
                    serde_json::to_value(&order)?
                );
                prop_assert!(back.validate().is_ok());
            }
            Err(e) => {
                let errors = e.validation().ok_or_else(|| TestCaseError::fail(format!("{e}")))?;
                let mut expected = Vec::new();
                if amount < 1 {
                    expected.push("order_amount".to_owned());
                }
                if tax < 0 {
                    expected.push("order_tax_amount".to_owned());
                }
                prop_assert!(!expected.is_empty(), "valid order rejected: {}", errors);
                prop_assert_eq!(sorted_paths(errors), expected);
            }
        }
    }

    /// (b) Breaking one rule of a valid order is reported at that rule's path.
    #[test]
    fn one_broken_rule_is_reported_at_its_path(spec in buildable_order_spec(), m in mutation()) {
        let order = spec.build()?.map_err(|e| TestCaseError::fail(format!("valid order rejected: {e}")))?;
        let mut v = serde_json::to_value(&order)?;
        let path = apply(&mut v, &m, spec.eu);
        let mutated = OrderRequest::from_json(&to_bytes(&v))?;
        match mutated.validate() {
            Ok(()) => prop_assert!(false, "{:?} not reported at {}", m, path),
            Err(errors) => prop_assert!(
                errors.at(&path).is_some(),
                "{:?}: expected {}, got {}",
                m,
                path,
                errors
            ),
        }
    }

    /// (c) Arbitrary numbers and strings never panic, and what parses
    /// round-trips.
    #[test]
    fn arbitrary_values_never_panic(v in wild_order()) {
        let order = OrderRequest::from_json(&to_bytes(&v))?;
        let _ = order.validate();
        let back = OrderRequest::from_json(&order.to_json())?;
        prop_assert_eq!(&back, &order);
    }

    /// (c) Arbitrary bytes, or a valid order with one byte changed, never panic.
    #[test]
    fn arbitrary_bytes_never_panic(
        bytes in prop::collection::vec(any::<u8>(), 0..256),
        at in any::<Index>(),
        byte in any::<u8>(),
    ) {
        if let Ok(order) = OrderRequest::from_json(&bytes) {
            let _ = order.validate();
        }
        let mut seed = SEED_ORDER.to_vec();
        let i = at.index(seed.len());
        seed[i] = byte;
        if let Ok(order) = OrderRequest::from_json(&seed) {
            let _ = order.validate();
        }
    }

    /// (c) The builders never panic on arbitrary numbers.
    #[test]
    fn builders_never_panic(
        quantity in any::<i64>(),
        unit_price in any::<i64>(),
        discount in prop::option::of(any::<i64>()),
        rate in prop::option::of(any::<i64>()),
        total in prop::option::of(any::<i64>()),
        tax in prop::option::of(any::<i64>()),
        order_amount in prop::option::of(any::<i64>()),
        order_tax in prop::option::of(any::<i64>()),
        kind in line_kind(),
    ) {
        let mut b = OrderLine::builder("x").quantity(quantity).unit_price(unit_price);
        if let Some(k) = kind {
            b = b.line_type(k);
        }
        if let Some(d) = discount {
            b = b.total_discount_amount(d);
        }
        if let Some(r) = rate {
            b = b.tax_rate(r);
        }
        if let Some(t) = total {
            b = b.total_amount(t);
        }
        if let Some(t) = tax {
            b = b.total_tax_amount(t);
        }
        if let Ok(line) = b.build() {
            let mut ob = OrderRequest::builder().purchase_currency("EUR").line(line.clone()).line(line);
            if let Some(a) = order_amount {
                ob = ob.order_amount(a);
            }
            if let Some(t) = order_tax {
                ob = ob.order_tax_amount(t);
            }
            if let Ok(order) = ob.build() {
                prop_assert!(order.validate().is_ok());
            }
        }
    }

}
