//! The limits an order must respect, in one place.
//!
//! Most come from Klarna's API description; the others (marked) come from
//! Klarna's documentation. The validation rules read them from here, and the
//! crate's tests check them against the vendored API description.

/// An inclusive range of string lengths, counted in Unicode scalar values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Length {
    /// The fewest characters allowed.
    pub min: usize,
    /// The most characters allowed.
    pub max: usize,
}

const fn upto(max: usize) -> Length {
    Length { min: 0, max }
}

/// `order_amount` must be at least this.
pub const MIN_ORDER_AMOUNT: i64 = 1;
/// An order holds at least this many lines.
pub const MIN_ORDER_LINES: usize = 1;
/// An order holds at most this many lines.
pub const MAX_ORDER_LINES: usize = 1000;
/// `unit_price` and `total_amount` of a line are at most this many minor
/// units. The description sets no minimum: amounts may be negative on any
/// line type.
pub const MAX_LINE_AMOUNT: i64 = 100_000_000;
/// `tax_rate` is 0 to this many basis points (from Klarna's documentation).
pub const MAX_TAX_RATE: i64 = 10_000;
/// A subscription's `interval_count` is at least this.
pub const MIN_INTERVAL_COUNT: i64 = 1;
/// A request body (the order's JSON, unknown fields included) is at most
/// this many bytes (from Klarna's request limits: "the default maximum
/// request body size in our API is 1MB", past which Klarna answers 413).
///
/// Klarna does not say whether 1 MB is 1,000,000 or 1,048,576 bytes; the
/// crate refuses only what both readings refuse, so the limit is
/// 1,048,576. A body between the two may still get Klarna's 413.
pub const MAX_BODY_BYTES: usize = 1_048_576;

/// The pattern of `purchase_currency` (ISO 4217), as Klarna writes it.
pub const CURRENCY_PATTERN: &str = "^[A-Za-z]{3,3}$";
/// The pattern of an address's `country` (ISO 3166 alpha-2), as Klarna
/// writes it.
pub const COUNTRY_PATTERN: &str = "^[A-Za-z]{2,2}$";

/// `merchant_data` of the order.
pub const MERCHANT_DATA: Length = upto(6000);
/// `merchant_reference1` and `merchant_reference2`.
pub const MERCHANT_REFERENCE: Length = upto(255);
/// `merchant_urls.confirmation`, `merchant_urls.push` and (from Klarna's
/// documentation) `merchant_urls.notification`.
pub const MERCHANT_URL: Length = upto(2000);
/// A line's `name`.
pub const LINE_NAME: Length = Length { min: 1, max: 255 };
/// A line's `reference`.
pub const LINE_REFERENCE: Length = upto(256);
/// A line's `merchant_data`.
pub const LINE_MERCHANT_DATA: Length = upto(255);
/// A line's `image_url` and `product_url`.
pub const URL: Length = upto(1024);
/// A line's `quantity_unit` (from Klarna's documentation).
pub const QUANTITY_UNIT: Length = Length { min: 1, max: 8 };
/// `product_identifiers.brand`.
pub const BRAND: Length = upto(70);
/// `product_identifiers.category_path`.
pub const CATEGORY_PATH: Length = upto(750);
/// `product_identifiers.global_trade_item_number`.
pub const GTIN: Length = upto(50);
/// `product_identifiers.manufacturer_part_number`.
pub const MPN: Length = upto(70);
/// `product_identifiers.color`.
pub const COLOR: Length = upto(64);
/// `product_identifiers.size`.
pub const SIZE: Length = upto(64);
/// Most address fields: attention, city, email, names, organization, region,
/// street addresses.
pub const ADDRESS_FIELD: Length = upto(99);
/// `phone`.
pub const PHONE: Length = Length { min: 5, max: 99 };
/// `postal_code`.
pub const POSTAL_CODE: Length = upto(10);
/// `title`.
pub const TITLE: Length = upto(20);
