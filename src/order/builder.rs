//! The builders: they fill in the totals Klarna's arithmetic implies and
//! validate what they build.

use super::amounts;
use super::{
    Address, Attachment, MerchantUrls, OrderLine, OrderRequest, ProductIdentifiers, Subscription,
};
use crate::enums::OrderLineType;
use crate::error::Error;
use crate::violation::ValidationErrors;

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
#[derive(Clone, Debug)]
#[must_use]
pub struct OrderRequestBuilder {
    /// The order as given so far; the three fields below stand in for its
    /// required ones until `build`.
    order: OrderRequest,
    purchase_currency: Option<String>,
    order_amount: Option<i64>,
    order_tax_amount: Option<i64>,
}

impl Default for OrderRequestBuilder {
    fn default() -> Self {
        Self {
            order: OrderRequest::empty(),
            purchase_currency: None,
            order_amount: None,
            order_tax_amount: None,
        }
    }
}

impl OrderRequestBuilder {
    /// ISO 4217 currency code, three letters (required).
    #[inline]
    pub fn purchase_currency(mut self, currency: impl Into<String>) -> Self {
        self.purchase_currency = Some(currency.into());
        self
    }
    /// Adds one order line (at least one is required, at most 1000).
    #[inline]
    pub fn line(mut self, line: OrderLine) -> Self {
        self.order.order_lines.push(line);
        self
    }
    /// Adds several order lines.
    #[inline]
    pub fn lines(mut self, lines: impl IntoIterator<Item = OrderLine>) -> Self {
        self.order.order_lines.extend(lines);
        self
    }
    /// Sets the order total instead of computing it from the lines.
    #[inline]
    pub fn order_amount(mut self, amount: i64) -> Self {
        self.order_amount = Some(amount);
        self
    }
    /// Sets the order tax instead of computing it from the lines.
    #[inline]
    pub fn order_tax_amount(mut self, amount: i64) -> Self {
        self.order_tax_amount = Some(amount);
        self
    }
    /// The merchant's first reference (at most 255 characters), shown to the
    /// customer as the order number.
    #[inline]
    pub fn merchant_reference1(mut self, reference: impl Into<String>) -> Self {
        self.order.merchant_reference1 = Some(reference.into());
        self
    }
    /// The merchant's second reference (at most 255 characters).
    #[inline]
    pub fn merchant_reference2(mut self, reference: impl Into<String>) -> Self {
        self.order.merchant_reference2 = Some(reference.into());
        self
    }
    /// Pass-through data (at most 6000 characters).
    #[inline]
    pub fn merchant_data(mut self, data: impl Into<String>) -> Self {
        self.order.merchant_data = Some(data.into());
        self
    }
    /// The merchant's confirmation and push URLs.
    #[inline]
    pub fn merchant_urls(mut self, urls: MerchantUrls) -> Self {
        self.order.merchant_urls = Some(urls);
        self
    }
    /// Extra merchant data for Klarna's risk assessment.
    #[inline]
    pub fn attachment(mut self, attachment: Attachment) -> Self {
        self.order.attachment = Some(attachment);
        self
    }
    /// Whether Klarna should capture the order at once (default `false`).
    #[inline]
    pub fn auto_capture(mut self, auto_capture: bool) -> Self {
        self.order.auto_capture = Some(auto_capture);
        self
    }
    /// Where the goods are shipped.
    #[inline]
    pub fn shipping_address(mut self, address: Address) -> Self {
        self.order.shipping_address = Some(address);
        self
    }
    /// Adds a field the typed API does not have, such as `customer` or
    /// `locale`. It is sent as given, after the typed fields. A name the
    /// typed API already has is refused by [`build`](Self::build): set that
    /// field through its own method.
    #[inline]
    pub fn extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.order.extra.push_value(name.into(), value);
        self
    }

    /// Fills in the totals and validates the whole order.
    ///
    /// # Errors
    /// [`Error::Validation`] listing every violation, each with its path.
    #[inline]
    pub fn build(self) -> Result<OrderRequest, Error> {
        let Some(purchase_currency) = self.purchase_currency else {
            return Err(ValidationErrors::single("purchase_currency", "is required").into());
        };
        let mut order = self.order;
        let lines = &order.order_lines;
        order.order_amount = self
            .order_amount
            .unwrap_or_else(|| amounts::sum_total_amounts(lines));
        order.order_tax_amount = self
            .order_tax_amount
            .unwrap_or_else(|| amounts::expected_order_tax(lines));
        order.purchase_currency = purchase_currency;
        order.validate()?;
        Ok(order)
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
    /// The line as given so far; the three fields below stand in for its
    /// required amounts until `build`.
    line: OrderLine,
    quantity: Option<i64>,
    unit_price: Option<i64>,
    total_amount: Option<i64>,
}

