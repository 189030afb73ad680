//! Property test: near-valid orders against an independent reading of
//! the rules.

use klarna_customer_token::OrderLineType;
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::validation::*;

// -- near-valid orders, checked against an independent oracle --------------

#[derive(Clone, Debug)]
pub(crate) struct RawLine {
    kind: Option<String>,
    quantity: i64,
    unit_price: i64,
    total_amount: i64,
    discount: Option<i64>,
    tax_rate: Option<i64>,
    tax: Option<i64>,
}

impl RawLine {
    pub(crate) fn to_json(&self) -> Value {
        let mut v = line("x", self.quantity, self.unit_price, self.total_amount);
        if let Some(k) = &self.kind {
            set(&mut v, "/type", json!(k));
        }
        if let Some(d) = self.discount {
            set(&mut v, "/total_discount_amount", json!(d));
        }
        if let Some(r) = self.tax_rate {
            set(&mut v, "/tax_rate", json!(r));
        }
        if let Some(t) = self.tax {
            set(&mut v, "/total_tax_amount", json!(t));
        }
        v
    }
}

/// Every rule, written from the API reference, in `i128`.
pub(crate) fn oracle_accepts(currency: &str, amount: i64, tax: i64, lines: &[RawLine]) -> bool {
    const MAX: i128 = 100_000_000;
    let wide = i128::from;
    let mut ok = (1..=1000).contains(&lines.len())
        && currency.len() == 3
        && currency.bytes().all(|b| b.is_ascii_alphabetic())
        && amount >= 1
        && tax >= 0;
    // US style: the order has a sales_tax line.
    let us = lines.iter().any(|l| l.kind.as_deref() == Some("sales_tax"));
    for l in lines {
        let kind = l.kind.as_deref().unwrap_or("physical");
        // A maximum, no minimum: negative amounts on any line type.
        let amount_ok = |x: i64| wide(x) <= MAX;
        ok &= OrderLineType::KNOWN.contains(&kind)
            && l.quantity >= 0
            && amount_ok(l.unit_price)
            && amount_ok(l.total_amount)
            && l.discount.is_none_or(|d| d >= 0)
            && l.tax_rate.is_none_or(|r| (0..=10_000).contains(&r))
            && wide(l.total_amount)
                == wide(l.quantity) * wide(l.unit_price) - wide(l.discount.unwrap_or(0));
        if let Some(r) = l.tax_rate {
            let den = 10_000 + wide(r);
            let t = wide(l.tax.unwrap_or(0));
            ok &= (t * den - wide(l.total_amount) * wide(r)).abs() <= den;
        }
        if us && kind != "sales_tax" {
            ok &= l.tax_rate.is_none_or(|r| r == 0) && l.tax.is_none_or(|t| t == 0);
        }
    }
    ok &= wide(amount) == lines.iter().map(|l| wide(l.total_amount)).sum::<i128>();
    if us {
        let sum: i128 = lines
            .iter()
            .filter(|l| l.kind.as_deref() == Some("sales_tax"))
            .map(|l| wide(l.total_amount))
            .sum();
        ok &= wide(tax) == sum;
    } else {
        let sum: i128 = lines.iter().map(|l| wide(l.tax.unwrap_or(0))).sum();
        ok &= (wide(tax) - sum).abs() <= lines.len() as i128;
    }
    ok
}

pub(crate) fn small_perturbation() -> impl Strategy<Value = i64> {
    prop_oneof![8 => Just(0i64), 1 => prop_oneof![Just(-2i64), Just(-1), Just(1), Just(2)]]
}

