//! What a charge's history is made of: the events, their time stamps and
//! the digest of what was sent.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest as _, Sha256};

use crate::enums::{FraudEvent, FraudStatus};
use crate::error::Error;
use crate::idempotency::IdempotencyKey;
use crate::order::OrderRequest;
use crate::token::CustomerToken;

use super::answer::Answer;

/// A point in time, in milliseconds since the Unix epoch: what a journal
/// stores. With the `serde` feature it is written as that number.
///
/// ```
/// use klarna_customer_token::charge::Timestamp;
/// use std::time::Duration;
/// let t = Timestamp::from_millis(1_000);
/// assert_eq!(t + Duration::from_secs(1), Timestamp::from_millis(2_000));
/// assert!(Timestamp::now() > t);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(transparent)
)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The wall clock now (the Unix epoch if the clock is set before it).
    pub fn now() -> Self {
        Self::from(SystemTime::now())
    }

    /// The time `millis` milliseconds after the Unix epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(millis)
    }

    /// Milliseconds since the Unix epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// How long after `earlier` this is; zero if it is not after it.
    pub fn since(self, earlier: Self) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }
}

impl From<SystemTime> for Timestamp {
    fn from(time: SystemTime) -> Self {
        Self(
            time.duration_since(UNIX_EPOCH)
                .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

impl std::ops::Add<Duration> for Timestamp {
    type Output = Self;
    fn add(self, rhs: Duration) -> Self {
        Self(
            self.0
                .saturating_add(u64::try_from(rhs.as_millis()).unwrap_or(u64::MAX)),
        )
    }
}

/// The SHA-256 digest of a customer token and an order's JSON: what an
/// intent records of the request it sends, so that a later send under the
/// same key can be checked to carry the same request. It reveals neither
/// (a token cannot be read back from it). With the `serde` feature it is
/// written as 64 lowercase hexadecimal digits.
///
/// ```
/// use klarna_customer_token::charge::BodyDigest;
/// use klarna_customer_token::{CustomerToken, OrderLine, OrderRequest};
/// let token = CustomerToken::new("6e2b0e0c-1b1f-4f35-9a2e-2a3c5d7e9f10")?;
/// let order = |name: &str| -> Result<OrderRequest, klarna_customer_token::Error> {
///     OrderRequest::builder()
///         .purchase_currency("USD")
///         .line(OrderLine::builder(name).quantity(1).unit_price(1000).tax_rate(0).build()?)
///         .build()
/// };
/// let a = BodyDigest::of(&token, &order("Monthly plan")?)?;
/// assert_eq!(a, BodyDigest::of(&token, &order("Monthly plan")?)?);
/// assert_ne!(a, BodyDigest::of(&token, &order("Yearly plan")?)?);
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct BodyDigest([u8; 32]);

impl BodyDigest {
    /// The digest of what a create-order call with this token and order
    /// sends: the token and the order's JSON, as the call serializes it.
    ///
    /// # Errors
    /// [`Error::Validation`] when the order breaks a rule: such an order is
    /// never sent, so it has no digest.
    pub fn of(token: &CustomerToken, order: &OrderRequest) -> Result<Self, Error> {
        order.prepared()?;
        Ok(Self::of_bytes(token.as_str().as_bytes(), &order.to_json()))
    }

    /// The digest of a token and a body given as bytes.
    fn of_bytes(token: &[u8], body: &[u8]) -> Self {
        let mut hasher = Sha256::new();
        // The token's length first, so that no token/body split of the same
        // bytes shares a digest.
        hasher.update((token.len() as u64).to_be_bytes());
        hasher.update(token);
        hasher.update(body);
        Self(hasher.finalize().into())
    }

    /// The digest's 64 lowercase hexadecimal digits.
    pub fn to_hex(&self) -> String {
        let mut out = String::with_capacity(64);
        for byte in self.0 {
            out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
        }
        out
    }

    /// Reads 64 hexadecimal digits; `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<Self> {
        let bytes = hex.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let digit = |b: u8| {
            char::from(b)
                .to_digit(16)
                .and_then(|d| u8::try_from(d).ok())
        };
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
        }
        Some(Self(out))
    }
}

impl fmt::Debug for BodyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BodyDigest({})", &self.to_hex()[..12])
    }
}

impl fmt::Display for BodyDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for BodyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for BodyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&text)
            .ok_or_else(|| serde::de::Error::custom("expected 64 hexadecimal digits"))
    }
}

/// One entry of a charge's history. A journal that writes each event
/// (synced) before acting on it can rebuild the [`Charge`](super::Charge)
/// after a crash with [`Charge::apply`](super::Charge::apply).
///
/// With the `serde` feature an event is an object tagged by `"event"`:
/// `intent`, `answer`, `notification` or `resolved`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "event", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Event {
    /// About to send attempt `attempt` with `key`: recorded **before** the
    /// request leaves, so that a crash after it counts as "may have been
    /// created".
    Intent {
        /// The attempt number of the key.
        attempt: u32,
        /// The key sent.
        key: IdempotencyKey,
        /// What is sent; `None` only in journals written before digests
        /// were recorded (the first digest seen later is then taken as the
        /// key's).
        #[cfg_attr(feature = "serde", serde(default))]
        digest: Option<BodyDigest>,
        /// When.
        at: Timestamp,
    },
    /// What a call with `key` came to.
    Answer {
        /// The attempt number of the key.
        attempt: u32,
        /// The key the call sent.
        key: IdempotencyKey,
        /// What the answer proves about the key.
        answer: Answer,
        /// When.
        at: Timestamp,
    },
    /// A fraud-review decision for the order an attempt created
    /// ([`Charge::notification`](super::Charge::notification)).
    Notification {
        /// The attempt whose order it is.
        attempt: u32,
        /// The order.
        order_id: String,
        /// The decision.
        event_type: FraudEvent,
        /// When it was received.
        at: Timestamp,
    },
    /// A person looked the attempt up (in the Merchant Portal) and says
    /// whether it created an order.
    Resolved {
        /// The attempt settled.
        attempt: u32,
        /// Whether the attempt created an order.
        created: bool,
        /// The order's id, when it was created and the person has it.
        #[cfg_attr(feature = "serde", serde(default))]
        order_id: Option<String>,
        /// The order's fraud status as the person saw it (`PENDING` keeps
        /// the charge awaiting review); `None` when the merchant has no
        /// fraud review, or the person saw it accepted.
        #[cfg_attr(feature = "serde", serde(default))]
        fraud_status: Option<FraudStatus>,
        /// When.
        at: Timestamp,
    },
}
