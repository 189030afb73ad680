//! Orders: the request that charges a customer token, its parts and builders,
//! and the order Klarna creates.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::enums::{AuthorizedPaymentMethodType, FraudStatus, OrderLineType, SubscriptionInterval};
use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::validate::{self, ValidationErrors};

/// The body of a create-order request (`customer_token_order`).
///
/// Build one with [`OrderRequest::builder`], which fills in the order totals
/// and validates everything, or load one from the API's own JSON with
/// [`OrderRequest::from_json`] and check it with [`OrderRequest::validate`].
/// [`Client::create_order`](crate::Client::create_order) validates again
/// before anything is sent.
///
/// It serializes to exactly the JSON Klarna expects. Its `Debug` output hides
/// personal data (the shipping address and the attachment body).
///
/// ```
/// use klarna_customer_token::{OrderLine, OrderRequest};
///
/// let order = OrderRequest::builder()
///     .purchase_currency("EUR")
///     .line(OrderLine::builder("Monthly plan").quantity(1).unit_price(1190).tax_rate(1900).build()?)
///     .build()?;
/// assert_eq!(order.order_amount(), 1190);
/// assert_eq!(order.order_tax_amount(), 190);
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "customer_token_order")
)]
#[derive(Clone, PartialEq, Serialize)]
pub struct OrderRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attachment: Option<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) auto_capture: Option<bool>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_DATA.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant_data: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant_reference1: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant_reference2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant_urls: Option<MerchantUrls>,
    #[cfg_attr(feature = "schemars", schemars(range(min = crate::limits::MIN_ORDER_AMOUNT)))]
    pub(crate) order_amount: i64,
    #[cfg_attr(feature = "schemars", schemars(length(min = crate::limits::MIN_ORDER_LINES, max = crate::limits::MAX_ORDER_LINES)))]
    pub(crate) order_lines: Vec<OrderLine>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub(crate) order_tax_amount: i64,
    #[cfg_attr(
        feature = "schemars",
        schemars(pattern(crate::limits::CURRENCY_PATTERN))
    )]
    pub(crate) purchase_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) shipping_address: Option<Address>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

impl OrderRequest {
    /// Starts building an order.
    pub fn builder() -> OrderRequestBuilder {
        OrderRequestBuilder::default()
    }

    /// Reads an order from the API's own JSON.
    ///
    /// A field the typed API does not know, at any level, is kept and sent
    /// verbatim, after the typed fields, in the order given:
    /// [`unknown_fields`](Self::unknown_fields) lists them. Klarna documents
    /// fields on this body that its API description lacks (`customer`,
    /// `locale`, …), so an unknown field is never refused here; use
    /// [`from_json_strict`](Self::from_json_strict) to refuse them.
    ///
    /// A decodable order is not validated: call [`validate`](Self::validate)
    /// for that. When a field has the wrong type or a required field is
    /// missing, the error lists every such problem *and* every rule the rest
    /// of the order breaks, each with its path, such as
    /// `order_lines[2].quantity`.
    ///
    /// ```
    /// use klarna_customer_token::OrderRequest;
    /// let order = OrderRequest::from_json(br#"{
    ///     "purchase_currency": "USD", "locale": "en-US",
    ///     "order_amount": 1000, "order_tax_amount": 0,
    ///     "order_lines": [{"name": "Plan", "quantity": 1, "unit_price": 1000,
    ///                      "total_amount": 1000, "tax_rate": 0}]
    /// }"#)?;
    /// assert_eq!(order.unknown_fields(), ["locale"]);
    /// assert!(order.to_json().ends_with(br#","locale":"en-US"}"#));
    /// # Ok::<(), klarna_customer_token::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] listing every problem, each with its path.
    pub fn from_json(json: &[u8]) -> Result<Self, Error> {
        crate::shape::decode_order(json, false).map_err(Error::from)
    }

    /// Like [`from_json`](Self::from_json), but a field the typed API does
    /// not know is refused, with its path: typo protection for those who
    /// want it.
    ///
    /// ```
    /// use klarna_customer_token::OrderRequest;
    /// let json = br#"{"purchase_currency": "EUR", "order_amount": 1000,
    ///     "order_tax_amount": 0, "order_lines": [{"name": "Plan",
    ///     "quantity": 1, "unit_price": 1000, "total_amount": 1000, "colour": "red"}]}"#;
    /// let err = OrderRequest::from_json_strict(json).unwrap_err();
    /// assert!(err.validation().unwrap().at("order_lines[0].colour").is_some());
    /// # Ok::<(), klarna_customer_token::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Validation`] listing every problem, each with its path.
    pub fn from_json_strict(json: &[u8]) -> Result<Self, Error> {
        crate::shape::decode_order(json, true).map_err(Error::from)
    }

    /// The JSON paths of the fields the typed API does not know, such as
    /// `customer` or `order_lines[0].product_identifiers.model`, in the
    /// order of the document. They are sent as given.
    pub fn unknown_fields(&self) -> Vec<String> {
        let mut out = Vec::new();
        self.visit_extras(&mut |prefix, extra| {
            for name in extra.names() {
                out.push(join_path(prefix, name));
            }
        });
        out
    }

