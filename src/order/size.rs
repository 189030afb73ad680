//! Klarna's 1 MB request-body limit, checked on the JSON that is sent: the
//! length of the bytes a call sends (see `OrderRequest::prepared`), or,
//! for an order only validated, of the JSON it would send, counted as it is
//! written (nothing is kept).

use super::OrderRequest;

/// The length of the order's JSON, exactly as `OrderRequest::to_json` writes
/// it.
pub(super) fn json_len(order: &OrderRequest) -> usize {
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
    // Serializing these types cannot fail (every map key is a string), and
    // the counter refuses nothing; were it to fail, what was counted stands.
    let _ = serde_json::to_writer(&mut counter, order);
    counter.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::order::OrderLine;

    #[test]
    fn the_length_is_that_of_the_json_sent() {
        let order = OrderRequest::builder()
            .purchase_currency("GBP")
            .line(
                OrderLine::builder("Plan \"☃\"\n")
                    .quantity(2)
                    .unit_price(1250)
                    .build()
                    .unwrap(),
            )
            .build()
            .unwrap();
        assert_eq!(json_len(&order), order.to_json().len());
        assert_eq!(json_len(&order), order.prepared().unwrap().len());
    }

    /// An order padded to `pad` bytes of one field the typed API does not
    /// know.
    fn padded(pad: usize) -> Result<OrderRequest, crate::Error> {
        OrderRequest::builder()
            .purchase_currency("GBP")
            .line(
                OrderLine::builder("Plan")
                    .quantity(1)
                    .unit_price(1000)
                    .build()?,
            )
            .extra("pad", serde_json::json!("x".repeat(pad)))
            .build()
    }

    #[test]
    fn the_limit_is_checked_on_the_exact_length_sent() {
        let base = json_len(&padded(0).unwrap());
        let limit = crate::order::limits::MAX_BODY_BYTES;
        let at_limit = padded(limit - base).unwrap();
        assert_eq!(at_limit.prepared().unwrap().len(), limit);
        assert!(at_limit.validate().is_ok());

        let over = padded(limit - base + 1).expect_err("one byte over");
        let shown = over.to_string();
        assert!(
            shown.contains(&format!("would be {} bytes", limit + 1)),
            "{shown}"
        );
    }
}