impl OrderLine {
    /// Starts building a line with its name (1 to 255 characters).
    #[inline]
    pub fn builder(name: impl Into<String>) -> OrderLineBuilder {
        OrderLineBuilder {
            line: Self::empty(name.into()),
            quantity: None,
            unit_price: None,
            total_amount: None,
        }
    }
}

impl OrderLineBuilder {
    /// Number of items (required, at least 0).
    #[inline]
    pub fn quantity(mut self, quantity: i64) -> Self {
        self.quantity = Some(quantity);
        self
    }
    /// Price of one item in minor units, tax included (required). It may be
    /// negative on any line type, as on a discount given as a `physical`
    /// line; the order total must still be at least 1.
    #[inline]
    pub fn unit_price(mut self, unit_price: i64) -> Self {
        self.unit_price = Some(unit_price);
        self
    }
    /// Tax rate in basis points, 0 to 10000 (1900 is 19 %).
    #[inline]
    pub fn tax_rate(mut self, tax_rate: i64) -> Self {
        self.line.tax_rate = Some(tax_rate);
        self
    }
    /// Discount on the line in minor units (at least 0).
    #[inline]
    pub fn total_discount_amount(mut self, amount: i64) -> Self {
        self.line.total_discount_amount = Some(amount);
        self
    }
    /// Sets the line total instead of computing it.
    #[inline]
    pub fn total_amount(mut self, amount: i64) -> Self {
        self.total_amount = Some(amount);
        self
    }
    /// Sets the line tax instead of computing it.
    #[inline]
    pub fn total_tax_amount(mut self, amount: i64) -> Self {
        self.line.total_tax_amount = Some(amount);
        self
    }
    /// The line's type (none means a physical good).
    #[inline]
    pub fn line_type(mut self, line_type: OrderLineType) -> Self {
        self.line.line_type = Some(line_type);
        self
    }
    /// The unit of the quantity, such as `pcs` (1 to 8 characters).
    #[inline]
    pub fn quantity_unit(mut self, unit: impl Into<String>) -> Self {
        self.line.quantity_unit = Some(unit.into());
        self
    }
    /// The merchant's article number (at most 256 characters).
    #[inline]
    pub fn reference(mut self, reference: impl Into<String>) -> Self {
        self.line.reference = Some(reference.into());
        self
    }
    /// Pass-through data for the line (at most 255 characters).
    #[inline]
    pub fn merchant_data(mut self, data: impl Into<String>) -> Self {
        self.line.merchant_data = Some(data.into());
        self
    }
    /// URL of a product image (at most 1024 characters).
    #[inline]
    pub fn image_url(mut self, url: impl Into<String>) -> Self {
        self.line.image_url = Some(url.into());
        self
    }
    /// URL of the product page (at most 1024 characters).
    #[inline]
    pub fn product_url(mut self, url: impl Into<String>) -> Self {
        self.line.product_url = Some(url.into());
        self
    }
    /// Product identifiers.
    #[inline]
    pub fn product_identifiers(mut self, identifiers: ProductIdentifiers) -> Self {
        self.line.product_identifiers = Some(Box::new(identifiers));
        self
    }
    /// The subscription this line renews; Klarna asks for it on
    /// subscription lines.
    #[inline]
    pub fn subscription(mut self, subscription: Subscription) -> Self {
        self.line.subscription = Some(Box::new(subscription));
        self
    }
    /// Adds a field the typed API does not have. It is sent as given, after
    /// the typed fields. A name the typed API already has is refused by
    /// [`build`](Self::build): set that field through its own method.
    #[inline]
    pub fn extra(mut self, name: impl Into<String>, value: serde_json::Value) -> Self {
        self.line.extra.push_value(name.into(), value);
        self
    }

    /// Fills in the totals and validates the line on its own. Paths in the
    /// errors are relative to the line, such as `total_tax_amount`.
    ///
    /// # Errors
    /// [`Error::Validation`] listing every violation.
    #[inline]
    pub fn build(self) -> Result<OrderLine, Error> {
        let (Some(quantity), Some(unit_price)) = (self.quantity, self.unit_price) else {
            let mut missing = ValidationErrors::default();
            if self.quantity.is_none() {
                missing.push("quantity", "is required");
            }
            if self.unit_price.is_none() {
                missing.push("unit_price", "is required");
            }
            return Err(missing.into());
        };
        let mut line = self.line;
        line.quantity = quantity;
        line.unit_price = unit_price;
        line.total_amount = self.total_amount.unwrap_or_else(|| {
            amounts::line_total(
                quantity,
                unit_price,
                line.total_discount_amount.unwrap_or(0),
            )
        });
        if line.total_tax_amount.is_none()
            && let Some(rate) = line.tax_rate
        {
            line.total_tax_amount = Some(amounts::line_tax(line.total_amount, rate));
        }
        super::validate::check_line_alone(&line)?;
        line.checked.0 = true;
        Ok(line)
    }
}