    /// Calls `f` with the path prefix and the unknown fields of every
    /// object of the order that has some.
    pub(crate) fn visit_extras(&self, f: &mut dyn FnMut(&str, &Extra)) {
        let mut visit = |prefix: &str, extra: &Extra| {
            if !extra.is_empty() {
                f(prefix, extra);
            }
        };
        visit("", &self.extra);
        if let Some(a) = &self.attachment {
            visit("attachment", &a.extra);
        }
        if let Some(u) = &self.merchant_urls {
            visit("merchant_urls", &u.extra);
        }
        for (i, line) in self.order_lines.iter().enumerate() {
            let has_extras = !line.extra.is_empty()
                || line
                    .product_identifiers
                    .as_ref()
                    .is_some_and(|p| !p.extra.is_empty())
                || line
                    .subscription
                    .as_ref()
                    .is_some_and(|s| !s.extra.is_empty());
            if !has_extras {
                continue;
            }
            let prefix = format!("order_lines[{i}]");
            visit(&prefix, &line.extra);
            if let Some(p) = &line.product_identifiers {
                visit(&format!("{prefix}.product_identifiers"), &p.extra);
            }
            if let Some(s) = &line.subscription {
                visit(&format!("{prefix}.subscription"), &s.extra);
            }
        }
        if let Some(a) = &self.shipping_address {
            visit("shipping_address", &a.extra);
        }
    }

    /// Serializes the order to the JSON Klarna expects.
    pub fn to_json(&self) -> Vec<u8> {
        // Serializing these types cannot fail: every map key is a string.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// Checks every schema constraint and Klarna's arithmetic, and reports
    /// every violation at once, each with its JSON path.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing every violation.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        validate::check_order(self)
    }

    /// Total amount of the order in minor units, tax and discounts included.
    pub fn order_amount(&self) -> i64 {
        self.order_amount
    }
    /// Total tax of the order in minor units.
    pub fn order_tax_amount(&self) -> i64 {
        self.order_tax_amount
    }
    /// The order lines.
    pub fn order_lines(&self) -> &[OrderLine] {
        &self.order_lines
    }
    /// ISO 4217 currency code, as given.
    pub fn purchase_currency(&self) -> &str {
        &self.purchase_currency
    }
    /// Whether Klarna should capture the order at once.
    pub fn auto_capture(&self) -> Option<bool> {
        self.auto_capture
    }
    /// Pass-through merchant data.
    pub fn merchant_data(&self) -> Option<&str> {
        self.merchant_data.as_deref()
    }
    /// The merchant's first reference, shown to the customer as the order number.
    pub fn merchant_reference1(&self) -> Option<&str> {
        self.merchant_reference1.as_deref()
    }
    /// The merchant's second reference.
    pub fn merchant_reference2(&self) -> Option<&str> {
        self.merchant_reference2.as_deref()
    }
    /// The merchant's URLs.
    pub fn merchant_urls(&self) -> Option<&MerchantUrls> {
        self.merchant_urls.as_ref()
    }
    /// The attachment.
    pub fn attachment(&self) -> Option<&Attachment> {
        self.attachment.as_ref()
    }
    /// The shipping address.
    pub fn shipping_address(&self) -> Option<&Address> {
        self.shipping_address.as_ref()
    }
}

impl fmt::Debug for OrderRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OrderRequest")
            .field("purchase_currency", &self.purchase_currency)
            .field("order_amount", &self.order_amount)
            .field("order_tax_amount", &self.order_tax_amount)
            .field("order_lines", &self.order_lines)
            .field("merchant_reference1", &self.merchant_reference1)
            .field("merchant_reference2", &self.merchant_reference2)
            .field("merchant_data", &self.merchant_data)
            .field("merchant_urls", &self.merchant_urls)
            .field("auto_capture", &self.auto_capture)
            .field("attachment", &self.attachment)
            .field("shipping_address", &self.shipping_address)
            .field("unknown_fields", &self.extra)
            .finish()
    }
}

/// Builds an [`OrderRequest`], filling in the totals it is not given.
///
/// `order_amount` defaults to the sum of the lines' `total_amount`.
/// `order_tax_amount` defaults, when the order has a `sales_tax` line (US
/// style), to the sum of the `sales_tax` lines' `total_amount`, and otherwise
/// (EU style) to the sum of the lines' `total_tax_amount`.
///
/// ```
/// use klarna_customer_token::{OrderLine, OrderLineType, OrderRequest};
///
/// let order = OrderRequest::builder()
///     .purchase_currency("USD")
///     .line(OrderLine::builder("Plan").quantity(1).unit_price(2000).tax_rate(0).build()?)
///     .line(
///         OrderLine::builder("Tax")
///             .line_type(OrderLineType::SalesTax)
///             .quantity(1)
///             .unit_price(165)
///             .build()?,
///     )
///     .extra("locale", serde_json::json!("en-US"))
///     .build()?;
/// assert_eq!(order.order_tax_amount(), 165);
/// assert_eq!(order.unknown_fields(), ["locale"]);
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct OrderRequestBuilder {
    order: OrderRequestParts,
}

#[derive(Clone, Debug, Default)]
struct OrderRequestParts {
    attachment: Option<Attachment>,
    auto_capture: Option<bool>,
    merchant_data: Option<String>,
    merchant_reference1: Option<String>,
    merchant_reference2: Option<String>,
    merchant_urls: Option<MerchantUrls>,
    order_amount: Option<i64>,
    order_lines: Vec<OrderLine>,
    order_tax_amount: Option<i64>,
    purchase_currency: Option<String>,
    shipping_address: Option<Address>,
    extra: Extra,
}

