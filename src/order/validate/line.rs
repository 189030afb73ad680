//! The rules of one order line: its own fields, its amounts and Klarna's
//! line arithmetic.

use super::super::amounts;
use super::super::limits;
use super::super::{OrderLine, ProductIdentifiers, Subscription};
use super::{At, Broken, check_extra, check_not_negative, check_texts, unknown_value};
use crate::enums::{OrderLineType, SubscriptionInterval};
use crate::violation::ValidationErrors;

/// Validates one line on its own, with paths relative to the line.
pub(in crate::order) fn check_line_alone(line: &OrderLine) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_line(&mut errors, At::ROOT, line, &Broken::default());
    errors.into_result()
}

/// Which of a line's fields passed their own constraints (and were
/// decoded), so that the order-level rules can skip what is already
/// reported.
#[derive(Clone, Copy)]
pub(super) struct LineAmounts {
    pub(super) total_ok: bool,
    pub(super) tax_ok: bool,
    pub(super) rate_ok: bool,
    pub(super) type_ok: bool,
}

impl LineAmounts {
    /// A line the builder checked.
    pub(super) const CHECKED: Self = Self {
        total_ok: true,
        tax_ok: true,
        rate_ok: true,
        type_ok: true,
    };
}

/// Source: Klarna's API description (`order_line`), Klarna's documentation
/// for `tax_rate` (0 to 10000) and `quantity_unit` (1 to 8 characters), and
/// Klarna's documented line arithmetic.
pub(super) fn check_line(
    errors: &mut ValidationErrors,
    at: At<'_>,
    line: &OrderLine,
    broken: &Broken,
) -> LineAmounts {
    // Source: the description's enum of line types.
    let kind = line.line_type.as_ref().unwrap_or(&OrderLineType::Physical);
    if !kind.is_known() {
        errors.push(
            &at.field("type"),
            unknown_value(OrderLineType::KNOWN, kind.as_str()),
        );
    }
    check_texts(errors, at, line);
    check_extra(errors, at, &line.extra, OrderLine::FIELDS);
    if let Some(ids) = &line.product_identifiers {
        let at = at.child("product_identifiers");
        check_texts(errors, at, &**ids);
        check_extra(errors, at, &ids.extra, ProductIdentifiers::FIELDS);
    }
    if let Some(subscription) = &line.subscription {
        check_subscription(errors, at.child("subscription"), subscription);
    }
    let mut amounts = check_line_amounts(errors, at, line, broken);
    amounts.type_ok = !broken.field(at, "type");
    amounts
}

/// A line's amounts and Klarna's line arithmetic. Amounts may be negative
/// on every line type: Klarna's schema sets no minimum on `unit_price` and
/// `total_amount`, and its discounts page shows a discount as a negative
/// `physical` line.
fn check_line_amounts(
    errors: &mut ValidationErrors,
    at: At<'_>,
    line: &OrderLine,
    broken: &Broken,
) -> LineAmounts {
    // Source: the description (`quantity` minimum 0).
    let quantity_ok = check_not_negative(errors, at, "quantity", Some(line.quantity))
        && !broken.field(at, "quantity");
    let unit_price_ok =
        check_amount(errors, at, "unit_price", line.unit_price) && !broken.field(at, "unit_price");
    let total_ok = check_amount(errors, at, "total_amount", line.total_amount)
        && !broken.field(at, "total_amount");
    // Source: the description (`total_discount_amount` minimum 0).
    let discount_ok = check_not_negative(
        errors,
        at,
        "total_discount_amount",
        line.total_discount_amount,
    ) && !broken.field(at, "total_discount_amount");
    // Source: Klarna's documentation (tax rates of 0 to 10000 basis points).
    let rate_ok = match line.tax_rate {
        Some(r) if !(0..=limits::MAX_TAX_RATE).contains(&r) => {
            errors.push(
                &at.field("tax_rate"),
                format!(
                    "must be 0 to {} basis points, got {r}",
                    limits::MAX_TAX_RATE
                ),
            );
            false
        }
        _ => !broken.field(at, "tax_rate"),
    };
    let tax_ok = !broken.field(at, "total_tax_amount");

    if quantity_ok && unit_price_ok && discount_ok && total_ok {
        check_line_total(errors, at, line);
    }
    if rate_ok && total_ok && tax_ok {
        check_line_tax(errors, at, line);
    }
    LineAmounts {
        total_ok,
        tax_ok,
        rate_ok,
        type_ok: true,
    }
}

/// Source: Klarna's arithmetic:
/// total_amount = quantity × unit_price − total_discount_amount.
fn check_line_total(errors: &mut ValidationErrors, at: At<'_>, line: &OrderLine) {
    let expected = amounts::line_total_wide(
        line.quantity,
        line.unit_price,
        line.total_discount_amount.unwrap_or(0),
    );
    if expected != i128::from(line.total_amount) {
        errors.push(
            &at.field("total_amount"),
            format!(
                "must equal quantity × unit_price − total_discount_amount = {expected}, got {}",
                line.total_amount
            ),
        );
    }
}

/// Source: Klarna's arithmetic: total_tax_amount within ±1 of
/// total_amount × tax_rate / (10000 + tax_rate), when a rate is given.
fn check_line_tax(errors: &mut ValidationErrors, at: At<'_>, line: &OrderLine) {
    let Some(rate) = line.tax_rate else { return };
    let tax = line.total_tax_amount.unwrap_or(0);
    if amounts::line_tax_within_one(tax, line.total_amount, rate) {
        return;
    }
    let expected = amounts::line_tax(line.total_amount, rate);
    let got = match line.total_tax_amount {
        Some(t) => t.to_string(),
        None => "none".to_owned(),
    };
    errors.push(
        &at.field("total_tax_amount"),
        format!(
            "must be within 1 of total_amount × tax_rate / (10000 + tax_rate) = {expected}, got {got}"
        ),
    );
}

/// Source: the description (`unit_price` and `total_amount` maximum
/// 100,000,000; no minimum).
fn check_amount(errors: &mut ValidationErrors, at: At<'_>, field: &str, value: i64) -> bool {
    if value > limits::MAX_LINE_AMOUNT {
        errors.push(
            &at.field(field),
            format!("must be at most {}, got {value}", limits::MAX_LINE_AMOUNT),
        );
        return false;
    }
    true
}

/// Source: the description (`subscription`: interval enum, interval_count
/// minimum 1).
fn check_subscription(errors: &mut ValidationErrors, at: At<'_>, subscription: &Subscription) {
    if !subscription.interval.is_known() {
        errors.push(
            &at.field("interval"),
            unknown_value(SubscriptionInterval::KNOWN, subscription.interval.as_str()),
        );
    }
    if subscription.interval_count < limits::MIN_INTERVAL_COUNT {
        errors.push(
            &at.field("interval_count"),
            format!(
                "must be at least {}, got {}",
                limits::MIN_INTERVAL_COUNT,
                subscription.interval_count
            ),
        );
    }
    check_texts(errors, at, subscription);
    check_extra(errors, at, &subscription.extra, Subscription::FIELDS);
}
