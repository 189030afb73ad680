//! The one table of each object's fields: wire name, kind (required,
//! optional, nested object, the lines) and, for a text field, its rule
//! (a length limit from [`limits`](super::limits), a pattern, or none).
//!
//! From it come the objects' JSON decoders (with the pass machinery of
//! [`json`](super::json)), the list of the names the typed API knows, and
//! [`Texts::each_text`], through which the validation checks
//! every length, the body-size bound counts every text, and `Debug` shows
//! them. Adding a text field to an object is one row here.

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::extra::Extra;
use super::json::{Ctx, Key, Seed, keep_unknown, take_lines, take_object};
use super::limits::{
    ADDRESS_FIELD, BRAND, CATEGORY_PATH, COLOR, GTIN, LINE_MERCHANT_DATA, LINE_NAME,
    LINE_REFERENCE, Length, MERCHANT_DATA, MERCHANT_REFERENCE, MERCHANT_URL, MPN, PHONE,
    POSTAL_CODE, QUANTITY_UNIT, SIZE, TITLE, URL,
};
use super::{
    Address, Attachment, MerchantUrls, OrderLine, OrderRequest, ProductIdentifiers, Subscription,
};
use crate::enums::{OrderLineType, SubscriptionInterval};

/// The rule of a text field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Text {
    /// At least `min` and at most `max` characters.
    Length(Length),
    /// An ISO 4217 currency code: three ASCII letters.
    Currency,
    /// An ISO 3166 alpha-2 country code: two ASCII letters. Personal data:
    /// never echoed.
    Country,
    /// No limit is documented.
    Free,
}

use Text::{Country, Currency, Free};

const fn len(length: Length) -> Text {
    Text::Length(length)
}

/// The text fields of an object of the API, from its row of the table.
pub(super) trait Texts {
    /// Calls `f` with every text field, in the table's order: its wire
    /// name, its value (none when absent) and its rule.
    fn each_text(&self, f: &mut impl FnMut(&'static str, Option<&str>, Text));
}

/// A text field's value, required or optional.
pub(super) trait AsText {
    /// The value; none when absent.
    fn as_text(&self) -> Option<&str>;
}

impl AsText for String {
    fn as_text(&self) -> Option<&str> {
        Some(self)
    }
}

impl AsText for Option<String> {
    fn as_text(&self) -> Option<&str> {
        self.as_deref()
    }
}

/// The kinds of field a decoder knows: required, optional, a nested object
/// (`boxed`: kept in a `Box`, so that a line stays small), the lines.
macro_rules! slot_type {
    (req $t:ty) => { Option<$t> };
    (opt $t:ty) => { Option<Option<$t>> };
    (object $t:ty) => { Option<Option<$t>> };
    (boxed $t:ty) => { Option<Option<$t>> };
    (lines $t:ty) => { Option<$t> };
}

macro_rules! take_field {
    (req $t:ty, $ctx:ident, $map:ident, $wire:literal, $slot:ident) => {
        $ctx.take::<_, $t>(&mut $map, $wire, &mut $slot)?
    };
    (opt $t:ty, $ctx:ident, $map:ident, $wire:literal, $slot:ident) => {
        $ctx.take::<_, Option<$t>>(&mut $map, $wire, &mut $slot)?
    };
    (object $t:ty, $ctx:ident, $map:ident, $wire:literal, $slot:ident) => {
        take_object::<_, $t>($ctx, &mut $map, $wire, &mut $slot)?
    };
    (boxed $t:ty, $ctx:ident, $map:ident, $wire:literal, $slot:ident) => {
        take_object::<_, $t>($ctx, &mut $map, $wire, &mut $slot)?
    };
    (lines $t:ty, $ctx:ident, $map:ident, $wire:literal, $slot:ident) => {
        take_lines($ctx, &mut $map, &mut $slot)?
    };
}

macro_rules! finish_field {
    (req, $ctx:ident, $wire:literal, $slot:ident) => {
        match $slot {
            Some(value) => value,
            None => match $ctx.missing($wire) {
                Ok(placeholder) => placeholder,
                Err(e) => return Err(e),
            },
        }
    };
    (lines, $ctx:ident, $wire:literal, $slot:ident) => {
        finish_field!(req, $ctx, $wire, $slot)
    };
    (opt, $ctx:ident, $wire:literal, $slot:ident) => {
        $slot.flatten()
    };
    (object, $ctx:ident, $wire:literal, $slot:ident) => {
        $slot.flatten()
    };
    (boxed, $ctx:ident, $wire:literal, $slot:ident) => {
        $slot.flatten().map(Box::new)
    };
}

/// Generates the decoder of an object of the API, and the list of its
/// field names (`FIELDS`), from one table.
macro_rules! decoder {
    (
        $ty:ident {
            $( $field:ident = $wire:literal : $kind:ident $t:ty $([$rule:expr])?, )+
        }
        $( fixed { $( $fixed:ident : $value:expr ),* } )?
    ) => {
        impl $ty {
            /// The field names the typed API knows, as on the wire.
            pub(super) const FIELDS: &'static [&'static str] = &[$($wire),+];

        }

        impl Texts for $ty {
            fn each_text(&self, f: &mut impl FnMut(&'static str, Option<&str>, Text)) {
                $( $( f($wire, AsText::as_text(&self.$field), $rule); )? )+
            }
        }

        impl<'de> DeserializeSeed<'de> for Seed<'_, $ty> {
            type Value = $ty;
            fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<$ty, D::Error> {
                struct ObjectVisitor<'a>(&'a mut Ctx);
                impl<'de> Visitor<'de> for ObjectVisitor<'_> {
                    type Value = $ty;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str("a JSON object")
                    }
                    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<$ty, A::Error> {
                        let ctx = self.0;
                        $( let mut $field: slot_type!($kind $t) = None; )+
                        let mut extra = Extra::default();
                        while let Some(key) = map.next_key::<Key<'de>>()? {
                            match &*key.0 {
                                $( $wire => take_field!($kind $t, ctx, map, $wire, $field), )+
                                _ => keep_unknown(&mut map, key, &mut extra)?,
                            }
                        }
                        Ok($ty {
                            $( $field: finish_field!($kind, ctx, $wire, $field), )+
                            $( $( $fixed: $value, )* )?
                            extra,
                        })
                    }
                }
                deserializer.deserialize_map(ObjectVisitor(self.ctx))
            }
        }

        /// Reads the API's JSON; fields the typed API does not know are
        /// kept. [`OrderRequest::from_json`] reports problems better.
        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Seed::<$ty>::new(&mut Ctx::fast()).deserialize(deserializer)
            }
        }
    };
}

