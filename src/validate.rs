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
//!   enums, required fields), from [`crate::limits`];
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

use std::fmt;

use crate::enums::OrderLineType;
use crate::limits::{self, Length};
use crate::order::{
    Address, Attachment, Extra, MerchantUrls, OrderLine, OrderRequest, ProductIdentifiers,
    Subscription,
};

/// One rule an input breaks, with the JSON path of the field, such as
/// `order_lines[3].total_tax_amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    path: String,
    message: String,
}

impl Violation {
    /// The 0-based JSON path of the field, such as `order_lines[3].total_tax_amount`.
    /// Empty when the problem concerns the document as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// What is wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every violation found in an input, reported together.
///
/// ```
/// use klarna_customer_token::{OrderLine, OrderRequest};
///
/// let err = OrderRequest::builder()
///     .purchase_currency("EURO")
///     .line(OrderLine::builder("Plan").quantity(1).unit_price(1000).build()?)
///     .order_amount(999)
///     .build()
///     .unwrap_err();
/// let problems = err.validation().unwrap();
/// let paths: Vec<&str> = problems.iter().map(|v| v.path()).collect();
/// assert_eq!(paths, ["purchase_currency", "order_amount"]);
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
    /// The create-order call refused before sending, if any: its key and
    /// outcome travel with the error.
    pub(crate) call: Option<Box<crate::error::CallInfo>>,
}