impl OrderRequestBuilder {
    /// ISO 4217 currency code, three letters (required).
    pub fn purchase_currency(mut self, currency: impl Into<String>) -> Self {
        self.order.purchase_currency = Some(currency.into());
        self
    }
    /// Adds one order line (at least one is required, at most 1000).
    pub fn line(mut self, line: OrderLine) -> Self {
        self.order.order_lines.push(line);
        self
    }
    /// Adds several order lines.
    pub fn lines(mut self, lines: impl IntoIterator<Item = OrderLine>) -> Self {
        self.order.order_lines.extend(lines);
        self
    }
    /// Sets the order total instead of computing it from the lines.
    pub fn order_amount(mut self, amount: i64) -> Self {
        self.order.order_amount = Some(amount);
        self
    }
    /// Sets the order tax instead of computing it from the lines.
    pub fn order_tax_amount(mut self, amount: i64) -> Self {
        self.order.order_tax_amount = Some(amount);
        self
    }
    /// The merchant's first reference (at most 255 characters), shown to the
    /// customer as the order number.
    pub fn merchant_reference1(mut self, reference: impl Into<String>) -> Self {
        self.order.merchant_reference1 = Some(reference.into());
        self
    }
    /// The merchant's second reference (at most 255 characters).
    pub fn merchant_reference2(mut self, reference: impl Into<String>) -> Self {
        self.order.merchant_reference2 = Some(reference.into());
        self
    }
    /// Pass-through data (at most 6000 characters).
    pub fn merchant_data(mut self, data: impl Into<String>) -> Self {
        self.order.merchant_data = Some(data.into());
        self
    }
    /// The merchant's confirmation and push URLs.
    pub fn merchant_urls(mut self, urls: MerchantUrls) -> Self {
        self.order.merchant_urls = Some(urls);
        self
    }
    /// Extra merchant data for Klarna's risk assessment.
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.order.attachment = Some(attachment);
        self
    }
    /// Whether Klarna should capture the order at once (default `false`).
    pub fn auto_capture(mut self, auto_capture: bool) -> Self {
        self.order.auto_capture = Some(auto_capture);
        self
    }
    /// Where the goods are shipped.
    pub fn shipping_address(mut self, address: Address) -> Self {
        self.order.shipping_address = Some(address);
        self
    }
    /// Adds a field the typed API does not have, such as `customer` or
    /// `locale`. It is sent as given, after the typed fields. A name the
    /// typed API already has is refused by [`build`](Self::build): set that
    /// field through its own method.
    pub fn extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.order.extra.push_value(name.into(), value);
        self
    }

    /// Fills in the totals and validates the whole order.
    ///
    /// # Errors
    /// [`Error::Validation`] listing every violation, each with its path.
    pub fn build(self) -> Result<OrderRequest, Error> {
        let parts = self.order;
        let Some(purchase_currency) = parts.purchase_currency else {
            return Err(ValidationErrors::single("purchase_currency", "is required").into());
        };
        let order_amount = match parts.order_amount {
            Some(amount) => amount,
            None => validate::sum_total_amounts(&parts.order_lines),
        };
        let order_tax_amount = match parts.order_tax_amount {
            Some(amount) => amount,
            None => validate::expected_order_tax(&parts.order_lines),
        };
        let order = OrderRequest {
            attachment: parts.attachment,
            auto_capture: parts.auto_capture,
            merchant_data: parts.merchant_data,
            merchant_reference1: parts.merchant_reference1,
            merchant_reference2: parts.merchant_reference2,
            merchant_urls: parts.merchant_urls,
            order_amount,
            order_lines: parts.order_lines,
            order_tax_amount,
            purchase_currency,
            shipping_address: parts.shipping_address,
            extra: parts.extra,
        };
        order.validate()?;
        Ok(order)
    }
}

/// One line of an order (`order_line`).
///
/// ```
/// use klarna_customer_token::{OrderLine, OrderLineType};
///
/// let line = OrderLine::builder("Running shoe")
///     .quantity(2)
///     .unit_price(2500)
///     .total_discount_amount(500)
///     .tax_rate(1900)
///     .build()?;
/// assert_eq!(line.total_amount(), 4500);
/// assert_eq!(line.total_tax_amount(), Some(718)); // 4500 * 1900 / 11900, rounded
///
/// let discount = OrderLine::builder("Welcome discount")
///     .line_type(OrderLineType::Discount)
///     .quantity(1)
///     .unit_price(-500)
///     .tax_rate(1900)
///     .build()?;
/// assert_eq!(discount.total_tax_amount(), Some(-80));
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "order_line")
)]
#[derive(Clone, PartialEq, Serialize)]
pub struct OrderLine {
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) image_url: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::LINE_MERCHANT_DATA.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) merchant_data: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(min = crate::limits::LINE_NAME.min, max = crate::limits::LINE_NAME.max)))]
    pub(crate) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) product_identifiers: Option<ProductIdentifiers>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) product_url: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub(crate) quantity: i64,
    #[cfg_attr(feature = "schemars", schemars(length(min = crate::limits::QUANTITY_UNIT.min, max = crate::limits::QUANTITY_UNIT.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) quantity_unit: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::LINE_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) reference: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0, max = crate::limits::MAX_TAX_RATE)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) tax_rate: Option<i64>,
    #[cfg_attr(feature = "schemars", schemars(range(max = crate::limits::MAX_LINE_AMOUNT)))]
    pub(crate) total_amount: i64,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) total_discount_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) total_tax_amount: Option<i64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(crate) line_type: Option<OrderLineType>,
    #[cfg_attr(feature = "schemars", schemars(range(max = crate::limits::MAX_LINE_AMOUNT)))]
    pub(crate) unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) subscription: Option<Subscription>,
    /// Set by the builder once the line passed its own checks; lines are
    /// immutable, so the order's validation need not check it again.
    #[serde(skip)]
    pub(crate) checked: Checked,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

