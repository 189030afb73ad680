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

/// A key of at most 28 bytes with its quotes, colon and comma.
const FIELD: usize = 32;
/// A number field: the key and at most 20 bytes.
const NUMBER: usize = FIELD + 20;

/// A text field at its longest: a string escaped at 6 bytes a byte.
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

/// A nested object's key and braces.
const OBJECT: usize = FIELD + 2;

/// Every text field of an object, from the field table.
fn texts(object: &impl Texts) -> usize {
    let mut size = 0;
    object.each_text(&mut |_, value, _| size += text(value));
    size
}

/// An upper bound of the order's JSON size: every present field at its
/// longest.
fn size_bound(order: &OrderRequest) -> usize {
    let mut size = 2 + 3 * NUMBER + number(&order.auto_capture) + texts(order);
    size += extra(&order.extra);
    if let Some(a) = &order.attachment {
        size += OBJECT + texts(a) + extra(&a.extra);
    }
    if let Some(u) = &order.merchant_urls {
        size += OBJECT + texts(u) + extra(&u.extra);
    }
    if let Some(a) = &order.shipping_address {
        size += OBJECT + texts(a) + extra(&a.extra);
    }
    size += OBJECT;
    size + order.order_lines.iter().map(line_bound).sum::<usize>()
}

fn line_bound(line: &OrderLine) -> usize {
    let mut size = 3
        + 3 * NUMBER
        + texts(line)
        + text(line.line_type.as_ref().map(OrderLineType::as_str))
        + number(&line.tax_rate)
        + number(&line.total_discount_amount)
        + number(&line.total_tax_amount)
        + extra(&line.extra);
    if let Some(ids) = &line.product_identifiers {
        size += OBJECT + texts(ids) + extra(&ids.extra);
    }
    if let Some(s) = &line.subscription {
        size += OBJECT + texts(s) + text(Some(s.interval.as_str())) + NUMBER + extra(&s.extra);
    }
    size
}
