//! Orders: the request that charges a customer token, its parts and builders,
//! and the order Klarna creates.
//!
//! The types live in this module and its children ([`line`], [`parts`]);
//! the rules that read their fields are child modules too, so that no field
//! is visible outside `order`:
//!
//! - `amounts`: Klarna's arithmetic (line totals, line tax, order totals),
//!   used by the builders and by the validation;
//! - `validate`: every rule an order must pass; `size` measures the JSON
//!   for the 1 MB body limit;
//! - `fields`: the one table of each object's fields: wire name, kind and
//!   text rule (the length limit from [`limits`]); the JSON decoder
//!   (`json`) and the validation both read it;
//! - `builder`: the builders; `created`: the order Klarna returns.

use std::fmt;
use std::sync::{Arc, OnceLock};

use serde::Serialize;

mod amounts;
mod builder;
mod created;
mod extra;
mod fields;
mod json;
pub mod limits;
mod line;
mod parts;
mod size;
mod validate;

pub use builder::{OrderLineBuilder, OrderRequestBuilder};
pub use created::CreatedOrder;
pub(crate) use created::OrderBody;
use extra::Extra;
pub use line::OrderLine;
pub use parts::{Address, Attachment, MerchantUrls, ProductIdentifiers, Subscription};

use crate::error::Error;
use crate::violation::ValidationErrors;

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
    attachment: Option<Attachment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    auto_capture: Option<bool>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_DATA.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merchant_data: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merchant_reference1: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_REFERENCE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merchant_reference2: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    merchant_urls: Option<MerchantUrls>,
    #[cfg_attr(feature = "schemars", schemars(range(min = limits::MIN_ORDER_AMOUNT)))]
    order_amount: i64,
    #[cfg_attr(feature = "schemars", schemars(length(min = limits::MIN_ORDER_LINES, max = limits::MAX_ORDER_LINES)))]
    order_lines: Vec<OrderLine>,
    #[cfg_attr(feature = "schemars", schemars(range(min = 0)))]
    order_tax_amount: i64,
    #[cfg_attr(feature = "schemars", schemars(pattern(limits::CURRENCY_PATTERN)))]
    purchase_currency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    shipping_address: Option<Address>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    extra: Extra,
    /// Whether the order may be sent, and its JSON: worked out by the first
    /// call that sends it, then shared by every call and clone.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(skip)]
    prepared: Prepared,
}

impl OrderRequest {
    /// Starts building an order.
    pub fn builder() -> OrderRequestBuilder {
        OrderRequestBuilder::default()
    }

    /// An order with nothing in it: what a builder starts from. The one
    /// place that lists every field.
    pub(super) fn empty() -> Self {
        Self {
            attachment: None,
            auto_capture: None,
            merchant_data: None,
            merchant_reference1: None,
            merchant_reference2: None,
            merchant_urls: None,
            order_amount: 0,
            order_lines: Vec::new(),
            order_tax_amount: 0,
            purchase_currency: String::new(),
            shipping_address: None,
            extra: Extra::default(),
            prepared: Prepared::default(),
        }
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
        Self::decode(json, false).map_err(Error::from)
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
        Self::decode(json, true).map_err(Error::from)
    }

    /// Reads an order (`json`), then, when it could be read only in part,
    /// checks the rules on what was read (`validate`): every problem, each
    /// with its path.
    fn decode(json: &[u8], strict: bool) -> Result<Self, ValidationErrors> {
        json::decode_order(json, strict).map_err(|refused| match refused {
            json::Refused::Problems(problems) => problems,
            json::Refused::Partly(order, decoded) => validate::check_decoded(&order, decoded),
        })
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
    fn visit_extras(&self, f: &mut dyn FnMut(&str, &Extra)) {
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
        self.serialized().unwrap_or_default()
    }

    fn serialized(&self) -> Result<Vec<u8>, serde_json::Error> {
        serde_json::to_vec(self)
    }

    /// Checks every schema constraint and Klarna's arithmetic, and reports
    /// every violation at once, each with its JSON path.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing every violation.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        validate::check_order(self, size::json_len(self))
    }

