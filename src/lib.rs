#![doc = include_str!("../README.md")]
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
