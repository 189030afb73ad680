//! Bad input.

use klarna_customer_token::{
    Address, Attachment, MerchantUrls, OrderLine, OrderRequest, ProductIdentifiers, RetryPolicy,
    Subscription, SubscriptionInterval, TokenStatus,
};
use klarna_customer_token_sandbox::{MAX_BODY_BYTES, tokens};

use crate::support::*;

#[tokio::test]
async fn malformed_json_is_400_bad_request() {
    within(async {
        let sandbox = start().await;
        let valid = order().to_json();
        let truncated = valid[..valid.len() / 2].to_vec();
        for body in [
            b"{not json".to_vec(),
            truncated,
            Vec::new(),
            b"\xff\xfe\x00garbage".to_vec(),
            [valid.as_slice(), b"}"].concat(),
        ] {
            let raw = raw_create(&sandbox, tokens::ACTIVE_INVOICE, Some("malformed"), body).await;
            assert_eq!(raw.status, 400);
            assert_eq!(raw.error_code(), "BAD_REQUEST");
            assert!(raw.json()["correlation_id"].is_string());
            assert!(raw.header("klarna-correlation-id").is_some());
        }
        assert!(sandbox.orders().is_empty());
        // The key was never spent on malformed bodies.
        let raw = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            Some("malformed"),
            order().to_json(),
        )
        .await;
        assert_eq!(raw.status, 200);
    })
    .await;
}