/// Whether a line already passed its own checks. Not part of the line's
/// value: two lines that differ only here are equal.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Checked(pub(crate) bool);

impl PartialEq for Checked {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for OrderLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("OrderLine");
        s.field("name", &self.name)
            .field("quantity", &self.quantity)
            .field("unit_price", &self.unit_price)
            .field("total_amount", &self.total_amount);
        optional(&mut s, "type", &self.line_type);
        optional(&mut s, "tax_rate", &self.tax_rate);
        optional(&mut s, "total_tax_amount", &self.total_tax_amount);
        optional(&mut s, "total_discount_amount", &self.total_discount_amount);
        optional(&mut s, "quantity_unit", &self.quantity_unit);
        optional(&mut s, "reference", &self.reference);
        optional(&mut s, "merchant_data", &self.merchant_data);
        optional(&mut s, "image_url", &self.image_url);
        optional(&mut s, "product_url", &self.product_url);
        optional(&mut s, "product_identifiers", &self.product_identifiers);
        optional(&mut s, "subscription", &self.subscription);
        if !self.extra.is_empty() {
            s.field("unknown_fields", &self.extra);
        }
        s.finish()
    }
}

fn optional<T: fmt::Debug>(s: &mut fmt::DebugStruct<'_, '_>, name: &str, value: &Option<T>) {
    if let Some(value) = value {
        s.field(name, value);
    }
}

impl OrderLine {
    /// Starts building a line with its name (1 to 255 characters).
    pub fn builder(name: impl Into<String>) -> OrderLineBuilder {
        OrderLineBuilder {
            line: OrderLineParts {
                name: name.into(),
                ..OrderLineParts::default()
            },
        }
    }

    /// The line's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Number of items.
    pub fn quantity(&self) -> i64 {
        self.quantity
    }
    /// Price of one item in minor units, tax included.
    pub fn unit_price(&self) -> i64 {
        self.unit_price
    }
    /// `quantity × unit_price − total_discount_amount`, in minor units.
    pub fn total_amount(&self) -> i64 {
        self.total_amount
    }
    /// Tax rate in basis points (1900 is 19 %).
    pub fn tax_rate(&self) -> Option<i64> {
        self.tax_rate
    }
    /// Tax included in `total_amount`, in minor units.
    pub fn total_tax_amount(&self) -> Option<i64> {
        self.total_tax_amount
    }
    /// Discount on the line, in minor units.
    pub fn total_discount_amount(&self) -> Option<i64> {
        self.total_discount_amount
    }
    /// The line's type; none means a physical good.
    pub fn line_type(&self) -> Option<&OrderLineType> {
        self.line_type.as_ref()
    }
    /// The unit of the quantity, such as `pcs`.
    pub fn quantity_unit(&self) -> Option<&str> {
        self.quantity_unit.as_deref()
    }
    /// The merchant's article number.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }
    /// Pass-through data for the line.
    pub fn merchant_data(&self) -> Option<&str> {
        self.merchant_data.as_deref()
    }
    /// URL of a product image.
    pub fn image_url(&self) -> Option<&str> {
        self.image_url.as_deref()
    }
    /// URL of the product page.
    pub fn product_url(&self) -> Option<&str> {
        self.product_url.as_deref()
    }
    /// Product identifiers.
    pub fn product_identifiers(&self) -> Option<&ProductIdentifiers> {
        self.product_identifiers.as_ref()
    }
    /// The subscription this line renews.
    pub fn subscription(&self) -> Option<&Subscription> {
        self.subscription.as_ref()
    }
}

/// Builds an [`OrderLine`].
///
/// `quantity` and `unit_price` are required. `total_amount` defaults to
/// `quantity × unit_price − total_discount_amount`; when a `tax_rate` is set,
/// `total_tax_amount` defaults to `total_amount × tax_rate / (10000 +
/// tax_rate)`, computed on the absolute value, rounded half away from zero,
/// with the sign of `total_amount`.
#[derive(Clone, Debug)]
#[must_use]
pub struct OrderLineBuilder {
    line: OrderLineParts,
}

#[derive(Clone, Debug, Default)]
struct OrderLineParts {
    image_url: Option<String>,
    merchant_data: Option<String>,
    name: String,
    product_identifiers: Option<ProductIdentifiers>,
    product_url: Option<String>,
    quantity: Option<i64>,
    quantity_unit: Option<String>,
    reference: Option<String>,
    tax_rate: Option<i64>,
    total_amount: Option<i64>,
    total_discount_amount: Option<i64>,
    total_tax_amount: Option<i64>,
    line_type: Option<OrderLineType>,
    unit_price: Option<i64>,
    subscription: Option<Subscription>,
    extra: Extra,
}

