//! Order preparation: build, validate and serialize an order of 1, 10, 100
//! and 1000 lines, through the public API only.
//!
//! Two baselines, both a plain `#[derive(Serialize)]` struct with the same
//! wire fields and no validation:
//!
//! - `baseline_build_serialize` builds it from the same inputs as the facade
//!   (the same `&str` data copied into the same owned strings, the same
//!   totals computed) and serializes it: what `facade_build_validate_serialize`
//!   is measured against;
//! - `baseline_serialize` serializes one built beforehand: what
//!   `facade_serialize` is measured against.
//!
//! Run: `cargo bench --bench order_prep`

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use klarna_customer_token::{OrderLine, OrderRequest};
use serde::{Deserialize, Serialize};
use std::hint::black_box;

/// The baseline: the same wire fields, plain serde, no validation.
#[derive(Serialize, Deserialize)]
struct PlainOrder {
    #[serde(skip_serializing_if = "Option::is_none")]
    merchant_reference1: Option<String>,
    order_amount: i64,
    order_lines: Vec<PlainLine>,
    order_tax_amount: i64,
    purchase_currency: String,
}

#[derive(Serialize, Deserialize)]
struct PlainLine {
    name: String,
    quantity: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tax_rate: Option<i64>,
    total_amount: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    total_tax_amount: Option<i64>,
    unit_price: i64,
}

/// The inputs of line `i`: name, reference, quantity, unit price.
fn input(i: usize) -> (String, String, i64, i64) {
    (
        format!("Item number {i}"),
        format!("SKU-{i:06}"),
        (i % 5 + 1) as i64,
        1000 + (i % 97) as i64 * 13,
    )
}

fn inputs(lines: usize) -> Vec<(String, String, i64, i64)> {
    (0..lines).map(input).collect()
}

/// Builds the order from its inputs, as a caller would from its own data.
fn build(inputs: &[(String, String, i64, i64)]) -> OrderRequest {
    OrderRequest::builder()
        .purchase_currency("EUR")
        .merchant_reference1("ON4711")
        .lines(inputs.iter().map(|(name, reference, quantity, price)| {
            OrderLine::builder(name.as_str())
                .reference(reference.as_str())
                .quantity(*quantity)
                .unit_price(*price)
                .tax_rate(1900)
                .build()
                .expect("valid line")
        }))
        .build()
        .expect("valid order")
}

/// The tax included in `total` at `rate` basis points, rounded half away
/// from zero: the rule the facade's builder applies.
fn plain_tax(total: i64, rate: i64) -> i64 {
    let (amount, rate) = (i128::from(total).abs(), i128::from(rate));
    let denominator = 10_000 + rate;
    let tax = ((2 * amount * rate + denominator) / (2 * denominator)) as i64;
    if total < 0 { -tax } else { tax }
}

/// The baseline's build: the plain struct from the same inputs, with the
/// same owned strings and the same totals.
fn build_plain(inputs: &[(String, String, i64, i64)]) -> PlainOrder {
    let order_lines: Vec<PlainLine> = inputs
        .iter()
        .map(|(name, reference, quantity, price)| {
            let total_amount = quantity * price;
            PlainLine {
                name: name.as_str().to_owned(),
                quantity: *quantity,
                reference: Some(reference.as_str().to_owned()),
                tax_rate: Some(1900),
                total_amount,
                total_tax_amount: Some(plain_tax(total_amount, 1900)),
                unit_price: *price,
            }
        })
        .collect();
    PlainOrder {
        merchant_reference1: Some("ON4711".to_owned()),
        order_amount: order_lines.iter().map(|l| l.total_amount).sum(),
        order_tax_amount: order_lines.iter().filter_map(|l| l.total_tax_amount).sum(),
        order_lines,
        purchase_currency: "EUR".to_owned(),
    }
}

/// The plain struct holding what a built order holds.
fn plain(order: &OrderRequest) -> PlainOrder {
    PlainOrder {
        merchant_reference1: order.merchant_reference1().map(str::to_owned),
        order_amount: order.order_amount(),
        order_lines: order
            .order_lines()
            .iter()
            .map(|l| PlainLine {
                name: l.name().to_owned(),
                quantity: l.quantity(),
                reference: l.reference().map(str::to_owned),
                tax_rate: l.tax_rate(),
                total_amount: l.total_amount(),
                total_tax_amount: l.total_tax_amount(),
                unit_price: l.unit_price(),
            })
            .collect(),
        order_tax_amount: order.order_tax_amount(),
        purchase_currency: order.purchase_currency().to_owned(),
    }
}

fn order_preparation(c: &mut Criterion) {
    let mut group = c.benchmark_group("order_prep");
    for lines in [1usize, 10, 100, 1000] {
        let inputs = inputs(lines);
        let order = build(&inputs);
        let baseline = plain(&order);
        let bytes = order.to_json();
        assert_eq!(
            bytes,
            serde_json::to_vec(&baseline).expect("serializes"),
            "both sides must produce the same bytes"
        );
        assert_eq!(
            bytes,
            serde_json::to_vec(&build_plain(&inputs)).expect("serializes"),
            "both builds must produce the same bytes"
        );
        group.throughput(Throughput::Elements(lines as u64));
        group.bench_with_input(
            BenchmarkId::new("baseline_build_serialize", lines),
            &inputs,
            |b, inputs| {
                b.iter(|| serde_json::to_vec(&build_plain(black_box(inputs))).expect("serializes"))
            },
        );
        group.bench_with_input(
            BenchmarkId::new("baseline_serialize", lines),
            &baseline,
            |b, o| b.iter(|| serde_json::to_vec(black_box(o)).expect("serializes")),
        );
        group.bench_with_input(
            BenchmarkId::new("facade_serialize", lines),
            &order,
            |b, o| b.iter(|| black_box(o).to_json()),
        );
        group.bench_with_input(
            BenchmarkId::new("facade_build_validate_serialize", lines),
            &inputs,
            |b, inputs| b.iter(|| build(black_box(inputs)).to_json()),
        );
        group.bench_with_input(
            BenchmarkId::new("facade_validate", lines),
            // Every rule on every line: an order read from JSON, whose lines
            // the builder has not checked already.
            &OrderRequest::from_json(&bytes).expect("parses"),
            |b, o| b.iter(|| black_box(o).validate().expect("valid")),
        );
        // What a call may own instead of borrowing the order: a clone (what
        // `create_order` takes) against its serialized bytes.
        group.bench_with_input(
            BenchmarkId::new("call_owns_clone", lines),
            &order,
            |b, o| b.iter(|| black_box(o).clone()),
        );
        group.bench_with_input(
            BenchmarkId::new("baseline_deserialize", lines),
            &bytes,
            |b, j| b.iter(|| serde_json::from_slice::<PlainOrder>(black_box(j)).expect("parses")),
        );
        group.bench_with_input(
            BenchmarkId::new("facade_deserialize", lines),
            &bytes,
            |b, j| b.iter(|| OrderRequest::from_json(black_box(j)).expect("parses")),
        );
    }
    group.finish();
}

criterion_group!(benches, order_preparation);
criterion_main!(benches);
