//! # klarna-customer-token
//!
//! A typed, validating client for the **Customer Token API** of Klarna Payments and Kustom
//! Checkout: read a customer's saved payment method, charge it with a new order, and cancel it.
//! Built for recurring billing, where a bug means a customer charged twice or not at all.
//!
//! - **Orders checked before they are sent**: every schema constraint and Klarna's arithmetic,
//!   every violation at once with its JSON path ([`OrderRequest::validate`]); nothing Klarna
//!   accepts is refused.
//! - **Safe retries** ([`RetryPolicy`]): one idempotency key per call, made before the first
//!   await, the same bytes on every attempt, backoff with jitter under one deadline.
//! - **Errors that answer the payments question** ([`Error`]): status, Klarna's code, messages,
//!   correlation id, and for create-order an [`OrderOutcome`] and a per-call [`NextStep`].
//! - **A charge's whole history** ([`charge::Charge`]): whether a new key is safe, proven against
//!   a model of Klarna's idempotency store; pending orders are never taken for paid
//!   ([`notification`]).
//! - **Open types**: statuses, payment methods and error codes keep an `Unknown(String)`.
//! - **Secrets stay secret**: credentials in `secrecy`, never in `Debug`, `Display`, errors or
//!   logs; customer tokens only as their last four characters.
//! - **Generated from the API description**: `build.rs` runs progenitor over `openapi/`; the
//!   bindings stay private behind this facade.
//!
//! # Quickstart
//!
//! Against the playground (the sandbox crate, `klarna-customer-token-sandbox`, serves the same API in-process for tests):
//!
//! ```rust,no_run
//! use klarna_customer_token::{Client, CustomerToken, Endpoint, OrderLine, OrderRequest, Region, TokenStatus};
//!
//! # async fn quickstart() -> Result<(), klarna_customer_token::Error> {
//! let client = Client::builder()
//!     .basic_auth("K123456_abcd12345", "shared-secret")      // or .api_key("klarna_test_api_…")
//!     .endpoint(Endpoint::KlarnaPlayground(Region::Europe))
//!     .build()?;
//!
//! let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00")?;
//! let details = client.read_token(&token).await?;
//! assert_eq!(details.status(), &TokenStatus::Active);       // also payment_method_type(), card(), direct_debit()
//!
//! let order = OrderRequest::builder()
//!     .purchase_currency("GBP")
//!     .line(OrderLine::builder("Running shoe").quantity(1).unit_price(2500).tax_rate(1900).build()?)
//!     .merchant_reference1("ON4711")
//!     .build()?;
//! let call = client.create_order(&token, &order);            // IntoFuture; the key exists before the first await
//! let key = call.idempotency_key()?.clone();                 // so a dropped future never loses it
//! let created = call.await?;                                 // order_id(), fraud_status(), redirect_url(),
//!                                                            // authorized_payment_method(), idempotency_key(), correlation_id()
//! let again = client.create_order(&token, &order).with_idempotency_key(key).await?;   // same key, same order
//! assert_eq!(again.order_id(), created.order_id());
//! client.cancel_token(&token).await?;
//! # Ok(()) }
//! ```
//!
//! A call's key is read with `idempotency_key()` and replaced with `with_idempotency_key(key)`:
//! Rust cannot give a getter and a setter the same name on one type. A random key is 16 bytes from
//! the operating system's generator, drawn for that key alone; should the generator fail,
//! `idempotency_key()` returns the `RandomKeyError` (`?` makes it `Error::Config`) and awaiting the
//! call fails with it, nothing sent.
//!
//! # What validation refuses
//!
//! A client-side rule refuses only what Klarna documents as refused, or what cannot be sent: a
//! rule stricter than Klarna's turns a valid charge into a customer not billed. So validation
//! checks the limits of Klarna's API description (lengths, patterns, minimums, enums, required
//! fields), the few limits Klarna's documentation adds (`tax_rate` 0 to 10000, `quantity_unit` 1
//! to 8 characters, a request body of at most 1 MB), and the arithmetic Klarna documents and
//! answers with `400 BAD_VALUE`. A rule that a Klarna document contradicts goes; a rule no
//! document states is not added. Each rule's doc comment in the `order` module names its source.
//!
//! - **Two tax styles, told apart by the `sales_tax` line.** An order with a `sales_tax` line is
//!   taxed US style: its other lines carry no tax of their own (`tax_rate` and
//!   `total_tax_amount` absent or 0, as shop integrations send them), and `order_tax_amount` is the
//!   `sales_tax` lines' `total_amount`. A `sales_tax` line beside a line taxed at a rate is
//!   refused, naming both. Any other order is taxed EU style: each line's tax within ±1 of
//!   `total_amount × tax_rate / (10000 + tax_rate)`, and `order_tax_amount` within ± the number of
//!   lines of their sum. The builders compute `order_tax_amount` by the same rule.
//! - **Negative amounts on any line type**, such as a discount given as a negative `physical`
//!   line; `order_amount` must still be at least 1 and equal the sum of the lines.
//! - **Unknown fields are kept.** Klarna documents fields on this body that its API description
//!   lacks (`customer`, `billing_address`, `purchase_country`, `locale`, …). A field the typed API
//!   does not know, at any level, is kept byte for byte and sent after the typed fields, in the
//!   order given; `OrderRequest::unknown_fields` lists their paths, and sending logs them at debug
//!   level. The builders take such fields through `extra(name, value)`. For typo protection, read
//!   with `OrderRequest::from_json_strict`, which refuses them by path.
//! - **A body over 1 MB** (Klarna answers 413) is refused before sending, with its size. Klarna
//!   does not say whether it means 10⁶ or 2²⁰ bytes; the crate refuses only what both readings
//!   refuse, past 1,048,576 bytes.
//! - **Every problem at once, also from JSON.** `OrderRequest::from_json` decodes what it can; a
//!   mistyped or missing field is reported with its path beside every rule the rest of the order
//!   breaks.
//!
//! ```rust
//! use klarna_customer_token::OrderRequest;
//!
//! // A US order as shops send it: tax_rate 0 on every line, the tax on its own line.
//! let order = OrderRequest::from_json(br#"{
//!     "purchase_country": "US", "purchase_currency": "USD", "locale": "en-US",
//!     "order_amount": 21000, "order_tax_amount": 1000,
//!     "order_lines": [
//!         {"type": "physical", "name": "Battery Power Pack", "quantity": 2,
//!          "unit_price": 10000, "total_amount": 20000, "tax_rate": 0, "total_tax_amount": 0},
//!         {"type": "sales_tax", "name": "Tax", "quantity": 1,
//!          "unit_price": 1000, "total_amount": 1000, "tax_rate": 0, "total_tax_amount": 0}
//!     ]
//! }"#)?;
//! order.validate()?;
//! assert_eq!(order.unknown_fields(), ["purchase_country", "locale"]);
//! # Ok::<(), klarna_customer_token::Error>(())
//! ```
//!
//! # Servers and credentials
//!
//! | Endpoint | Host |
//! |---|---|
//! | `Endpoint::Klarna(Region::Europe)` | `https://api.klarna.com` |
//! | `Endpoint::Klarna(Region::NorthAmerica)` | `https://api-na.klarna.com` |
//! | `Endpoint::Klarna(Region::Oceania)` | `https://api-oc.klarna.com` |
//! | `Endpoint::KlarnaPlayground(region)` | `https://api[-na\|-oc].playground.klarna.com` |
//! | `Endpoint::Kustom` | `https://api.kustom.co` |
//! | `Endpoint::KustomPlayground` | `https://api.playground.kustom.co` |
//!
//! `.base_url(…)` selects any other server (a proxy, a local mock). For `endpoint`/`base_url`, and
//! for `basic_auth`/`api_key`, the last call wins. `api_key(k)` sends `Authorization: Basic <k>`
//! verbatim, as Klarna documents for its new API keys; `basic_auth(u, p)` sends standard Basic.
//!
//! `build()` refuses a missing server or missing credentials, a `*_test_api_*` key on a live
//! endpoint or a `*_live_api_*` key on a playground endpoint, and a plain `http://` URL that is not
//! loopback unless you call `.allow_insecure_http()`.
//!
//! Other settings: `connect_timeout` (10 s), `attempt_timeout` (30 s), `retry_policy`
//! (see `RetryPolicy`: 2 retries, backoff from 250 ms capped at 5 s, 90 s deadline), `proxy`,
//! `add_root_certificate_pem` and `user_agent_suffix`. Each call can override the retry policy
//! and the attempt timeout.
//!
//! TLS comes from the `rustls` feature (the default) or the `native-tls` feature; when both are
//! on, rustls is used.
//!
//! # Hostile answers
//!
//! Everything that comes from the network is bounded before it is kept and scrubbed before it
//! can be shown.
//!
//! | limit | default | set with | what you see past it |
//! |---|---|---|---|
//! | response body | 1 MiB (Klarna's answers are a few hundred bytes) | `ClientBuilder::max_response_body` | a 2xx: `Error::UndecodableResponse` ("the answer exceeded 1048576 bytes"; for create-order the outcome is `Created`, never retried); any other status: the `Error::Api` that status gives, with the body cut at the cap, `ApiError::body_truncated()` true and Klarna's fields not read, retried or not as that status is |
//! | error body whose fields are read | 64 KiB | — | a longer error body is shown only as a preview; `error_code()` and `error_messages()` are empty |
//! | one shown value (message, reason, header, …) | 1 KiB, ending in `…` | — | the value cut short; `raw_body()` still holds the body up to the cap |
//! | body preview in `Display` | 200 characters, one line | — | the preview cut short with `…` |
//! | server-asked wait | 60 s (and the deadline) | `RetryPolicy::with_deadline` | the call fails at once, `retry_after()` holds the asked wait |
//! | one attempt | 30 s, covering the whole body | `ClientBuilder::attempt_timeout` | `Error::Timeout` |
//!
//! The cap is checked while the body arrives, never after buffering: the rest of an answer past
//! it is not read and the connection is closed. One call against a server sending an endless
//! body holds at most the cap plus a small constant; `cargo run --release -p klarna-customer-token-benches --example hostile_memory`
//! measures it (a debug build on Linux: +2.0 MiB of peak resident memory for one call against an
//! endless chunked body, +1.2 MiB for three attempts each answered by a 100 MB error page; the
//! figures include the test server running in the same process).
//!
//! Every value that came from the server and can reach `Display`, `Debug`, a log event or a span
//! field (the body preview, the content type, the correlation id, `error_code`, the messages,
//! `reason`, `fraud_status`, the decoder's message) goes through one scrub. It replaces the
//! customer token by its last four characters and each credential (API key, username, password,
//! `user:pass`, and a proxy's user and password) by `<redacted>`, ignoring ASCII case, in every
//! encoding a server might echo it in: as is; as its base64 (standard and URL-safe, padded or not);
//! and in the text after undoing JSON escapes (`\u0073\u0068…`), percent-encoding (`%73`, `%2f`,
//! `+` for a space) and HTML references (`&#115;`, `&#x73;`, `&amp;`), up to three layers in any
//! order. It looks at a bounded window of each value (a little more than the 1 KiB it shows) and
//! at most 39 decoded views of it. `raw_body()` is the only unscrubbed view: do not log it. URLs
//! the client shows (a builder's base URL in `Debug`) are shown without user information or
//! query.
//!
//! A response whose head is not valid HTTP (or is too large) is `Error::Connection` with
//! `TransportError::kind()` equal to `TransportKind::MalformedResponse`, shown as "the answer
//! could not be read"; as with any failure after the request was sent, a create-order may have
//! been processed.
//!
//! # Features
//!
//! | feature | what it adds |
//! |---|---|
//! | `rustls` (default) | TLS through rustls; wins when both TLS features are on |
//! | `native-tls` | TLS through the platform's library |
//! | `serde` | `Serialize`/`Deserialize` for what a billing system stores: keys, tokens, outcomes, created orders, error codes, next steps, reports, charges and their events |
//! | `schemars` | JSON Schemas of the request and response types (`json_schemas`) |
//! | `test-util` | the `clock` module and its `VirtualClock` (`ClientBuilder::clock`) |
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![deny(missing_docs)]
#![warn(missing_debug_implementations, rust_2018_idioms, unreachable_pub)]