impl OrderLineBuilder {
    /// Number of items (required, at least 0).
    pub fn quantity(mut self, quantity: i64) -> Self {
        self.line.quantity = Some(quantity);
        self
    }
    /// Price of one item in minor units, tax included (required). It may be
    /// negative on any line type, as on a discount given as a `physical`
    /// line; the order total must still be at least 1.
    pub fn unit_price(mut self, unit_price: i64) -> Self {
        self.line.unit_price = Some(unit_price);
        self
    }
    /// Tax rate in basis points, 0 to 10000 (1900 is 19 %).
    pub fn tax_rate(mut self, tax_rate: i64) -> Self {
        self.line.tax_rate = Some(tax_rate);
        self
    }
    /// Discount on the line in minor units (at least 0).
    pub fn total_discount_amount(mut self, amount: i64) -> Self {
        self.line.total_discount_amount = Some(amount);
        self
    }
    /// Sets the line total instead of computing it.
    pub fn total_amount(mut self, amount: i64) -> Self {
        self.line.total_amount = Some(amount);
        self
    }
    /// Sets the line tax instead of computing it.
    pub fn total_tax_amount(mut self, amount: i64) -> Self {
        self.line.total_tax_amount = Some(amount);
        self
    }
    /// The line's type (none means a physical good).
    pub fn line_type(mut self, line_type: OrderLineType) -> Self {
        self.line.line_type = Some(line_type);
        self
    }
    /// The unit of the quantity, such as `pcs` (1 to 8 characters).
    pub fn quantity_unit(mut self, unit: impl Into<String>) -> Self {
        self.line.quantity_unit = Some(unit.into());
        self
    }
    /// The merchant's article number (at most 256 characters).
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.line.reference = Some(reference.into());
        self
    }
    /// Pass-through data for the line (at most 255 characters).
    pub fn merchant_data(mut self, data: impl Into<String>) -> Self {
        self.line.merchant_data = Some(data.into());
        self
    }
    /// URL of a product image (at most 1024 characters).
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.line.image_url = Some(url.into());
        self
    }
    /// URL of the product page (at most 1024 characters).
    pub fn product_url(mut self, url: impl Into<String>) -> Self {
        self.line.product_url = Some(url.into());
        self
    }
    /// Product identifiers.
    pub fn product_identifiers(mut self, identifiers: ProductIdentifiers) -> Self {
        self.line.product_identifiers = Some(identifiers);
        self
    }
    /// The subscription this line renews; Klarna asks for it on
    /// subscription lines.
    pub fn subscription(mut self, subscription: Subscription) -> Self {
        self.line.subscription = Some(subscription);
        self
    }
    /// Adds a field the typed API does not have. It is sent as given, after
    /// the typed fields. A name the typed API already has is refused by
    /// [`build`](Self::build): set that field through its own method.
    pub fn extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.line.extra.push_value(name.into(), value);
        self
    }

    /// Fills in the totals and validates the line on its own. Paths in the
    /// errors are relative to the line, such as `total_tax_amount`.
    ///
    /// # Errors
    /// [`Error::Validation`] listing every violation.
    pub fn build(self) -> Result<OrderLine, Error> {
        let p = self.line;
        let mut missing = ValidationErrors::default();
        if p.quantity.is_none() {
            missing.push("quantity", "is required");
        }
        if p.unit_price.is_none() {
            missing.push("unit_price", "is required");
        }
        let (Some(quantity), Some(unit_price)) = (p.quantity, p.unit_price) else {
            return Err(missing.into());
        };
        let total_amount = match p.total_amount {
            Some(amount) => amount,
            None => {
                validate::line_total(quantity, unit_price, p.total_discount_amount.unwrap_or(0))
            }
        };
        let total_tax_amount = match (p.total_tax_amount, p.tax_rate) {
            (Some(tax), _) => Some(tax),
            (None, Some(rate)) => Some(validate::line_tax(total_amount, rate)),
            (None, None) => None,
        };
        let mut line = OrderLine {
            image_url: p.image_url,
            merchant_data: p.merchant_data,
            name: p.name,
            product_identifiers: p.product_identifiers,
            product_url: p.product_url,
            quantity,
            quantity_unit: p.quantity_unit,
            reference: p.reference,
            tax_rate: p.tax_rate,
            total_amount,
            total_discount_amount: p.total_discount_amount,
            total_tax_amount,
            line_type: p.line_type,
            unit_price,
            subscription: p.subscription,
            checked: Checked(false),
            extra: p.extra,
        };
        validate::check_line_alone(&line)?;
        line.checked = Checked(true);
        Ok(line)
    }
}

/// Product identifiers of an order line (all optional).
///
/// ```
/// use klarna_customer_token::ProductIdentifiers;
/// let ids = ProductIdentifiers::new().brand("shoe-brand").category_path("Shoes > Running");
/// assert_eq!(ids.get_brand(), Some("shoe-brand"));
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "product_identifiers")
)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[must_use]
pub struct ProductIdentifiers {
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::BRAND.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) brand: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::CATEGORY_PATH.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) category_path: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::GTIN.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) global_trade_item_number: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MPN.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) manufacturer_part_number: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::COLOR.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) color: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::SIZE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) size: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