    /// The order as a create-order call sends it: serialized, then
    /// validated, its size limit checked on the bytes that are sent. An
    /// order does not change once built or decoded (it has no setters), so
    /// this is worked out once per order, by the first call that sends it,
    /// and shared with every later call and every clone: a billing run that
    /// sends one order to many tokens validates and serializes it once.
    pub(crate) fn prepared(&self) -> Result<Arc<OrderJson>, ValidationErrors> {
        self.prepared
            .0
            .get_or_init(|| {
                // Serializing these types cannot fail (every map key is a
                // string); were it to, nothing is sent.
                let json = OrderJson::new(self).map_err(|e| {
                    ValidationErrors::single("", format!("the order could not be serialized: {e}"))
                })?;
                validate::check_order(self, json.len())?;
                Ok(Arc::new(json))
            })
            .clone()
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

fn join_path(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_owned()
    } else {
        format!("{prefix}.{name}")
    }
}

/// The paths of the order's unknown fields when they would be logged (see
/// [`log_unknown_fields`]); none otherwise, nothing allocated.
pub(crate) fn unknown_fields_to_log(order: &OrderRequest) -> Vec<String> {
    if tracing::enabled!(tracing::Level::DEBUG) {
        order.unknown_fields()
    } else {
        Vec::new()
    }
}

/// Logs, at debug level, the paths of the fields the typed API does not
/// know, as an order with them is sent. Names only: values may be personal
/// data.
pub(crate) fn log_unknown_fields(fields: &[String]) {
    if !fields.is_empty() {
        tracing::debug!(
            unknown_fields = ?fields,
            "sending fields the typed API does not know, as given"
        );
    }
}

/// What [`OrderRequest::prepared`] works out, once per order. It follows
/// from the order's other fields, so it never makes two orders unequal.
#[derive(Clone, Default)]
struct Prepared(OnceLock<Result<Arc<OrderJson>, ValidationErrors>>);

impl PartialEq for Prepared {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// An order serialized once (see [`OrderRequest::prepared`]): every attempt
/// of every call that sends the order sends these bytes, and a call keeps
/// them rather than a copy of the order. The generated code sends a request
/// body as progenitor writes it, with reqwest's `.json(&body)`: that writes
/// the JSON held here as it is, without serializing the order again.
pub(crate) struct OrderJson(Box<serde_json::value::RawValue>);

impl OrderJson {
    pub(crate) fn new(order: &OrderRequest) -> Result<Self, serde_json::Error> {
        // The JSON is taken as written, not parsed again to check it.
        serde_json::value::to_raw_value(order).map(Self)
    }

    /// The length of the JSON, in bytes.
    pub(crate) fn len(&self) -> usize {
        self.0.get().len()
    }

    /// The JSON's bytes.
    #[cfg(test)]
    fn get(&self) -> &[u8] {
        self.0.get().as_bytes()
    }
}

/// Writes the JSON as it is (serde_json writes a `RawValue` verbatim).
impl Serialize for OrderJson {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

/// The JSON holds personal data: only its size is shown.
impl fmt::Debug for OrderJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OrderJson({} bytes)", self.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(price: i64) -> OrderRequest {
        OrderRequest::builder()
            .purchase_currency("GBP")
            .line(
                OrderLine::builder("Plan")
                    .quantity(1)
                    .unit_price(price)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap()
    }

    #[test]
    fn an_order_is_prepared_once_and_shared_with_its_clones() {
        let order = plan(2500);
        let first = order.prepared().unwrap();
        assert_eq!(first.get(), order.to_json().as_slice());
        assert!(Arc::ptr_eq(&first, &order.prepared().unwrap()));
        let clone = order.clone();
        assert!(Arc::ptr_eq(&first, &clone.prepared().unwrap()));
        // A prepared order equals the same order not yet prepared, and an
        // order with other fields is prepared on its own.
        assert_eq!(order, plan(2500));
        let other = plan(2600);
        assert_ne!(order, other);
        assert_eq!(other.prepared().unwrap().get(), other.to_json().as_slice());
    }

    #[test]
    fn a_decoded_order_that_breaks_a_rule_is_refused_at_every_call() {
        let order = OrderRequest::from_json(
            br#"{"purchase_currency": "GBP", "order_amount": 1000, "order_tax_amount": 0,
                "order_lines": [{"name": "Plan", "quantity": 1, "unit_price": 1000,
                "total_amount": 900}]}"#,
        )
        .unwrap();
        for _ in 0..2 {
            let refused = order.prepared().unwrap_err();
            assert!(
                refused.at("order_lines[0].total_amount").is_some(),
                "{refused}"
            );
        }
        assert_eq!(order.prepared().unwrap_err(), order.validate().unwrap_err());
    }

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
                    .with_given_name("Adam")
                    .with_family_name("Andersson")
                    .with_email("adam@example.com")
                    .with_phone("+44795465131")
                    .with_street_address("33 Cavendish Square")
                    .with_postal_code("W1G 0PW")
                    .with_city("London")
                    .with_country("GB"),
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
