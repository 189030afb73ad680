//! Every rule an order must pass before it is sent. This is the one
//! implementation of the rules; everything that validates an order calls it
//! (the builders, [`OrderRequest::validate`], the client before it sends,
//! and the sandbox).
//!
//! # What is refused, and why
//!
//! A rule here refuses only what Klarna documents as refused, or what
//! cannot be sent. A rule stricter than Klarna's refuses a charge Klarna
//! would take, and a customer is not billed. So:
//!
//! - the limits of Klarna's API description (lengths, patterns, minimums,
//!   enums, required fields), from [`crate::limits`], through the field
//!   table (`super::fields`): lengths and patterns are rows of it, not code
//!   here;
//! - the few limits Klarna's documentation adds (`tax_rate` 0 to 10000,
//!   `quantity_unit` 1 to 8 characters, the 1 MB request body);
//! - the arithmetic Klarna documents and answers with 400 `BAD_VALUE`: line
//!   totals, line tax within ±1, order totals, and the two tax styles;
//! - what cannot be sent as meant: an extra field that repeats a typed one.
//!
//! A rule that a Klarna document contradicts goes, and a rule that no
//! document states is not added. Each rule below names its source. Fields
//! the typed API does not know are never refused here.
//!
//! Arithmetic runs in `i128`, so no input can overflow, and a rule that
//! depends on a field that is already invalid is skipped rather than
//! reported twice.

mod line;
mod totals;

pub(super) use line::check_line_alone;
use line::{LineAmounts, check_line};

use super::extra::Extra;
use super::fields::{Text, Texts};
use super::limits::{self, Length};
use super::{Address, Attachment, MerchantUrls, OrderRequest};
use crate::violation::{ValidationErrors, truncate_chars};

/// Where a field sits: the path is only spelled out when a violation is
/// reported, so that a valid order costs no formatting.
#[derive(Clone, Copy)]
struct At<'a> {
    line: Option<usize>,
    parent: &'a str,
}

impl<'a> At<'a> {
    const ROOT: At<'static> = At {
        line: None,
        parent: "",
    };

    fn line(index: usize) -> At<'static> {
        At {
            line: Some(index),
            parent: "",
        }
    }

    fn named(parent: &'a str) -> Self {
        At { line: None, parent }
    }

    fn child(self, parent: &'a str) -> Self {
        At {
            line: self.line,
            parent,
        }
    }

    fn field(self, name: &str) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        if let Some(index) = self.line {
            let _ = write!(out, "order_lines[{index}].");
        }
        if !self.parent.is_empty() {
            out.push_str(self.parent);
            out.push('.');
        }
        out.push_str(name);
        out
    }
}

/// Checks one text field against its rule from the field table; the
/// message takes the limit from the table. Whether it passed.
fn check_text(
    errors: &mut ValidationErrors,
    at: At<'_>,
    field: &str,
    value: Option<&str>,
    rule: Text,
) -> bool {
    let Some(value) = value else { return true };
    match rule {
        Text::Length(length) => check_length(errors, at, field, value, length),
        // Source: the description (`purchase_currency` pattern).
        Text::Currency if !letters(value, 3) => {
            errors.push(
                &at.field(field),
                format!(
                    "must be three letters (ISO 4217, pattern ^[A-Za-z]{{3}}$), got {:?}",
                    truncate_for_message(value)
                ),
            );
            false
        }
        // Source: the description (`address.country` pattern). Never echo
        // personal data: say what is wrong, not the value.
        Text::Country if !letters(value, 2) => {
            errors.push(
                &at.field(field),
                "must be two letters (ISO 3166 alpha-2, pattern ^[A-Za-z]{2}$)",
            );
            false
        }
        Text::Currency | Text::Country | Text::Free => true,
    }
}

/// Checks every text field of an object against the field table.
fn check_texts(errors: &mut ValidationErrors, at: At<'_>, object: &impl Texts) {
    object.each_text(&mut |field, value, rule| {
        check_text(errors, at, field, value, rule);
    });
}