macro_rules! setters {
    ($ty:ident { $( $(#[$doc:meta])* $field:ident / $getter:ident, )+ }) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $field(mut self, value: impl Into<String>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
                $(#[$doc])*
                pub fn $getter(&self) -> Option<&str> {
                    self.$field.as_deref()
                }
            )+
        }
    };
}

impl ProductIdentifiers {
    /// No identifiers yet.
    pub fn new() -> Self {
        Self::default()
    }
}

setters!(ProductIdentifiers {
    /// Brand (at most 70 characters).
    brand / get_brand,
    /// Category path, segments joined by " > " (at most 750 characters).
    category_path / get_category_path,
    /// GTIN, EAN or UPC (at most 50 characters).
    global_trade_item_number / get_global_trade_item_number,
    /// Manufacturer part number (at most 70 characters).
    manufacturer_part_number / get_manufacturer_part_number,
    /// Color (at most 64 characters).
    color / get_color,
    /// Size (at most 64 characters).
    size / get_size,
});

/// The subscription an order line renews. All three fields are required.
///
/// ```
/// use klarna_customer_token::{Subscription, SubscriptionInterval};
/// let plan = Subscription::new("Gold plan", SubscriptionInterval::Month, 1);
/// assert_eq!(plan.interval_count(), 1);
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "subscription")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Subscription {
    pub(crate) name: String,
    pub(crate) interval: SubscriptionInterval,
    #[cfg_attr(feature = "schemars", schemars(range(min = crate::limits::MIN_INTERVAL_COUNT)))]
    pub(crate) interval_count: i64,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

impl Subscription {
    /// A subscription renewing every `interval_count` `interval`s (at least 1).
    pub fn new(
        name: impl Into<String>,
        interval: SubscriptionInterval,
        interval_count: i64,
    ) -> Self {
        Self {
            name: name.into(),
            interval,
            interval_count,
            extra: Extra::default(),
        }
    }
    /// The subscription's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The renewal interval.
    pub fn interval(&self) -> &SubscriptionInterval {
        &self.interval
    }
    /// How many intervals between renewals.
    pub fn interval_count(&self) -> i64 {
        self.interval_count
    }
}

/// A postal address (all fields optional). Its `Debug` output shows which
/// fields are set, never their values.
///
/// ```
/// use klarna_customer_token::Address;
/// let address = Address::new().given_name("Adam").family_name("Andersson").country("GB");
/// assert!(!format!("{address:?}").contains("Adam"));
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "address")
)]
#[derive(Clone, Default, PartialEq, Eq, Serialize)]
#[must_use]
pub struct Address {
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) attention: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) city: Option<String>,
    #[cfg_attr(
        feature = "schemars",
        schemars(pattern(crate::limits::COUNTRY_PATTERN))
    )]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) country: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) email: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) family_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) given_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) organization_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(min = crate::limits::PHONE.min, max = crate::limits::PHONE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) phone: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::POSTAL_CODE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) postal_code: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) region: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) street_address: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) street_address2: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::TITLE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) title: Option<String>,
    // The four fields below are not in the API description: Klarna
    // documents them on its order addresses (Klarna Checkout's address) and
    // shops send them to this endpoint. Klarna documents no length limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) street_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) street_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) house_extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) care_of: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

impl Address {
    /// An empty address.
    pub fn new() -> Self {
        Self::default()
    }

    pub(crate) fn fields(&self) -> [(&'static str, &Option<String>); 17] {
        [
            ("attention", &self.attention),
            ("city", &self.city),
            ("country", &self.country),
            ("email", &self.email),
            ("family_name", &self.family_name),
            ("given_name", &self.given_name),
            ("organization_name", &self.organization_name),
            ("phone", &self.phone),
            ("postal_code", &self.postal_code),
            ("region", &self.region),
            ("street_address", &self.street_address),
            ("street_address2", &self.street_address2),
            ("title", &self.title),
            ("street_name", &self.street_name),
            ("street_number", &self.street_number),
            ("house_extension", &self.house_extension),
            ("care_of", &self.care_of),
        ]
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Address");
        for (name, value) in self.fields() {
            if value.is_some() {
                s.field(name, &format_args!("<redacted>"));
            }
        }
        for name in self.extra.names() {
            s.field(name, &format_args!("<redacted>"));
        }
        s.finish()
    }
}

setters!(Address {
    /// Attention line (at most 99 characters).
    attention / get_attention,
    /// City (at most 99 characters).
    city / get_city,
    /// ISO 3166 alpha-2 country code, two letters.
    country / get_country,
    /// Email address (at most 99 characters).
    email / get_email,
    /// Family name (at most 99 characters).
    family_name / get_family_name,
    /// Given name (at most 99 characters).
    given_name / get_given_name,
    /// Organization name (at most 99 characters).
    organization_name / get_organization_name,
    /// Phone number (5 to 99 characters).
    phone / get_phone,
    /// Postal code (at most 10 characters).
    postal_code / get_postal_code,
    /// Region or state (at most 99 characters).
    region / get_region,
    /// Street address (at most 99 characters).
    street_address / get_street_address,
    /// Second street address line (at most 99 characters).
    street_address2 / get_street_address2,
    /// Title, such as "Mr." (at most 20 characters).
    title / get_title,
    /// Street name without the number, where the address is given in parts
    /// (Klarna documents it for DE, AT and NL; no length limit is documented).
    street_name / get_street_name,
    /// Street number, where the address is given in parts (Klarna documents
    /// it for DE, AT and NL; no length limit is documented).
    street_number / get_street_number,
    /// House extension, such as "B" (Klarna documents it for NL; no length
    /// limit is documented).
    house_extension / get_house_extension,
    /// "Care of" line (no length limit is documented).
    care_of / get_care_of,
});

/// Extra merchant data for Klarna's risk assessment. `body` is a JSON
/// document serialized into a string. Its `Debug` output hides the body.
///
/// ```
/// use klarna_customer_token::Attachment;
/// let a = Attachment::new("application/vnd.klarna.internal.emd-v2+json", r#"{"customer_account_info":[]}"#);
/// assert_eq!(a.content_type(), "application/vnd.klarna.internal.emd-v2+json");
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "attachment")
)]
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub(crate) body: String,
    pub(crate) content_type: String,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