#[tokio::test]
async fn a_content_type_that_is_not_json_is_400() {
    within(async {
        let sandbox = start().await;
        for content_type in [Some("text/plain"), Some("application/xml"), None] {
            let mut request = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .body(order().to_json());
            if let Some(content_type) = content_type {
                request = request.header("content-type", content_type);
            }
            let raw = send(request).await;
            assert_eq!(raw.status, 400, "{content_type:?}");
            assert_eq!(raw.error_code(), "BAD_REQUEST");
        }
        assert!(sandbox.orders().is_empty());

        // Parameters and case do not matter.
        let raw = send(
            http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "Application/JSON; charset=utf-8")
                .body(order().to_json()),
        )
        .await;
        assert_eq!(raw.status, 200);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

/// The valid order's JSON padded with trailing whitespace to `len` bytes.
fn padded_order(len: usize) -> Vec<u8> {
    let mut body = order().to_json();
    assert!(body.len() < len);
    body.resize(len, b' ');
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_of_exactly_the_limit_is_accepted() {
    within(async {
        let sandbox = start().await;
        let raw = raw_create(
            &sandbox,
            tokens::ACTIVE_INVOICE,
            None,
            padded_order(MAX_BODY_BYTES),
        )
        .await;
        assert_eq!(raw.status, 200, "{:?}", raw.body);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_length_over_the_limit_is_413_before_the_body_is_sent() {
    within(async {
        let sandbox = start().await;
        // Only the head is sent: the sandbox answers from Content-Length.
        let reply = raw_tcp(
            sandbox.addr(),
            vec![
                format!(
                    "POST {PREFIX}{}/order HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    basic_header(),
                    MAX_BODY_BYTES + 1
                )
                .into_bytes(),
            ],
        )
        .await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
        assert!(reply.contains("correlation_id"), "{reply}");
        assert!(
            reply
                .to_ascii_lowercase()
                .contains("klarna-correlation-id:"),
            "{reply}"
        );
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

/// A client that sends a whole body one byte over the limit should read
/// the 413. The sandbox answers from `Content-Length` without reading the
/// body and closes the connection, so the client, still writing, often gets
/// a broken pipe or a reset instead of the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_body_one_byte_over_the_limit_gets_413() {
    within(async {
        let sandbox = start().await;
        for attempt in 0..10 {
            let response = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(padded_order(MAX_BODY_BYTES + 1))
                .send()
                .await;
            match response {
                Ok(response) => assert_eq!(response.status().as_u16(), 413),
                Err(e) => panic!("attempt {attempt}: no answer, only {e:?}"),
            }
        }
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chunked_body_over_the_limit_is_413() {
    within(async {
        let sandbox = start().await;
        // No Content-Length: the limit is found while reading.
        let head = format!(
            "POST {PREFIX}{}/order HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
            tokens::ACTIVE_INVOICE,
            basic_header()
        );
        let mut chunks = vec![head.into_bytes()];
        let json = order().to_json();
        let mut sent = json.len();
        chunks.push(
            [
                format!("{:x}\r\n", json.len()).into_bytes(),
                json,
                b"\r\n".to_vec(),
            ]
            .concat(),
        );
        while sent <= MAX_BODY_BYTES {
            let size = (MAX_BODY_BYTES + 1 - sent).min(1024 * 1024);
            chunks.push(
                [
                    format!("{size:x}\r\n").into_bytes(),
                    vec![b' '; size],
                    b"\r\n".to_vec(),
                ]
                .concat(),
            );
            sent += size;
        }
        let reply = raw_tcp(sandbox.addr(), chunks).await;
        let reply = String::from_utf8_lossy(&reply);
        assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
        assert!(reply.contains("PAYLOAD_TOO_LARGE"), "{reply}");
        assert!(sandbox.orders().is_empty());
        let request = sandbox.requests().pop().expect("recorded");
        assert_eq!(request.header("content-length"), None);
        assert_eq!(request.header("transfer-encoding"), Some("chunked"));
    })
    .await;
}

fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

fn url_of(len: usize) -> String {
    let head = "https://example.com/";
    format!("{head}{}", long('p', len - head.len()))
}

/// An order at every length limit: `count` lines, every string at its maximum.
fn order_at_the_limits(count: usize) -> Result<OrderRequest, klarna_customer_token::Error> {
    use klarna_customer_token::limits;
    let lines = (0..count).map(|i| {
        // Non-ASCII names: lengths are counted in characters, not bytes.
        let name = format!("{i:04}{}", long('ü', limits::LINE_NAME.max - 4));
        OrderLine::builder(name.clone())
            .quantity(2)
            .unit_price(1000 + i as i64)
            .total_discount_amount(10)
            .tax_rate(2500)
            .quantity_unit(long('u', limits::QUANTITY_UNIT.max))
            .reference(long('r', limits::LINE_REFERENCE.max))
            .merchant_data(long('m', limits::LINE_MERCHANT_DATA.max))
            .image_url(url_of(limits::URL.max))
            .product_url(url_of(limits::URL.max))
            .product_identifiers(
                ProductIdentifiers::new()
                    .with_brand(long('b', limits::BRAND.max))
                    .with_category_path(long('c', limits::CATEGORY_PATH.max))
                    .with_global_trade_item_number(long('9', limits::GTIN.max))
                    .with_manufacturer_part_number(long('n', limits::MPN.max))
                    .with_color(long('o', limits::COLOR.max))
                    .with_size(long('s', limits::SIZE.max)),
            )
            .subscription(Subscription::new(name, SubscriptionInterval::Month, 1))
            .build()
            .expect("a line at the limits")
    });
    let address = Address::new()
        .with_attention(long('a', limits::ADDRESS_FIELD.max))
        .with_city(long('c', limits::ADDRESS_FIELD.max))
        .with_country("SE")
        .with_email(format!("{}@example.com", long('e', 80)))
        .with_family_name(long('f', limits::ADDRESS_FIELD.max))
        .with_given_name(long('g', limits::ADDRESS_FIELD.max))
        .with_organization_name(long('o', limits::ADDRESS_FIELD.max))
        .with_phone(long('1', limits::PHONE.max))
        .with_postal_code(long('2', limits::POSTAL_CODE.max))
        .with_region(long('r', limits::ADDRESS_FIELD.max))
        .with_street_address(long('s', limits::ADDRESS_FIELD.max))
        .with_street_address2(long('t', limits::ADDRESS_FIELD.max))
        .with_title(long('T', limits::TITLE.max));
    OrderRequest::builder()
        .purchase_currency("SEK")
        .lines(lines)
        .merchant_data(long('d', limits::MERCHANT_DATA.max))
        .merchant_reference1(long('1', limits::MERCHANT_REFERENCE.max))
        .merchant_reference2(long('2', limits::MERCHANT_REFERENCE.max))
        .merchant_urls(
            MerchantUrls::new(url_of(limits::MERCHANT_URL.max))
                .with_push(url_of(limits::MERCHANT_URL.max)),
        )
        .attachment(Attachment::new(
            "application/vnd.klarna.internal.emd-v2+json",
            r#"{"customer_account_info":[{"unique_account_identifier":"test@example.com"}]}"#,
        ))
        .auto_capture(true)
        .shipping_address(address)
        .build()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_valid_order_at_every_limit_is_accepted_and_stored() {
    within(async {
        let sandbox = start().await;
        // Every field at its limit, with as many lines as Klarna's 1 MB
        // request body holds; all 1000 lines would be over it.
        let body_limit = klarna_customer_token::limits::MAX_BODY_BYTES;
        let err = order_at_the_limits(1000).expect_err("over Klarna's 1 MB");
        assert!(err.to_string().contains("bytes"), "{err}");
        let order = order_at_the_limits(150).expect("an order at the limits is valid");
        let size = order.to_json().len();
        assert!(
            size > 512 * 1024 && size <= body_limit && size < MAX_BODY_BYTES,
            "{size} bytes"
        );
        let created = once(&sandbox)
            .create_order(&token(tokens::ACTIVE_INVOICE), &order)
            .await
            .expect("accepted");
        let orders = sandbox.orders();
        assert_eq!(orders.len(), 1);
        assert_eq!(orders[0].order_id, created.order_id());
        assert_eq!(orders[0].order, order, "stored as sent");
        assert_eq!(orders[0].order.order_lines().len(), 150);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_input_does_not_take_the_sandbox_down() {
    within(async {
        let sandbox = start().await;
        let addr = sandbox.addr();
        let auth = basic_header();
        let path = format!("{PREFIX}{}/order", tokens::ACTIVE_INVOICE);

        // Garbage bytes: hyper answers 400 or closes.
        let reply = raw_tcp(
            addr,
            vec![b"\x00\x01\x02\xff\xfe garbage \r\n\r\n\r\n".to_vec()],
        )
        .await;
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 4"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        // Binary noise, a lot of it.
        let noise: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
        raw_tcp_eof(addr, vec![noise]).await;
        // A request line only, then the connection closes.
        raw_tcp_eof(
            addr,
            vec![format!("POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n").into_bytes()],
        )
        .await;
        // Headers promising a body that never comes in full.
        let reply = raw_tcp_eof(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
                )
                .into_bytes(),
                order().to_json()[..40].to_vec(),
            ],
        )
        .await;
        assert!(
            reply.is_empty() || reply.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        // Truncated JSON with a correct Content-Length.
        let truncated = &order().to_json()[..40];
        let reply = raw_tcp(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nContent-Length: {}\r\n\
                     Connection: close\r\n\r\n",
                    truncated.len()
                )
                .into_bytes(),
                truncated.to_vec(),
            ],
        )
        .await;
        assert!(
            reply.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(String::from_utf8_lossy(&reply).contains("BAD_REQUEST"));
        // A huge declared body, streamed until the sandbox closes.
        let huge = 3 * MAX_BODY_BYTES;
        let mut chunks = vec![
            format!(
                "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                 Content-Type: application/json\r\nContent-Length: {huge}\r\n\r\n"
            )
            .into_bytes(),
        ];
        chunks.extend((0..30).map(|_| vec![b' '; 1024 * 1024]));
        raw_tcp_eof(addr, chunks).await;
        // A chunked body with a malformed chunk size.
        raw_tcp_eof(
            addr,
            vec![
                format!(
                    "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                     Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
                     zz\r\n{{}}\r\n0\r\n\r\n"
                )
                .into_bytes(),
            ],
        )
        .await;
        // An enormous header.
        raw_tcp_eof(
            addr,
            vec![
                format!(
                    "GET {PREFIX}{} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: {}\r\n\r\n",
                    tokens::ACTIVE_INVOICE,
                    long('h', 2 * 1024 * 1024)
                )
                .into_bytes(),
            ],
        )
        .await;
        // A connection opened and closed without a byte.
        raw_tcp_eof(addr, Vec::new()).await;
        // Huge bodies sent whole, over and over (the answer may be lost,
        // see a_whole_body_one_byte_over_the_limit_gets_413).
        for _ in 0..3 {
            let _ = http()
                .post(url(&sandbox, tokens::ACTIVE_INVOICE, "/order"))
                .header("authorization", basic_header())
                .header("content-type", "application/json")
                .body(vec![b' '; MAX_BODY_BYTES + 4096])
                .send()
                .await;
        }

        // Still serving, on fresh and pooled connections.
        let client = once(&sandbox);
        let details = client
            .read_token(&token(tokens::ACTIVE_INVOICE))
            .await
            .expect("still serving");
        assert_eq!(details.status(), &TokenStatus::Active);
        let raw = raw_read(&sandbox, tokens::ACTIVE_CARD).await;
        assert_eq!(raw.status, 200);
        // A well-formed request over raw TCP still gets a well-formed answer.
        let reply = raw_tcp(
            addr,
            vec![
                format!(
                    "GET {PREFIX}{} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {auth}\r\n\
                     Connection: close\r\n\r\n",
                    tokens::ACTIVE_CARD
                )
                .into_bytes(),
            ],
        )
        .await;
        assert!(
            reply.starts_with(b"HTTP/1.1 200"),
            "{}",
            String::from_utf8_lossy(&reply)
        );
        assert!(sandbox.orders().is_empty());
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn many_concurrent_connections_are_served() {
    within(async {
        let sandbox = start().await;
        let mut tasks = Vec::new();
        for i in 0..64 {
            let client = sandbox
                .client_builder()
                .retry_policy(RetryPolicy::none())
                .build()
                .expect("client");
            tasks.push(tokio::spawn(async move {
                let t = token(if i % 2 == 0 {
                    tokens::ACTIVE_CARD
                } else {
                    tokens::SUSPENDED
                });
                client.read_token(&t).await.map(|d| d.status().clone())
            }));
        }
        for (i, task) in tasks.into_iter().enumerate() {
            let status = task.await.expect("task").expect("read");
            let expected = if i % 2 == 0 {
                TokenStatus::Active
            } else {
                TokenStatus::Suspended
            };
            assert_eq!(status, expected);
        }
        assert_eq!(sandbox.requests().len(), 64);
    })
    .await;
}
