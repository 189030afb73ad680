//! The parts of an order: product identifiers, subscription, address,
//! attachment and merchant URLs. Their fields are read by the order's rules
//! (`super::validate`, `super::fields`) and by nothing outside `order`.

use std::fmt;

use serde::Serialize;

use super::extra::Extra;
use super::fields::Texts as _;
#[cfg(feature = "schemars")]
use super::limits;
use crate::enums::SubscriptionInterval;

/// Product identifiers of an order line (all optional).
///
/// ```
/// use klarna_customer_token::ProductIdentifiers;
/// let ids = ProductIdentifiers::new().with_brand("shoe-brand").with_category_path("Shoes > Running");
/// assert_eq!(ids.brand(), Some("shoe-brand"));
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "product_identifiers")
)]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[must_use]
pub struct ProductIdentifiers {
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::BRAND.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) brand: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::CATEGORY_PATH.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) category_path: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::GTIN.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) global_trade_item_number: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MPN.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) manufacturer_part_number: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::COLOR.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) color: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::SIZE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) size: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
}

/// A getter (`brand()`) and a setter (`with_brand(..)`) for each optional
/// text field.
macro_rules! setters {
    ($ty:ident { $( $(#[$doc:meta])* $field:ident / $setter:ident, )+ }) => {
        impl $ty {
            $(
                $(#[$doc])*
                pub fn $setter(mut self, value: impl Into<String>) -> Self {
                    self.$field = Some(value.into());
                    self
                }
                $(#[$doc])*
                pub fn $field(&self) -> Option<&str> {
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
    brand / with_brand,
    /// Category path, segments joined by " > " (at most 750 characters).
    category_path / with_category_path,
    /// GTIN, EAN or UPC (at most 50 characters).
    global_trade_item_number / with_global_trade_item_number,
    /// Manufacturer part number (at most 70 characters).
    manufacturer_part_number / with_manufacturer_part_number,
    /// Color (at most 64 characters).
    color / with_color,
    /// Size (at most 64 characters).
    size / with_size,
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
    pub(super) name: String,
    pub(super) interval: SubscriptionInterval,
    #[cfg_attr(feature = "schemars", schemars(range(min = limits::MIN_INTERVAL_COUNT)))]
    pub(super) interval_count: i64,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
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
/// let address = Address::new().with_given_name("Adam").with_family_name("Andersson").with_country("GB");
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
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) attention: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) city: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(pattern(limits::COUNTRY_PATTERN)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) country: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) email: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) family_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) given_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) organization_name: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(min = limits::PHONE.min, max = limits::PHONE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) phone: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::POSTAL_CODE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) postal_code: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) region: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) street_address: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::ADDRESS_FIELD.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) street_address2: Option<String>,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::TITLE.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) title: Option<String>,
    // The four fields below are not in the API description: Klarna
    // documents them on its order addresses (Klarna Checkout's address) and
    // shops send them to this endpoint. Klarna documents no length limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) street_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) street_number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) house_extension: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) care_of: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
}

impl Address {
    /// An empty address.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Address");
        self.each_text(&mut |name, value, _| {
            if value.is_some() {
                s.field(name, &format_args!("<redacted>"));
            }
        });
        for name in self.extra.names() {
            s.field(name, &format_args!("<redacted>"));
        }
        s.finish()
    }
}

setters!(Address {
    /// Attention line (at most 99 characters).
    attention / with_attention,
    /// City (at most 99 characters).
    city / with_city,
    /// ISO 3166 alpha-2 country code, two letters.
    country / with_country,
    /// Email address (at most 99 characters).
    email / with_email,
    /// Family name (at most 99 characters).
    family_name / with_family_name,
    /// Given name (at most 99 characters).
    given_name / with_given_name,
    /// Organization name (at most 99 characters).
    organization_name / with_organization_name,
    /// Phone number (5 to 99 characters).
    phone / with_phone,
    /// Postal code (at most 10 characters).
    postal_code / with_postal_code,
    /// Region or state (at most 99 characters).
    region / with_region,
    /// Street address (at most 99 characters).
    street_address / with_street_address,
    /// Second street address line (at most 99 characters).
    street_address2 / with_street_address2,
    /// Title, such as "Mr." (at most 20 characters).
    title / with_title,
    /// Street name without the number, where the address is given in parts
    /// (Klarna documents it for DE, AT and NL; no length limit is documented).
    street_name / with_street_name,
    /// Street number, where the address is given in parts (Klarna documents
    /// it for DE, AT and NL; no length limit is documented).
    street_number / with_street_number,
    /// House extension, such as "B" (Klarna documents it for NL; no length
    /// limit is documented).
    house_extension / with_house_extension,
    /// "Care of" line (no length limit is documented).
    care_of / with_care_of,
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
    pub(super) body: String,
    pub(super) content_type: String,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
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
/// let urls = MerchantUrls::new("https://shop.example/thanks").with_push("https://shop.example/push");
/// assert_eq!(urls.push(), Some("https://shop.example/push"));
/// ```
#[cfg_attr(
    feature = "schemars",
    derive(schemars::JsonSchema),
    schemars(rename = "merchant_urls")
)]
#[derive(Clone, PartialEq, Eq, Serialize)]
#[must_use]
pub struct MerchantUrls {
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_URL.max)))]
    pub(super) confirmation: String,
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) push: Option<String>,
    /// Not in the API description: Klarna documents it on its merchant URLs
    /// ("URL for notifications on pending orders", at most 2000 characters)
    /// and in its own body for creating an order with a customer token.
    #[cfg_attr(feature = "schemars", schemars(length(max = limits::MERCHANT_URL.max)))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) notification: Option<String>,
    /// Fields the typed API does not know, kept and sent as given.
    #[cfg_attr(feature = "schemars", schemars(skip))]
    #[serde(flatten)]
    pub(super) extra: Extra,
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
    /// The confirmation URL.
    pub fn confirmation(&self) -> &str {
        &self.confirmation
    }
}

/// The notification URL shown without its signature
/// ([`NotificationSigner`](crate::notification::NotificationSigner)).
impl fmt::Debug for MerchantUrls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::notification::signer::hide_signatures;
        f.debug_struct("MerchantUrls")
            .field("confirmation", &hide_signatures(&self.confirmation))
            .field("push", &self.push.as_deref().map(hide_signatures))
            .field(
                "notification",
                &self.notification.as_deref().map(hide_signatures),
            )
            .field("extra", &self.extra)
            .finish()
    }
}

setters!(MerchantUrls {
    /// The push notification URL (at most 2000 characters).
    push / with_push,
    /// The URL Klarna notifies when a pending order's fraud review ends (at
    /// most 2000 characters).
    notification / with_notification,
});