fn check_length(
    errors: &mut ValidationErrors,
    at: At<'_>,
    field: &str,
    value: &str,
    length: Length,
) -> bool {
    // A string's byte length bounds its character count from above, and any
    // non-empty string has a character, so most values need no counting.
    if value.len() <= length.max && (length.min == 0 || (length.min == 1 && !value.is_empty())) {
        return true;
    }
    let count = value.chars().count();
    if count < length.min || count > length.max {
        let message = if length.min == 0 {
            format!("must be at most {} characters, got {count}", length.max)
        } else {
            format!(
                "must be {} to {} characters, got {count}",
                length.min, length.max
            )
        };
        errors.push(&at.field(field), message);
        return false;
    }
    true
}

fn letters(value: &str, count: usize) -> bool {
    value.len() == count && value.bytes().all(|b| b.is_ascii_alphabetic())
}

/// The paths a decoder could not read (from [`OrderRequest::from_json`]'s
/// thorough pass); rules that depend on them are skipped. Empty otherwise.
#[derive(Default)]
struct Broken(Vec<String>);

impl Broken {
    /// Whether the field at `path`, or an object holding it, is broken.
    fn is(&self, path: &str) -> bool {
        self.0.iter().any(|p| {
            p.is_empty()
                || path == p
                || (path.starts_with(p.as_str())
                    && matches!(path.as_bytes().get(p.len()), Some(b'.' | b'[')))
        })
    }

    #[inline]
    fn field(&self, at: At<'_>, name: &str) -> bool {
        !self.0.is_empty() && self.is(&at.field(name))
    }
}

/// Source: the description (a minimum of 0). Whether it passed.
fn check_not_negative(
    errors: &mut ValidationErrors,
    at: At<'_>,
    field: &str,
    value: Option<i64>,
) -> bool {
    match value {
        Some(v) if v < 0 => {
            errors.push(&at.field(field), format!("must be at least 0, got {v}"));
            false
        }
        _ => true,
    }
}

/// Source: what cannot be sent as meant. An extra field named like a typed
/// one would put the name twice in the body.
fn check_extra(errors: &mut ValidationErrors, at: At<'_>, extra: &Extra, known: &[&str]) {
    if extra.is_empty() {
        return;
    }
    for name in extra.names() {
        if known.contains(&name) {
            errors.push(
                &at.field(name),
                "is a field of the typed API: set it with its own method, not as an extra field",
            );
        }
    }
}

/// `must be one of …, got "…"`, the value shortened.
fn unknown_value(known: &[&str], got: &str) -> String {
    format!(
        "must be one of {}, got {:?}",
        known.join(", "),
        truncate_for_message(got)
    )
}

/// Validates a whole order whose JSON is `body_len` bytes long.
pub(super) fn check_order(order: &OrderRequest, body_len: usize) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_order_into(&mut errors, order, &Broken::default(), body_len);
    sort_by_field_order(&mut errors);
    errors.into_result()
}

/// The problems of an order the decoder could only read in part: what it
/// could not decode (`decoded`, with paths), then every rule the rest
/// breaks. A rule about a field that could not be decoded is skipped.
pub(super) fn check_decoded(order: &OrderRequest, decoded: ValidationErrors) -> ValidationErrors {
    let broken = Broken(decoded.iter().map(|v| v.path().to_owned()).collect());
    let mut rules = ValidationErrors::default();
    check_order_into(&mut rules, order, &broken, super::size::json_len(order));
    let mut errors = decoded;
    errors.append_where(rules, |v| !broken.is(v.path()));
    sort_by_field_order(&mut errors);
    errors
}

fn check_order_into(
    errors: &mut ValidationErrors,
    order: &OrderRequest,
    broken: &Broken,
    body_len: usize,
) {
    let (amount_ok, tax_ok) = check_order_fields(errors, order, broken, body_len);
    let lines = &order.order_lines;
    // Source: the description (`order_lines` 1 to 1000 items).
    if !(limits::MIN_ORDER_LINES..=limits::MAX_ORDER_LINES).contains(&lines.len()) {
        errors.push(
            "order_lines",
            format!(
                "must hold {} to {} lines, got {}",
                limits::MIN_ORDER_LINES,
                limits::MAX_ORDER_LINES,
                lines.len()
            ),
        );
    }
    // Lines built by the builder were checked there (lines are immutable):
    // when all were, nothing is kept of them (an empty list means so).
    let checked: Vec<LineAmounts> = if lines.iter().all(|line| line.checked.0) {
        Vec::new()
    } else {
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                if line.checked.0 {
                    LineAmounts::CHECKED
                } else {
                    check_line(errors, At::line(i), line, broken)
                }
            })
            .collect()
    };
    if !lines.is_empty() {
        totals::check_order_totals(errors, order, &checked, amount_ok, tax_ok);
    }
}