impl ValidationErrors {
    /// The violations, in the order of the fields.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.violations.iter()
    }
    /// How many violations there are.
    pub fn len(&self) -> usize {
        self.violations.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }
    /// The violation at `path`, if there is one.
    pub fn at(&self, path: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.path == path)
    }

    pub(crate) fn single(path: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.push(path, message);
        errors
    }

    pub(crate) fn with_call(mut self, call: crate::error::CallInfo) -> Self {
        self.call = Some(Box::new(call));
        self
    }

    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    pub(crate) fn from_deserialize(e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = e.path().to_string();
        let path = if path == "." { String::new() } else { path };
        Self::single(&path, without_values(&e.inner().to_string()))
    }

    fn into_result(self) -> Result<(), Self> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.violations.len() {
            0 => f.write_str("no violations"),
            1 => write!(f, "{}", self.violations[0]),
            n => {
                write!(f, "{n} violations: ")?;
                for (i, v) in self.violations.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

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

fn check_length(
    errors: &mut ValidationErrors,
    at: At<'_>,
    field: &str,
    value: Option<&str>,
    length: Length,
) -> bool {
    let Some(value) = value else { return true };
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

fn line_type_of(line: &OrderLine) -> OrderLineType {
    line.line_type.clone().unwrap_or(OrderLineType::Physical)
}

fn is_sales_tax(line: &OrderLine) -> bool {
    matches!(line.line_type, Some(OrderLineType::SalesTax))
}

/// `quantity × unit_price − total_discount_amount`, saturated to `i64`.
pub(crate) fn line_total(quantity: i64, unit_price: i64, discount: i64) -> i64 {
    saturate(i128::from(quantity) * i128::from(unit_price) - i128::from(discount))
}

/// The tax included in `total_amount` at `tax_rate` basis points: computed on
/// the absolute value, rounded half away from zero, then given the sign of
/// the amount. A rate outside 0..=10000 yields 0 (and is reported elsewhere).
pub(crate) fn line_tax(total_amount: i64, tax_rate: i64) -> i64 {
    if !(0..=limits::MAX_TAX_RATE).contains(&tax_rate) {
        return 0;
    }
    let amount = i128::from(total_amount).abs();
    let rate = i128::from(tax_rate);
    let denominator = 10_000 + rate;
    // round(amount * rate / denominator), half away from zero.
    let tax = (2 * amount * rate + denominator) / (2 * denominator);
    saturate(if total_amount < 0 { -tax } else { tax })
}

fn saturate(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

/// Σ `total_amount` of the lines, saturated.
pub(crate) fn sum_total_amounts(lines: &[OrderLine]) -> i64 {
    saturate(lines.iter().map(|l| i128::from(l.total_amount)).sum())
}

/// Whether the order is taxed US style: it has a `sales_tax` line (Klarna's
/// US sales-tax model: the tax is a line of its own). Otherwise it is taxed
/// EU style, each line carrying its own tax.
fn us_style(lines: &[OrderLine]) -> bool {
    lines.iter().any(is_sales_tax)
}

/// The `order_tax_amount` the lines imply: in US style (a `sales_tax` line)
/// Σ `total_amount` of the `sales_tax` lines, otherwise Σ `total_tax_amount`.
pub(crate) fn expected_order_tax(lines: &[OrderLine]) -> i64 {
    saturate(expected_order_tax_wide(lines))
}

fn expected_order_tax_wide(lines: &[OrderLine]) -> i128 {
    if us_style(lines) {
        lines
            .iter()
            .filter(|l| is_sales_tax(l))
            .map(|l| i128::from(l.total_amount))
            .sum()
    } else {
        lines
            .iter()
            .map(|l| i128::from(l.total_tax_amount.unwrap_or(0)))
            .sum()
    }
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

    fn field(&self, at: At<'_>, name: &str) -> bool {
        !self.0.is_empty() && self.is(&at.field(name))
    }
}

/// Validates one line on its own, with paths relative to the line.
pub(crate) fn check_line_alone(line: &OrderLine) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_line(&mut errors, At::ROOT, line, &Broken::default());
    errors.into_result()
}

/// Which of a line's fields passed their own constraints (and were
/// decoded), so that the order-level rules can skip what is already
/// reported.
struct LineAmounts {
    total_ok: bool,
    tax_ok: bool,
    rate_ok: bool,
    type_ok: bool,
}

/// Source: Klarna's API description (`order_line`), Klarna's documentation
/// for `tax_rate` (0 to 10000) and `quantity_unit` (1 to 8 characters), and
/// Klarna's documented line arithmetic. Amounts may be negative on every
/// line type: Klarna's schema sets no minimum on `unit_price` and
/// `total_amount`, and its discounts page shows a discount as a negative
/// `physical` line.
fn check_line(
    errors: &mut ValidationErrors,
    at: At<'_>,
    line: &OrderLine,
    broken: &Broken,
) -> LineAmounts {
    let kind = line_type_of(line);
    // Source: the description's enum of line types.
    if !kind.is_known() {
        errors.push(
            &at.field("type"),
            format!(
                "must be one of {}, got {:?}",
                OrderLineType::KNOWN.join(", "),
                truncate_for_message(kind.as_str())
            ),
        );
    }
    let type_ok = !broken.field(at, "type");

    check_length(errors, at, "name", Some(&line.name), limits::LINE_NAME);
    check_length(
        errors,
        at,
        "reference",
        line.reference.as_deref(),
        limits::LINE_REFERENCE,
    );
    check_length(
        errors,
        at,
        "merchant_data",
        line.merchant_data.as_deref(),
        limits::LINE_MERCHANT_DATA,
    );
    check_length(
        errors,
        at,
        "image_url",
        line.image_url.as_deref(),
        limits::URL,
    );
    check_length(
        errors,
        at,
        "product_url",
        line.product_url.as_deref(),
        limits::URL,
    );
    check_length(
        errors,
        at,
        "quantity_unit",
        line.quantity_unit.as_deref(),
        limits::QUANTITY_UNIT,
    );
    check_extra(errors, at, &line.extra, OrderLine::FIELDS);
    if let Some(ids) = &line.product_identifiers {
        check_product_identifiers(errors, at.child("product_identifiers"), ids);
    }
    if let Some(subscription) = &line.subscription {
        check_subscription(errors, at.child("subscription"), subscription);
    }

    // Source: the description (`quantity` minimum 0).
    let quantity_ok = line.quantity >= 0 && !broken.field(at, "quantity");
    if line.quantity < 0 {
        errors.push(
            &at.field("quantity"),
            format!("must be at least 0, got {}", line.quantity),
        );
    }
    let unit_price_ok =
        check_amount(errors, at, "unit_price", line.unit_price) && !broken.field(at, "unit_price");
    let total_ok = check_amount(errors, at, "total_amount", line.total_amount)
        && !broken.field(at, "total_amount");
    // Source: the description (`total_discount_amount` minimum 0).
    let discount_ok = match line.total_discount_amount {
        Some(d) if d < 0 => {
            errors.push(
                &at.field("total_discount_amount"),
                format!("must be at least 0, got {d}"),
            );
            false
        }
        _ => !broken.field(at, "total_discount_amount"),
    };
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

    // Source: Klarna's arithmetic:
    // total_amount = quantity × unit_price − total_discount_amount.
    if quantity_ok && unit_price_ok && discount_ok && total_ok {
        let expected = i128::from(line.quantity) * i128::from(line.unit_price)
            - i128::from(line.total_discount_amount.unwrap_or(0));
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

    // Source: Klarna's arithmetic: total_tax_amount within ±1 of
    // total_amount × tax_rate / (10000 + tax_rate).
    if let Some(rate) = line.tax_rate
        && rate_ok
        && total_ok
        && tax_ok
    {
        let tax = i128::from(line.total_tax_amount.unwrap_or(0));
        let amount = i128::from(line.total_amount);
        let rate = i128::from(rate);
        let denominator = 10_000 + rate;
        // |tax − amount × rate / denominator| ≤ 1, in integers.
        if (tax * denominator - amount * rate).abs() > denominator {
            let expected = line_tax(line.total_amount, rate as i64);
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
    }
    LineAmounts {
        total_ok,
        tax_ok,
        rate_ok,
        type_ok,
    }
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

/// Source: the description (`product_identifiers`).
fn check_product_identifiers(errors: &mut ValidationErrors, at: At<'_>, ids: &ProductIdentifiers) {
    check_length(errors, at, "brand", ids.brand.as_deref(), limits::BRAND);
    check_length(
        errors,
        at,
        "category_path",
        ids.category_path.as_deref(),
        limits::CATEGORY_PATH,
    );
    check_length(
        errors,
        at,
        "global_trade_item_number",
        ids.global_trade_item_number.as_deref(),
        limits::GTIN,
    );
    check_length(
        errors,
        at,
        "manufacturer_part_number",
        ids.manufacturer_part_number.as_deref(),
        limits::MPN,
    );
    check_length(errors, at, "color", ids.color.as_deref(), limits::COLOR);
    check_length(errors, at, "size", ids.size.as_deref(), limits::SIZE);
    check_extra(errors, at, &ids.extra, ProductIdentifiers::FIELDS);
}

/// Source: the description (`subscription`: interval enum, interval_count
/// minimum 1).
fn check_subscription(errors: &mut ValidationErrors, at: At<'_>, subscription: &Subscription) {
    if !subscription.interval.is_known() {
        errors.push(
            &at.field("interval"),
            format!(
                "must be one of {}, got {:?}",
                crate::SubscriptionInterval::KNOWN.join(", "),
                truncate_for_message(subscription.interval.as_str())
            ),
        );
    }
    if subscription.interval_count < limits::MIN_INTERVAL_COUNT {
        errors.push(
            &at.field("interval_count"),
            format!("must be at least 1, got {}", subscription.interval_count),
        );
    }
    check_extra(errors, at, &subscription.extra, Subscription::FIELDS);
}

/// Source: the description (`address`). The fields Klarna documents beyond
/// it (`street_name`, `street_number`, `house_extension`, `care_of`) have no
/// documented limit, so none is checked.
fn check_address(errors: &mut ValidationErrors, at: At<'_>, address: &Address) {
    for (field, value) in address.fields() {
        let Some(value) = value.as_deref() else {
            continue;
        };
        match field {
            "country" => {
                if !letters(value, 2) {
                    // Never echo personal data: say what is wrong, not the value.
                    errors.push(
                        &at.field(field),
                        "must be two letters (ISO 3166 alpha-2, pattern ^[A-Za-z]{2}$)",
                    );
                }
            }
            "phone" => {
                check_length(errors, at, field, Some(value), limits::PHONE);
            }
            "postal_code" => {
                check_length(errors, at, field, Some(value), limits::POSTAL_CODE);
            }
            "title" => {
                check_length(errors, at, field, Some(value), limits::TITLE);
            }
            "street_name" | "street_number" | "house_extension" | "care_of" => {}
            _ => {
                check_length(errors, at, field, Some(value), limits::ADDRESS_FIELD);
            }
        }
    }
    check_extra(errors, at, &address.extra, Address::FIELDS);
}

/// Source: the description (`merchant_urls`: each URL at most 2000
/// characters) and Klarna's documentation of `notification` (at most 2000
/// characters, like its siblings).
fn check_merchant_urls(errors: &mut ValidationErrors, urls: &MerchantUrls) {
    let at = At::named("merchant_urls");
    check_length(
        errors,
        at,
        "confirmation",
        Some(&urls.confirmation),
        limits::MERCHANT_URL,
    );
    check_length(
        errors,
        at,
        "push",
        urls.push.as_deref(),
        limits::MERCHANT_URL,
    );
    check_length(
        errors,
        at,
        "notification",
        urls.notification.as_deref(),
        limits::MERCHANT_URL,
    );
    check_extra(errors, at, &urls.extra, MerchantUrls::FIELDS);
}

fn check_attachment(errors: &mut ValidationErrors, attachment: &Attachment) {
    check_extra(
        errors,
        At::named("attachment"),
        &attachment.extra,
        Attachment::FIELDS,
    );
}

/// Validates a whole order.
pub(crate) fn check_order(order: &OrderRequest) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::default();
    check_order_into(&mut errors, order, &Broken::default());
    sort_by_field_order(&mut errors);
    errors.into_result()
}

/// The problems of an order the decoder could only read in part: what it
/// could not decode (`decoded`, with paths), then every rule the rest
/// breaks. A rule about a field that could not be decoded is skipped.
pub(crate) fn check_decoded(order: &OrderRequest, decoded: ValidationErrors) -> ValidationErrors {
    let broken = Broken(decoded.iter().map(|v| v.path().to_owned()).collect());
    let mut rules = ValidationErrors::default();
    check_order_into(&mut rules, order, &broken);
    let mut errors = decoded;
    for v in rules.violations {
        if !broken.is(&v.path) {
            errors.violations.push(v);
        }
    }
    sort_by_field_order(&mut errors);
    errors
}

fn check_order_into(errors: &mut ValidationErrors, order: &OrderRequest, broken: &Broken) {
    let top = At::ROOT;

    // Source: Klarna's request limits (a body over 1 MB gets 413).
    if let Some(size) = body_size_over_limit(order) {
        errors.push(
            "",
            format!(
                "the request body would be {size} bytes, over Klarna's limit of 1 MB ({} bytes), which Klarna answers with 413",
                limits::MAX_BODY_BYTES
            ),
        );
    }

    // Source: the description (`purchase_currency` pattern).
    if !letters(&order.purchase_currency, 3) {
        errors.push(
            "purchase_currency",
            format!(
                "must be three letters (ISO 4217, pattern ^[A-Za-z]{{3}}$), got {:?}",
                truncate_for_message(&order.purchase_currency)
            ),
        );
    }
    // Source: the description (`order_amount` minimum 1).
    if order.order_amount < limits::MIN_ORDER_AMOUNT {
        errors.push(
            "order_amount",
            format!("must be at least 1, got {}", order.order_amount),
        );
    }
    let amount_ok =
        order.order_amount >= limits::MIN_ORDER_AMOUNT && !broken.field(top, "order_amount");
    // Source: the description (`order_tax_amount` minimum 0).
    if order.order_tax_amount < 0 {
        errors.push(
            "order_tax_amount",
            format!("must be at least 0, got {}", order.order_tax_amount),
        );
    }
    let tax_ok = order.order_tax_amount >= 0 && !broken.field(top, "order_tax_amount");
    // Source: the description (lengths of the order's strings).
    check_length(
        errors,
        top,
        "merchant_data",
        order.merchant_data.as_deref(),
        limits::MERCHANT_DATA,
    );
    check_length(
        errors,
        top,
        "merchant_reference1",
        order.merchant_reference1.as_deref(),
        limits::MERCHANT_REFERENCE,
    );
    check_length(
        errors,
        top,
        "merchant_reference2",
        order.merchant_reference2.as_deref(),
        limits::MERCHANT_REFERENCE,
    );
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

    let lines = &order.order_lines;
    // Source: the description (`order_lines` 1 to 1000 items).
    let count_ok = (limits::MIN_ORDER_LINES..=limits::MAX_ORDER_LINES).contains(&lines.len());
    if !count_ok {
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
    let checked: Vec<LineAmounts> = lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            if line.checked.0 {
                // Built by the builder, which checked it; lines are immutable.
                LineAmounts {
                    total_ok: true,
                    tax_ok: true,
                    rate_ok: true,
                    type_ok: true,
                }
            } else {
                check_line(errors, At::line(i), line, broken)
            }
        })
        .collect();
    if lines.is_empty() {
        return;
    }
    let all_totals_ok = checked.iter().all(|a| a.total_ok);
    let all_taxes_ok = checked.iter().all(|a| a.tax_ok);
    // The tax style depends on the line types: unknown while one is broken.
    let style_known = checked.iter().all(|a| a.type_ok);

    // Source: Klarna's arithmetic: order_amount = Σ total_amount, exactly.
    if amount_ok && all_totals_ok {
        let sum: i128 = lines.iter().map(|l| i128::from(l.total_amount)).sum();
        if sum != i128::from(order.order_amount) {
            errors.push(
                "order_amount",
                format!(
                    "must equal the sum of the lines' total_amount = {sum}, got {}",
                    order.order_amount
                ),
            );
        }
    }
    if !style_known {
        return;
    }
    if us_style(lines) {
        check_us_tax(errors, order, &checked, tax_ok && all_totals_ok);
    } else if tax_ok && all_taxes_ok {
        // Source: Klarna's arithmetic (EU style): order_tax_amount =
        // Σ total_tax_amount, within ± the number of lines.
        let sum = expected_order_tax_wide(lines);
        let tolerance = lines.len() as i128;
        if (i128::from(order.order_tax_amount) - sum).abs() > tolerance {
            errors.push(
                "order_tax_amount",
                format!(
                    "must be within {tolerance} of the sum of the lines' total_tax_amount = {sum}, got {}",
                    order.order_tax_amount
                ),
            );
        }
    }
}

/// Source: Klarna's US sales-tax model. The tax is a `sales_tax` line, so
/// the other lines carry no tax of their own (`tax_rate` and
/// `total_tax_amount` absent or 0), and `order_tax_amount` is the
/// `sales_tax` lines' `total_amount`.
fn check_us_tax(
    errors: &mut ValidationErrors,
    order: &OrderRequest,
    checked: &[LineAmounts],
    sums_ok: bool,
) {
    let lines = &order.order_lines;
    let Some(first_sales_tax) = lines.iter().position(is_sales_tax) else {
        return;
    };
    let mut first_rated = None;
    for (i, (line, amounts)) in lines.iter().zip(checked).enumerate() {
        if is_sales_tax(line) {
            continue;
        }
        if let Some(rate) = line.tax_rate
            && rate != 0
            && amounts.rate_ok
        {
            first_rated.get_or_insert(i);
            errors.push(
                &format!("order_lines[{i}].tax_rate"),
                format!(
                    "must be absent or 0 beside a sales_tax line (order_lines[{first_sales_tax}]): in US style the tax is on the sales_tax line, got {rate}"
                ),
            );
        }
        if let Some(tax) = line.total_tax_amount
            && tax != 0
            && amounts.tax_ok
        {
            errors.push(
                &format!("order_lines[{i}].total_tax_amount"),
                format!(
                    "must be absent or 0 beside a sales_tax line (order_lines[{first_sales_tax}]): in US style the tax is on the sales_tax line, got {tax}"
                ),
            );
        }
    }
    if let Some(rated) = first_rated {
        for (i, line) in lines.iter().enumerate().filter(|(_, l)| is_sales_tax(l)) {
            let _ = line;
            errors.push(
                &format!("order_lines[{i}].type"),
                format!(
                    "a sales_tax line cannot stand beside a line taxed at a rate (order_lines[{rated}].tax_rate): tax the order either US style or EU style"
                ),
            );
        }
    }
    if sums_ok {
        let sum = expected_order_tax_wide(lines);
        if sum != i128::from(order.order_tax_amount) {
            errors.push(
                "order_tax_amount",
                format!(
                    "must equal the sum of the sales_tax lines' total_amount = {sum} (US style), got {}",
                    order.order_tax_amount
                ),
            );
        }
    }
}

/// The size of the order's JSON when it is over Klarna's limit, else none.
/// A quick upper bound settles almost every order; only an order that may
/// be over is measured, by writing it into a counter (nothing is kept).
fn body_size_over_limit(order: &OrderRequest) -> Option<usize> {
    if size_bound(order) <= limits::MAX_BODY_BYTES {
        return None;
    }
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len();
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    match serde_json::to_writer(&mut counter, order) {
        Ok(()) if counter.0 > limits::MAX_BODY_BYTES => Some(counter.0),
        Ok(()) => None,
        // Serializing cannot fail (every key is a string); if it did, the
        // bound stands in for the size.
        Err(_) => Some(size_bound(order)),
    }
}

/// An upper bound of the order's JSON size: every present field at its
/// longest (a key of at most 28 bytes with its quotes, colon and comma; a
/// string escaped at 6 bytes a byte; a number at 20 bytes).
fn size_bound(order: &OrderRequest) -> usize {
    const FIELD: usize = 32;
    const NUMBER: usize = FIELD + 20;
    fn text(value: Option<&str>) -> usize {
        value.map_or(0, |v| FIELD + 2 + 6 * v.len())
    }
    fn number<T>(value: &Option<T>) -> usize {
        if value.is_some() { NUMBER } else { 0 }
    }
    fn extra(extra: &Extra) -> usize {
        extra
            .entries()
            .iter()
            .map(|(name, value)| 4 + 6 * name.len() + value.json_len_bound())
            .sum()
    }
    fn object(present: bool) -> usize {
        if present { FIELD + 2 } else { 0 }
    }
    let mut size =
        2 + 3 * NUMBER + text(Some(&order.purchase_currency)) + number(&order.auto_capture);
    size += text(order.merchant_data.as_deref())
        + text(order.merchant_reference1.as_deref())
        + text(order.merchant_reference2.as_deref())
        + extra(&order.extra);
    if let Some(a) = &order.attachment {
        size += object(true) + text(Some(&a.body)) + text(Some(&a.content_type)) + extra(&a.extra);
    }
    if let Some(u) = &order.merchant_urls {
        size += object(true)
            + text(Some(&u.confirmation))
            + text(u.push.as_deref())
            + text(u.notification.as_deref())
            + extra(&u.extra);
    }
    if let Some(a) = &order.shipping_address {
        size += object(true)
            + a.fields()
                .iter()
                .map(|(_, v)| text(v.as_deref()))
                .sum::<usize>()
            + extra(&a.extra);
    }
    size += object(true);
    for line in &order.order_lines {
        size += 3
            + text(Some(&line.name))
            + 3 * NUMBER
            + text(line.image_url.as_deref())
            + text(line.merchant_data.as_deref())
            + text(line.product_url.as_deref())
            + text(line.quantity_unit.as_deref())
            + text(line.reference.as_deref())
            + text(line.line_type.as_ref().map(OrderLineType::as_str))
            + number(&line.tax_rate)
            + number(&line.total_discount_amount)
            + number(&line.total_tax_amount)
            + extra(&line.extra);
        if let Some(ids) = &line.product_identifiers {
            size += object(true)
                + text(ids.brand.as_deref())
                + text(ids.category_path.as_deref())
                + text(ids.global_trade_item_number.as_deref())
                + text(ids.manufacturer_part_number.as_deref())
                + text(ids.color.as_deref())
                + text(ids.size.as_deref())
                + extra(&ids.extra);
        }
        if let Some(s) = &line.subscription {
            size += object(true)
                + text(Some(&s.name))
                + text(Some(s.interval.as_str()))
                + NUMBER
                + extra(&s.extra);
        }
    }
    size
}

/// Orders violations as the fields appear: top-level fields first, then the
/// lines in order. The sort is stable, so each field keeps its own order.
fn sort_by_field_order(errors: &mut ValidationErrors) {
    errors.violations.sort_by_key(|v| {
        let line = v
            .path
            .strip_prefix("order_lines[")
            .and_then(|rest| rest.split(']').next())
            .and_then(|n| n.parse::<usize>().ok());
        match line {
            Some(n) => (1, n),
            None if v.path == "order_lines" => (1, 0),
            None => (0, 0),
        }
    });
}

/// A decoder's message without the values it quotes: they may be personal
/// data or megabytes long. Field names (in backticks) are kept.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(256));
    let mut in_quotes = false;
    let mut escaped = false;
    for c in message.chars() {
        if in_quotes {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_quotes = false;
                    out.push_str("…\"");
                }
                _ => escaped = false,
            }
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = true;
            }
        }
    }
    truncate_chars(&out, 300)
}

fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
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
    fn tax_rounds_half_away_from_zero() {
        // 2500 at 19 %: 399.16 -> 399.
        assert_eq!(line_tax(2500, 1900), 399);
        assert_eq!(line_tax(-2500, 1900), -399);
        // 105 at 5 %: 5.0 exactly.
        assert_eq!(line_tax(105, 500), 5);
        // 21 at 10 %: 1.909 -> 2; 11 at 10 %: exactly 1.0.
        assert_eq!(line_tax(21, 1000), 2);
        assert_eq!(line_tax(11, 1000), 1);
        // Half: 10000 at 10000 bp (100 %) is 5000 exactly; 3 at 10000 is 1.5 -> 2.
        assert_eq!(line_tax(3, 10_000), 2);
        assert_eq!(line_tax(-3, 10_000), -2);
        assert_eq!(line_tax(i64::MAX, 10_000), i64::MAX / 2 + 1);
        assert_eq!(line_tax(i64::MIN, 10_000), i64::MIN / 2);
        assert_eq!(line_tax(100, -5), 0);
    }

    #[test]
    fn totals_saturate() {
        assert_eq!(line_total(i64::MAX, i64::MAX, 0), i64::MAX);
        assert_eq!(line_total(i64::MAX, i64::MIN, i64::MAX), i64::MIN);
        assert_eq!(line_total(3, 100, 50), 250);
    }

    #[test]
    fn decoder_messages_lose_their_values() {
        assert_eq!(
            without_values(
                r#"invalid type: string "Adam \"A\" Andersson", expected i64 at line 1"#
            ),
            r#"invalid type: string "…", expected i64 at line 1"#
        );
        assert_eq!(
            without_values("unknown field `usage`, expected one of `a`, `b`"),
            "unknown field `usage`, expected one of `a`, `b`"
        );
        assert!(without_values(&"x".repeat(10_000)).chars().count() <= 301);
    }

    #[test]
    fn messages_truncate_long_values() {
        assert_eq!(truncate_for_message("EUR"), "EUR");
        assert_eq!(truncate_for_message(&"x".repeat(100)).chars().count(), 17);
    }
}