decoder!(OrderRequest {
    purchase_currency = "purchase_currency": req String [Currency],
    merchant_data = "merchant_data": opt String [len(MERCHANT_DATA)],
    merchant_reference1 = "merchant_reference1": opt String [len(MERCHANT_REFERENCE)],
    merchant_reference2 = "merchant_reference2": opt String [len(MERCHANT_REFERENCE)],
    attachment = "attachment": object Attachment,
    auto_capture = "auto_capture": opt bool,
    merchant_urls = "merchant_urls": object MerchantUrls,
    order_amount = "order_amount": req i64,
    order_lines = "order_lines": lines Vec<OrderLine>,
    order_tax_amount = "order_tax_amount": req i64,
    shipping_address = "shipping_address": object Address,
} fixed { prepared: Default::default() });

decoder!(OrderLine {
    line_type = "type": opt OrderLineType,
    name = "name": req String [len(LINE_NAME)],
    reference = "reference": opt String [len(LINE_REFERENCE)],
    merchant_data = "merchant_data": opt String [len(LINE_MERCHANT_DATA)],
    image_url = "image_url": opt String [len(URL)],
    product_url = "product_url": opt String [len(URL)],
    quantity_unit = "quantity_unit": opt String [len(QUANTITY_UNIT)],
    product_identifiers = "product_identifiers": boxed ProductIdentifiers,
    quantity = "quantity": req i64,
    tax_rate = "tax_rate": opt i64,
    total_amount = "total_amount": req i64,
    total_discount_amount = "total_discount_amount": opt i64,
    total_tax_amount = "total_tax_amount": opt i64,
    unit_price = "unit_price": req i64,
    subscription = "subscription": boxed Subscription,
} fixed { checked: Default::default() });

decoder!(ProductIdentifiers {
    brand = "brand": opt String [len(BRAND)],
    category_path = "category_path": opt String [len(CATEGORY_PATH)],
    global_trade_item_number = "global_trade_item_number": opt String [len(GTIN)],
    manufacturer_part_number = "manufacturer_part_number": opt String [len(MPN)],
    color = "color": opt String [len(COLOR)],
    size = "size": opt String [len(SIZE)],
});

decoder!(Subscription {
    name = "name": req String [Free],
    interval = "interval": req SubscriptionInterval,
    interval_count = "interval_count": req i64,
});

// The last four fields are not in the API description: Klarna documents
// them on its order addresses and documents no length limit.
decoder!(Address {
    attention = "attention": opt String [len(ADDRESS_FIELD)],
    city = "city": opt String [len(ADDRESS_FIELD)],
    country = "country": opt String [Country],
    email = "email": opt String [len(ADDRESS_FIELD)],
    family_name = "family_name": opt String [len(ADDRESS_FIELD)],
    given_name = "given_name": opt String [len(ADDRESS_FIELD)],
    organization_name = "organization_name": opt String [len(ADDRESS_FIELD)],
    phone = "phone": opt String [len(PHONE)],
    postal_code = "postal_code": opt String [len(POSTAL_CODE)],
    region = "region": opt String [len(ADDRESS_FIELD)],
    street_address = "street_address": opt String [len(ADDRESS_FIELD)],
    street_address2 = "street_address2": opt String [len(ADDRESS_FIELD)],
    title = "title": opt String [len(TITLE)],
    street_name = "street_name": opt String [Free],
    street_number = "street_number": opt String [Free],
    house_extension = "house_extension": opt String [Free],
    care_of = "care_of": opt String [Free],
});

decoder!(Attachment {
    body = "body": req String [Free],
    content_type = "content_type": req String [Free],
});

// `notification` is not in the API description: Klarna documents it, at
// most 2000 characters like its siblings.
decoder!(MerchantUrls {
    confirmation = "confirmation": req String [len(MERCHANT_URL)],
    push = "push": opt String [len(MERCHANT_URL)],
    notification = "notification": opt String [len(MERCHANT_URL)],
});
