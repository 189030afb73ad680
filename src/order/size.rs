//! Klarna's 1 MB request-body limit: the size of an order's JSON, measured
//! only when a quick upper bound says it may be over.

use super::extra::Extra;
use super::fields::Texts;
use super::limits;
use super::{OrderLine, OrderRequest};
use crate::enums::OrderLineType;

/// The size of the order's JSON when it is over Klarna's limit, else none.
/// A quick upper bound settles almost every order; only an order that may
/// be over is measured, by writing it into a counter (nothing is kept).
pub(super) fn body_size_over_limit(order: &OrderRequest) -> Option<usize> {
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

/// How wide each part of the JSON is taken to be.
#[derive(Clone, Copy)]
struct Widths {
    /// A key with its quotes, colon and comma.
    key: usize,
    /// A number.
    number: usize,
    /// Bytes written for each byte of a string.
    per_byte: usize,
}

/// An upper bound: a key of at most 28 bytes (32 with its quotes, colon and
/// comma), a number of at most 20 bytes, a string escaped at 6 bytes a byte.
const BOUND: Widths = Widths {
    key: 32,
    number: 20,
    per_byte: 6,
};

/// A likely size, for the capacity of the serialized body: the average
/// key, a short number, strings unescaped.
const ESTIMATE: Widths = Widths {
    key: 20,
    number: 6,
    per_byte: 1,
};

/// An upper bound of the order's JSON size: every present field at its
/// longest.
fn size_bound(order: &OrderRequest) -> usize {
    Size(BOUND).order(order)
}

/// A likely size of the order's JSON, to size the buffer it is written to.
pub(super) fn json_len_estimate(order: &OrderRequest) -> usize {
    Size(ESTIMATE).order(order)
}

struct Size(Widths);

impl Size {
    fn text(&self, value: Option<&str>) -> usize {
        value.map_or(0, |v| self.0.key + 2 + self.0.per_byte * v.len())
    }

    fn number<T>(&self, value: &Option<T>) -> usize {
        if value.is_some() {
            self.0.key + self.0.number
        } else {
            0
        }
    }

    /// A nested object's key and braces.
    fn object(&self) -> usize {
        self.0.key + 2
    }

    fn extra(&self, extra: &Extra) -> usize {
        extra
            .entries()
            .iter()
            .map(|(name, value)| 4 + self.0.per_byte * name.len() + value.json_len_bound())
            .sum()
    }

    /// Every text field of an object, from the field table.
    fn texts(&self, object: &impl Texts) -> usize {
        let mut size = 0;
        object.each_text(&mut |_, value, _| size += self.text(value));
        size
    }

    fn order(&self, order: &OrderRequest) -> usize {
        let numbers = 3 * (self.0.key + self.0.number);
        let mut size = 2 + numbers + self.number(&order.auto_capture) + self.texts(order);
        size += self.extra(&order.extra);
        if let Some(a) = &order.attachment {
            size += self.object() + self.texts(a) + self.extra(&a.extra);
        }
        if let Some(u) = &order.merchant_urls {
            size += self.object() + self.texts(u) + self.extra(&u.extra);
        }
        if let Some(a) = &order.shipping_address {
            size += self.object() + self.texts(a) + self.extra(&a.extra);
        }
        size += self.object();
        size + order
            .order_lines
            .iter()
            .map(|line| self.line(line))
            .sum::<usize>()
    }

    fn line(&self, line: &OrderLine) -> usize {
        let mut size = 3
            + 3 * (self.0.key + self.0.number)
            + self.texts(line)
            + self.text(line.line_type.as_ref().map(OrderLineType::as_str))
            + self.number(&line.tax_rate)
            + self.number(&line.total_discount_amount)
            + self.number(&line.total_tax_amount)
            + self.extra(&line.extra);
        if let Some(ids) = &line.product_identifiers {
            size += self.object() + self.texts(&**ids) + self.extra(&ids.extra);
        }
        if let Some(s) = &line.subscription {
            size += self.object()
                + self.texts(&**s)
                + self.text(Some(s.interval.as_str()))
                + self.0.key
                + self.0.number
                + self.extra(&s.extra);
        }
        size
    }
}