/// The order's own fields (the lines aside): the body size, texts, amounts,
/// unknown fields and nested objects. Whether `order_amount` and
/// `order_tax_amount` passed.
fn check_order_fields(
    errors: &mut ValidationErrors,
    order: &OrderRequest,
    broken: &Broken,
    body_len: usize,
) -> (bool, bool) {
    let top = At::ROOT;
    // Source: Klarna's request limits (a body over 1 MB gets 413).
    if body_len > limits::MAX_BODY_BYTES {
        errors.push(
            "",
            format!(
                "the request body would be {body_len} bytes, over Klarna's limit of 1 MB ({} bytes), which Klarna answers with 413",
                limits::MAX_BODY_BYTES
            ),
        );
    }
    check_texts(errors, top, order);
    // Source: the description (`order_amount` minimum 1).
    if order.order_amount < limits::MIN_ORDER_AMOUNT {
        errors.push(
            "order_amount",
            format!(
                "must be at least {}, got {}",
                limits::MIN_ORDER_AMOUNT,
                order.order_amount
            ),
        );
    }
    let amount_ok =
        order.order_amount >= limits::MIN_ORDER_AMOUNT && !broken.field(top, "order_amount");
    // Source: the description (`order_tax_amount` minimum 0).
    let tax_ok = check_not_negative(
        errors,
        top,
        "order_tax_amount",
        Some(order.order_tax_amount),
    ) && !broken.field(top, "order_tax_amount");
    check_extra(errors, top, &order.extra, OrderRequest::FIELDS);
    if let Some(attachment) = &order.attachment {
        check_attachment(errors, attachment);
    }
    if let Some(urls) = &order.merchant_urls {
        check_merchant_urls(errors, urls);
    }
    if let Some(address) = &order.shipping_address {
        check_address(errors, At::named("shipping_address"), address);
    }
    (amount_ok, tax_ok)
}

/// Source: the description (`address`). The fields Klarna documents beyond
/// it (`street_name`, `street_number`, `house_extension`, `care_of`) have no
/// documented limit, so none is checked.
fn check_address(errors: &mut ValidationErrors, at: At<'_>, address: &Address) {
    check_texts(errors, at, address);
    check_extra(errors, at, &address.extra, Address::FIELDS);
}

/// Source: the description (`merchant_urls`: each URL at most 2000
/// characters) and Klarna's documentation of `notification` (at most 2000
/// characters, like its siblings).
fn check_merchant_urls(errors: &mut ValidationErrors, urls: &MerchantUrls) {
    let at = At::named("merchant_urls");
    check_texts(errors, at, urls);
    check_extra(errors, at, &urls.extra, MerchantUrls::FIELDS);
}

fn check_attachment(errors: &mut ValidationErrors, attachment: &Attachment) {
    let at = At::named("attachment");
    check_texts(errors, at, attachment);
    check_extra(errors, at, &attachment.extra, Attachment::FIELDS);
}

/// Orders violations as the fields appear: top-level fields first, then the
/// lines in order. The sort is stable, so each field keeps its own order.
fn sort_by_field_order(errors: &mut ValidationErrors) {
    errors.sort_by_key(|v| {
        let path = v.path();
        let line = path
            .strip_prefix("order_lines[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|n| n.parse::<usize>().ok());
        match line {
            Some(n) => (1, n),
            None if path == "order_lines" => (1, 0),
            None => (0, 0),
        }
    });
}

/// Shortens a user value for an error message, so that a 10 MB field does
/// not become a 10 MB message.
fn truncate_for_message(value: &str) -> String {
    truncate_chars(value, 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_truncate_long_values() {
        assert_eq!(truncate_for_message("EUR"), "EUR");
        assert_eq!(truncate_for_message(&"x".repeat(100)).chars().count(), 17);
    }
}