impl Attachment {
    /// An attachment with its content type and body.
    pub fn new(content_type: impl Into<String>, body: impl Into<String>) -> Self {
        Self {
            body: body.into(),
            content_type: content_type.into(),
            extra: Extra::default(),
        }
    }
    /// The body.
    pub fn body(&self) -> &str {
        &self.body
    }
    /// The content type.
    pub fn content_type(&self) -> &str {
        &self.content_type
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("content_type", &self.content_type)
            .field(
                "body",
                &format_args!("<redacted, {} bytes>", self.body.len()),
            )
            .field("unknown_fields", &self.extra)
            .finish()
    }
}

/// The merchant's URLs for the order.
///
/// ```
/// use klarna_customer_token::MerchantUrls;
/// let urls = MerchantUrls::new("https://shop.example/thanks").push("https://shop.example/push");
/// assert_eq!(urls.get_push(), Some("https://shop.example/push"));
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "merchant_urls")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[must_use]
pub struct MerchantUrls {
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_URL.max)))]
    pub(crate) confirmation: String,
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) push: Option<String>,
    /// Not in the API description: Klarna documents it on its merchant URLs
    /// ("URL for notifications on pending orders", at most 2000 characters)
    /// and in its own body for creating an order with a customer token.
    #[cfg_attr(feature = "schemars", schemars(length(max = crate::limits::MERCHANT_URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) notification: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(crate) extra: Extra,
}

impl MerchantUrls {
    /// URLs with the confirmation page (at most 2000 characters).
    pub fn new(confirmation: impl Into<String>) -> Self {
        Self {
            confirmation: confirmation.into(),
            push: None,
            notification: None,
            extra: Extra::default(),
        }
    }
    /// The push notification URL (at most 2000 characters).
    pub fn push(mut self, url: impl Into<String>) -> Self {
        self.push = Some(url.into());
        self
    }
    /// The URL Klarna notifies when a pending order's fraud review ends (at
    /// most 2000 characters).
    pub fn notification(mut self, url: impl Into<String>) -> Self {
        self.notification = Some(url.into());
        self
    }
    /// The notification URL.
    pub fn get_notification(&self) -> Option<&str> {
        self.notification.as_deref()
    }
    /// The confirmation URL.
    pub fn confirmation(&self) -> &str {
        &self.confirmation
    }
    /// The push notification URL.
    pub fn get_push(&self) -> Option<&str> {
        self.push.as_deref()
    }
}

/// The order body Klarna returns (`order`). The facade wraps it in
/// [`CreatedOrder`]; it is public only for the crate's benchmarks.
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "order")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) authorized_payment_method: Option<AuthorizedPaymentMethod>,
    pub(crate) fraud_status: FraudStatus,
    pub(crate) order_id: String,
    // Klarna's description marks it required, but its own examples omit it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) redirect_url: Option<String>,
}

/// The payment method Klarna authorized for a new order.
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "authorized_payment_method")
)]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuthorizedPaymentMethod {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number_of_days: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    number_of_installments: Option<i64>,
    #[serde(rename = "type")]
    method_type: AuthorizedPaymentMethodType,
}

impl AuthorizedPaymentMethod {
    /// A method of this type, as the sandbox reports it.
    #[cfg(feature = "sandbox")]
    pub(crate) fn new(method_type: AuthorizedPaymentMethodType) -> Self {
        Self {
            number_of_days: None,
            number_of_installments: None,
            method_type,
        }
    }
    /// The kind of payment method.
    pub fn method_type(&self) -> &AuthorizedPaymentMethodType {
        &self.method_type
    }
    /// Days until payment is due, where it applies.
    pub fn number_of_days(&self) -> Option<i64> {
        self.number_of_days
    }
    /// Number of installments, where it applies.
    pub fn number_of_installments(&self) -> Option<i64> {
        self.number_of_installments
    }
}

/// An order Klarna created, with the idempotency key that created it.
///
/// With the `serde` feature it is written as Klarna's order fields
/// (`order_id`, `fraud_status`, …) beside `idempotency_key`,
/// `correlation_id` and `attempts`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(Serialize, Deserialize))]
#[non_exhaustive]
pub struct CreatedOrder {
    #[cfg_attr(feature = "serde", serde(flatten))]
    body: OrderBody,
    idempotency_key: IdempotencyKey,
    correlation_id: Option<String>,
    attempts: u32,
}

