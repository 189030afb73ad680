//! One line of an order.

use std::fmt;

use serde::Serialize;

use super::extra::Extra;
use super::fields::Texts as _;
#[cfg(feature = "schemars")]
use super::limits;
use super::{ProductIdentifiers, Subscription};
use crate::enums::OrderLineType;

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
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) image_url: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::LINE_MERCHANT_DATA.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) merchant_data: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(min = limits::LINE_NAME.min, max = limits::LINE_NAME.max)))]
    pub(super) name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) product_identifiers: Option<Box<ProductIdentifiers>>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) product_url: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    pub(super) quantity: i64,
    #[cfg_attr(feature = "schemars", schemars(length(min = limits::QUANTITY_UNIT.min, max = limits::QUANTITY_UNIT.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quantity_unit: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::LINE_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reference: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0, max = limits::MAX_TAX_RATE)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) tax_rate: Option<i64>,
    #[cfg_attr(feature = "schemars", schemars(range(max = limits::MAX_LINE_AMOUNT)))]
    pub(super) total_amount: i64,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) total_discount_amount: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) total_tax_amount: Option<i64>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub(super) line_type: Option<OrderLineType>,
    #[cfg_attr(feature = "schemars", schemars(range(max = limits::MAX_LINE_AMOUNT)))]
    pub(super) unit_price: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) subscription: Option<Box<Subscription>>,
    /// Set by the builder once the line passed its own checks; lines are
    /// immutable, so the order's validation need not check it again.
    #[serde(skip)]
    pub(super) checked: Checked,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
}

/// Whether a line already passed its own checks. Not part of the line's
/// value: two lines that differ only here are equal.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Checked(pub(super) bool);

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
        // The other text fields, from the field table.
        self.each_text(&mut |name, value, _| {
            if let (Some(value), false) = (value, name == "name") {
                s.field(name, &value);
            }
        });
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

// `OrderLine::builder` is in `builder.rs`, beside the builder it starts.
impl OrderLine {
    /// A line with its name and nothing else: what a builder starts from,
    /// and what stands in for a line that is not an object in the JSON
    /// decoder's thorough pass. The one place that lists every field.
    #[inline]
    pub(super) fn empty(name: String) -> Self {
        OrderLine {
            image_url: None,
            merchant_data: None,
            name,
            product_identifiers: None,
            product_url: None,
            quantity: 0,
            quantity_unit: None,
            reference: None,
            tax_rate: None,
            total_amount: 0,
            total_discount_amount: None,
            total_tax_amount: None,
            line_type: None,
            unit_price: 0,
            subscription: None,
            checked: Checked(false),
            extra: Extra::default(),
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
        self.product_identifiers.as_deref()
    }
    /// The subscription this line renews.
    pub fn subscription(&self) -> Option<&Subscription> {
        self.subscription.as_deref()
    }
}