mod call;
pub mod charge;
mod client;
#[cfg(feature = "test-util")]
#[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
pub mod clock;
#[cfg(not(feature = "test-util"))]
mod clock;
#[cfg(test)]
mod doc_paths;
mod endpoint;
mod enums;
mod error;
mod generated;
pub mod headers;
mod idempotency;
mod next_step;
pub mod notification;
mod operation;
mod order;
mod outcome;
mod payment_method;
mod rate_limit;
mod report;
mod retry;
#[cfg(feature = "schemars")]
mod schema;
#[cfg(feature = "serde")]
mod serde_impls;
mod token;
mod transport;
mod violation;

pub use call::{CallFuture, CancelTokenCall, CreateOrderCall, ReadTokenCall};
pub use client::{Client, ClientBuilder};
pub use endpoint::{Endpoint, Region};
pub use enums::{
    AuthorizedPaymentMethodType, ErrorCode, FraudStatus, OrderLineType, PaymentMethodType,
    SubscriptionInterval, TokenStatus,
};
pub use error::{
    ApiError, ConfigError, Error, InvalidInput, RateLimited, TransportError, TransportKind,
    UndecodableResponse,
};
pub use idempotency::{IdempotencyKey, InvalidIdempotencyKey, RandomKeyError};
pub use next_step::NextStep;
pub use operation::Operation;
pub use order::limits;
pub use order::{
    Address, Attachment, CreatedOrder, MerchantUrls, OrderLine, OrderLineBuilder, OrderRequest,
    OrderRequestBuilder, ProductIdentifiers, Subscription,
};
pub use outcome::OrderOutcome;
pub use payment_method::AuthorizedPaymentMethod;
pub use report::ErrorReport;
pub use retry::RetryPolicy;
#[cfg(feature = "schemars")]
pub use schema::json_schemas;
pub use token::{
    CardInformation, CustomerToken, DirectDebitInformation, InvalidCustomerToken, TokenDetails,
};
pub use violation::{ValidationErrors, Violation};

/// The README's code, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