impl CreatedOrder {
    pub(crate) fn new(
        body: OrderBody,
        idempotency_key: IdempotencyKey,
        correlation_id: Option<String>,
        attempts: u32,
    ) -> Self {
        Self {
            body,
            idempotency_key,
            correlation_id,
            attempts,
        }
    }
    /// Klarna's order id, used for all later order management.
    pub fn order_id(&self) -> &str {
        &self.body.order_id
    }
    /// Klarna's fraud assessment: capture only when `Accepted`.
    pub fn fraud_status(&self) -> &FraudStatus {
        &self.body.fraud_status
    }
    /// Where to send the customer to let Klarna set its cookie, if Klarna
    /// gave one.
    pub fn redirect_url(&self) -> Option<&str> {
        self.body.redirect_url.as_deref()
    }
    /// The payment method Klarna authorized, if it says.
    pub fn authorized_payment_method(&self) -> Option<&AuthorizedPaymentMethod> {
        self.body.authorized_payment_method.as_ref()
    }
    /// The idempotency key the order was created with. Sending the same
    /// order again with this key within 24 hours returns this same order.
    pub fn idempotency_key(&self) -> &IdempotencyKey {
        &self.idempotency_key
    }
    /// Klarna's correlation id for the successful attempt, if it sent one.
    pub fn correlation_id(&self) -> Option<&str> {
        self.correlation_id.as_deref()
    }
    /// How many attempts the call took.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }
}

fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Logs, at debug level, the paths of the fields the typed API does not
/// know, as an order with them is sent. Names only: values may be personal
/// data.
pub(crate) fn log_unknown_fields(order: &OrderRequest) {
    if tracing::enabled!(tracing::Level::DEBUG) {
        let fields = order.unknown_fields();
        if !fields.is_empty() {
            tracing::debug!(
                unknown_fields = ?fields,
                "sending fields the typed API does not know, as given"
            );
        }
    }
}

/// The value of a field the typed API does not know.
#[derive(Clone)]
pub(crate) enum ExtraValue {
    /// As read from JSON, byte for byte.
    Raw(Box<serde_json::value::RawValue>),
    /// As given to a builder's `extra`.
    Value(serde_json::Value),
}

impl ExtraValue {
    /// The length of the value's JSON, or an upper bound of it.
    pub(crate) fn json_len_bound(&self) -> usize {
        match self {
            Self::Raw(raw) => raw.get().len(),
            // Writing the value is the only way to know; it is rare (values
            // from builders) and small.
            Self::Value(value) => value.to_string().len(),
        }
    }

    fn to_value(&self) -> Option<serde_json::Value> {
        match self {
            Self::Raw(raw) => serde_json::from_str(raw.get()).ok(),
            Self::Value(value) => Some(value.clone()),
        }
    }
}

impl PartialEq for ExtraValue {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::Raw(a), Self::Raw(b)) => a.get() == b.get(),
            (Self::Value(a), Self::Value(b)) => a == b,
            (a, b) => a.to_value().is_some() && a.to_value() == b.to_value(),
        }
    }
}

impl Eq for ExtraValue {}

impl Serialize for ExtraValue {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Raw(raw) => raw.serialize(serializer),
            Self::Value(value) => value.serialize(serializer),
        }
    }
}

/// The fields of one object of the request that the typed API does not
/// know, in the order given. They serialize after the typed fields,
/// unchanged.
#[derive(Clone, Default, PartialEq, Eq)]
pub(crate) struct Extra(Vec<(String, ExtraValue)>);

impl Extra {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(name, _)| name.as_str())
    }
    pub(crate) fn entries(&self) -> &[(String, ExtraValue)] {
        &self.0
    }
    pub(crate) fn push_raw(&mut self, name: String, value: Box<serde_json::value::RawValue>) {
        self.0.push((name, ExtraValue::Raw(value)));
    }
    pub(crate) fn push_value(&mut self, name: String, value: serde_json::Value) {
        self.0.push((name, ExtraValue::Value(value)));
    }
}

/// Names only: values may be personal data.
impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Serialize for Extra {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap as _;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

macro_rules! extra_setter {
    ($($ty:ident),+) => {$(
        impl $ty {
            /// Adds a field the typed API does not have. It is sent as
            /// given, after the typed fields. A name the typed API already
            /// has is refused when the order is validated: set that field
            /// through its own method.
            pub fn extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
                self.extra.push_value(name.into(), value);
                self
            }
        }
    )+};
}

extra_setter!(
    ProductIdentifiers,
    Subscription,
    Address,
    Attachment,
    MerchantUrls
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_personal_data() {
        let order = OrderRequest::builder()
            .purchase_currency("GBP")
            .line(
                OrderLine::builder("Running shoe")
                    .quantity(1)
                    .unit_price(2500)
                    .build()
                    .unwrap(),
            )
            .shipping_address(
                Address::new()
                    .given_name("Adam")
                    .family_name("Andersson")
                    .email("adam@example.com")
                    .phone("+44795465131")
                    .street_address("33 Cavendish Square")
                    .postal_code("W1G 0PW")
                    .city("London")
                    .country("GB"),
            )
            .attachment(Attachment::new(
                "application/vnd.klarna.internal.emd-v2+json",
                r#"{"customer_account_info":[{"unique_account_identifier":"adam@example.com"}]}"#,
            ))
            .build()
            .unwrap();
        let shown = format!("{order:?}");
        for personal in [
            "Adam",
            "Andersson",
            "adam@example.com",
            "+44795465131",
            "Cavendish",
            "W1G",
            "London",
        ] {
            assert!(!shown.contains(personal), "{personal} in {shown}");
        }
        assert!(
            shown.contains("Running shoe") && shown.contains("given_name"),
            "{shown}"
        );
    }
}