pub(crate) fn raw_line(eu: bool) -> impl Strategy<Value = RawLine> {
    let kind = prop_oneof![
        1 => Just(None),
        1 => prop::sample::select(OrderLineType::KNOWN.to_vec()).prop_map(|k| Some(k.to_owned())),
    ];
    let rate = if eu {
        prop::option::weighted(
            0.9,
            prop_oneof![4 => 0..=10_000i64, 1 => prop::sample::select(vec![0i64, 1900, 10_000])],
        )
        .boxed()
    } else {
        Just(None).boxed()
    };
    // Most lines are clean; a few carry one defect, which may or may not
    // break a rule (a tax 1 off passes, 2 off does not).
    let defect = prop_oneof![30 => Just(0u8), 10 => 1..=12u8];
    (
        (
            kind,
            0..=5i64,
            0..=3000i64,
            prop::option::of(0..=3i64),
            rate,
        ),
        (defect, prop::sample::select(vec![-2i64, -1, 1, 2])),
    )
        .prop_map(
            |((kind, quantity, magnitude, discount, tax_rate), (defect, delta))| {
                let negative = kind
                    .as_deref()
                    .is_some_and(|k| discount_like(&OrderLineType::from(k)));
                let mut l = RawLine {
                    kind,
                    quantity,
                    unit_price: if negative { -magnitude } else { magnitude },
                    total_amount: 0,
                    // A discount never takes a positive line below 0.
                    discount: discount.map(|d| {
                        if negative {
                            d
                        } else {
                            d.min(quantity * magnitude)
                        }
                    }),
                    tax_rate,
                    tax: None,
                };
                match defect {
                    1 => l.kind = Some("bundle".to_owned()),
                    2 => l.quantity = -1,
                    3 => l.unit_price = -l.unit_price - 1,
                    4 => {
                        l.quantity = 1;
                        l.unit_price =
                            if negative { -100_000_000 } else { 100_000_000 } + delta.signum();
                    }
                    5 => l.discount = Some(-1),
                    6 => l.tax_rate = Some(if delta < 0 { -1 } else { 10_001 }),
                    _ => {}
                }
                l.total_amount = l.quantity * l.unit_price - l.discount.unwrap_or(0);
                if defect == 7 {
                    l.total_amount += delta;
                }
                l.tax = match l.tax_rate {
                    Some(r) if (0..=10_000).contains(&r) => Some(reference_tax(l.total_amount, r)),
                    _ => None,
                };
                match defect {
                    8 => l.tax = Some(l.tax.unwrap_or(0) + delta),
                    9 => l.tax = None,
                    10 => l.tax = Some(0),
                    _ => {}
                }
                l
            },
        )
}

pub(crate) fn near_valid_order() -> impl Strategy<Value = (String, i64, i64, Vec<RawLine>)> {
    any::<bool>().prop_flat_map(|eu| {
        (
            prop_oneof![10 => Just("EUR".to_owned()), 1 => Just("EU".to_owned()), 1 => Just("EU1".to_owned())],
            prop_oneof![
                30 => prop::collection::vec(raw_line(eu), 1..=4),
                1 => Just(Vec::new()),
            ],
            small_perturbation(),
            prop_oneof![12 => Just(0i64), 1 => -6..=6i64],
        )
            .prop_map(|(currency, lines, amount_off, tax_off)| {
                let amount: i64 = lines.iter().map(|l| l.total_amount).sum::<i64>() + amount_off;
                let us = lines.iter().any(|l| l.kind.as_deref() == Some("sales_tax"));
                let tax: i64 = if us {
                    lines
                        .iter()
                        .filter(|l| l.kind.as_deref() == Some("sales_tax"))
                        .map(|l| l.total_amount)
                        .sum()
                } else {
                    lines.iter().map(|l| l.tax.unwrap_or(0)).sum()
                };
                (currency, amount, tax + tax_off, lines)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// Near-valid orders are accepted exactly when an independent reading of
    /// the rules accepts them.
    #[test]
    fn validation_agrees_with_an_independent_oracle(
        (currency, amount, tax, lines) in near_valid_order()
    ) {
        let v = json!({
            "purchase_currency": currency,
            "order_amount": amount,
            "order_tax_amount": tax,
            "order_lines": lines.iter().map(RawLine::to_json).collect::<Vec<_>>(),
        });
        let result = parse(&v).validate();
        let expected = oracle_accepts(&currency, amount, tax, &lines);
        prop_assert_eq!(
            result.is_ok(),
            expected,
            "validate: {:?}",
            result.err().map(|e| e.to_string())
        );
    }
}
