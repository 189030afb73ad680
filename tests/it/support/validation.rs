//! Shared helpers: loading, checking and editing orders as JSON values, and
//! the base orders the tests start from.

use klarna_customer_token::{Error, OrderLineType, OrderRequest, ValidationErrors};
use serde_json::{Value, json};

/// The create-order body of the seed's curl example, verbatim.
pub(crate) const SEED_ORDER: &[u8] = include_bytes!("../../fixtures/seed_order.json");

pub(crate) fn to_bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("a Value always serializes")
}

/// Loads an order from a JSON value; the value must be well typed.
#[track_caller]
pub(crate) fn parse(v: &Value) -> OrderRequest {
    match OrderRequest::from_json(&to_bytes(v)) {
        Ok(order) => order,
        Err(e) => panic!("from_json rejected a well-typed order: {e}"),
    }
}

#[track_caller]
pub(crate) fn check(v: &Value) -> Result<(), ValidationErrors> {
    parse(v).validate()
}

pub(crate) fn paths(errors: &ValidationErrors) -> Vec<String> {
    errors.iter().map(|v| v.path().to_owned()).collect()
}

pub(crate) fn sorted_paths(errors: &ValidationErrors) -> Vec<String> {
    let mut p = paths(errors);
    p.sort();
    p
}

#[track_caller]
pub(crate) fn validation_of(e: &Error) -> &ValidationErrors {
    match e.validation() {
        Some(v) => v,
        None => panic!("expected a validation error, got {e}"),
    }
}

#[track_caller]
pub(crate) fn assert_valid(v: &Value, context: &str) {
    if let Err(e) = check(v) {
        panic!("{context}: expected a valid order, got {e}");
    }
}

/// Asserts the order is rejected with exactly these violation paths (in any
/// order, duplicates counted).
#[track_caller]
pub(crate) fn assert_violations(v: &Value, expected: &[&str], context: &str) -> ValidationErrors {
    let errors = match check(v) {
        Ok(()) => panic!("{context}: expected violations at {expected:?}, the order passed"),
        Err(e) => e,
    };
    let mut want: Vec<String> = expected.iter().map(|s| (*s).to_owned()).collect();
    want.sort();
    assert_eq!(sorted_paths(&errors), want, "{context}: {errors}");
    errors
}

/// Sets the value at a JSON pointer, inserting the last key if missing.
#[track_caller]
pub(crate) fn set(v: &mut Value, pointer: &str, new: Value) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    match v.pointer_mut(parent) {
        Some(Value::Object(map)) => {
            map.insert(key.to_owned(), new);
        }
        Some(Value::Array(items)) => {
            let i: usize = key.parse().expect("array index");
            items[i] = new;
        }
        other => panic!("no container at {parent:?}: {other:?}"),
    }
}

#[track_caller]
pub(crate) fn remove(v: &mut Value, pointer: &str) {
    let (parent, key) = pointer.rsplit_once('/').expect("pointer starts with /");
    let map = v
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .expect("object parent");
    map.remove(key);
}

/// `/order_lines/1/product_identifiers/brand` → `order_lines[1].product_identifiers.brand`.
pub(crate) fn path_of(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(segment);
        }
    }
    out
}

pub(crate) fn line(name: &str, quantity: i64, unit_price: i64, total_amount: i64) -> Value {
    json!({
        "name": name,
        "quantity": quantity,
        "unit_price": unit_price,
        "total_amount": total_amount,
    })
}

pub(crate) fn typed_line(kind: &str, quantity: i64, unit_price: i64, total_amount: i64) -> Value {
    let mut l = line(kind, quantity, unit_price, total_amount);
    set(&mut l, "/type", json!(kind));
    l
}

pub(crate) fn eu_line(
    quantity: i64,
    unit_price: i64,
    tax_rate: i64,
    total_tax_amount: i64,
) -> Value {
    let mut l = line("Item", quantity, unit_price, quantity * unit_price);
    set(&mut l, "/tax_rate", json!(tax_rate));
    set(&mut l, "/total_tax_amount", json!(total_tax_amount));
    l
}

pub(crate) fn order(lines: Vec<Value>, order_amount: i64, order_tax_amount: i64) -> Value {
    json!({
        "purchase_currency": "EUR",
        "order_amount": order_amount,
        "order_tax_amount": order_tax_amount,
        "order_lines": lines,
    })
}

/// One untaxed line of 1000: valid.
pub(crate) fn simple_order() -> Value {
    order(vec![line("Plan", 1, 1000, 1000)], 1000, 0)
}

/// A line with every field set to a valid value (EU style).
pub(crate) fn full_line() -> Value {
    json!({
        "image_url": "https://shop.example/AD6654412.png",
        "merchant_data": "{\"line\":1}",
        "name": "Running shoe",
        "product_identifiers": {
            "brand": "shoe-brand",
            "category_path": "Shoes > Running",
            "global_trade_item_number": "4912345678904",
            "manufacturer_part_number": "AD6654412-334.22",
            "color": "white",
            "size": "small"
        },
        "product_url": "https://shop.example/AD6654412.html",
        "quantity": 2,
        "quantity_unit": "pcs",
        "reference": "AD6654412",
        "tax_rate": 1900,
        "total_amount": 4500,
        "total_discount_amount": 500,
        "total_tax_amount": 718,
        "type": "physical",
        "unit_price": 2500,
        "subscription": { "name": "Gold", "interval": "MONTH", "interval_count": 1 }
    })
}

/// An order with every field set to a valid value, two full lines.
pub(crate) fn full_order() -> Value {
    json!({
        "attachment": {
            "body": "{\"customer_account_info\":[]}",
            "content_type": "application/vnd.klarna.internal.emd-v2+json"
        },
        "auto_capture": true,
        "merchant_data": "{\"order\":1}",
        "merchant_reference1": "ON4711",
        "merchant_reference2": "ON4712",
        "merchant_urls": {
            "confirmation": "https://shop.example/thanks",
            "push": "https://shop.example/push"
        },
        "order_amount": 9000,
        "order_lines": [full_line(), full_line()],
        "order_tax_amount": 1436,
        "purchase_currency": "GBP",
        "shipping_address": {
            "attention": "Attn",
            "city": "London",
            "country": "GB",
            "email": "test.sam@test.com",
            "family_name": "Andersson",
            "given_name": "Adam",
            "organization_name": "Shop Ltd",
            "phone": "+44795465131",
            "postal_code": "W1G 0PW",
            "region": "OH",
            "street_address": "33 Cavendish Square",
            "street_address2": "Floor 22 / Flat 2",
            "title": "Mr."
        }
    })
}

/// The tax included in `total` at `rate` basis points, computed on the
/// absolute value, rounded half away from zero, with the sign of `total`.
/// An independent reference for the builders.
pub(crate) fn reference_tax(total: i64, rate: i64) -> i64 {
    let amount = i128::from(total).abs();
    let rate = i128::from(rate);
    let denominator = 10_000 + rate;
    let numerator = amount * rate;
    let mut tax = numerator / denominator;
    if 2 * (numerator % denominator) >= denominator {
        tax += 1;
    }
    let tax = if total < 0 { -tax } else { tax };
    i64::try_from(tax).expect("tax fits")
}

pub(crate) fn discount_like(kind: &OrderLineType) -> bool {
    matches!(
        kind,
        OrderLineType::Discount | OrderLineType::GiftCard | OrderLineType::StoreCredit
    )
}
