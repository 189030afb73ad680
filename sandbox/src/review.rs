//! Fraud review in the sandbox: how a token's orders are reviewed, the
//! decisions, and what the sandbox shows of its notification deliveries.

use std::fmt;
use std::time::Duration;

use klarna_customer_token::notification::FraudEvent;

/// How a sandbox token's orders pass Klarna's fraud review
/// ([`SandboxToken::with_fraud_review`](super::SandboxToken::with_fraud_review)).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum FraudReview {
    /// Orders are answered `fraud_status: "ACCEPTED"` (the default; JSON
    /// `"off"`).
    #[default]
    Off,
    /// Orders are answered `fraud_status: "PENDING"` and wait for a
    /// decision ([`Sandbox::decide_fraud`](super::Sandbox::decide_fraud),
    /// or the admin API's `POST /__sandbox/orders/{order_id}/fraud-decision`);
    /// JSON `"pending"`.
    Pending,
}

impl FraudReview {
    /// The name the admin API uses: `off` or `pending`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Pending => "pending",
        }
    }
}

/// A fraud-review decision on a sandbox order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FraudDecision {
    /// The pending order is accepted (`FRAUD_RISK_ACCEPTED`).
    Accepted,
    /// The pending order is rejected (`FRAUD_RISK_REJECTED`).
    Rejected,
    /// The order is stopped (`FRAUD_RISK_STOPPED`): allowed on any order,
    /// pending or not, as Klarna's older pending-orders page describes.
    Stopped,
}

impl FraudDecision {
    /// The name the admin API uses: `ACCEPTED`, `REJECTED` or `STOPPED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Rejected => "REJECTED",
            Self::Stopped => "STOPPED",
        }
    }

    /// The event the notification carries.
    pub fn event(self) -> FraudEvent {
        match self {
            Self::Accepted => FraudEvent::Accepted,
            Self::Rejected => FraudEvent::Rejected,
            Self::Stopped => FraudEvent::Stopped,
        }
    }

    /// The order's fraud status once decided.
    pub fn status(self) -> OrderFraudStatus {
        match self {
            Self::Accepted => OrderFraudStatus::Accepted,
            Self::Rejected => OrderFraudStatus::Rejected,
            Self::Stopped => OrderFraudStatus::Stopped,
        }
    }
}

/// A sandbox order's current fraud status
/// ([`StoredOrder::fraud_status`](super::StoredOrder::fraud_status)).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OrderFraudStatus {
    /// Accepted: at creation, or by a decision.
    Accepted,
    /// Waiting for a decision.
    Pending,
    /// Rejected by a decision.
    Rejected,
    /// Stopped by a decision.
    Stopped,
}

impl OrderFraudStatus {
    /// The name the admin API uses: `ACCEPTED`, `PENDING`, `REJECTED` or
    /// `STOPPED`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "ACCEPTED",
            Self::Pending => "PENDING",
            Self::Rejected => "REJECTED",
            Self::Stopped => "STOPPED",
        }
    }
}

impl fmt::Display for OrderFraudStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why [`Sandbox::decide_fraud`](super::Sandbox::decide_fraud) changed
/// nothing.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecisionError {
    /// The sandbox holds no order with this id (never created, forgotten
    /// past [`SandboxBuilder::max_stored_orders`](super::SandboxBuilder::max_stored_orders),
    /// or reset).
    #[error("the sandbox holds no order {0:?}")]
    UnknownOrder(String),
    /// `ACCEPTED` and `REJECTED` decide a `PENDING` order only.
    #[error(
        "order {order_id:?} is {status}, not PENDING: only STOPPED can be decided on it \
         (got {decision})"
    )]
    NotPending {
        /// The order.
        order_id: String,
        /// Its fraud status.
        status: OrderFraudStatus,
        /// The decision refused (`ACCEPTED` or `REJECTED`).
        decision: &'static str,
    },
    /// Every delivery slot holds a notification still being delivered.
    #[error(
        "the notification queue is full ({0} deliveries still being delivered); nothing was \
         decided"
    )]
    QueueFull(usize),
}

/// A notification the sandbox delivers (or delivered) to an order's
/// `merchant_urls.notification`, as [`Sandbox::notifications`](super::Sandbox::notifications)
/// lists it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotificationDelivery {
    /// The order it is about.
    pub order_id: String,
    /// Its event.
    pub event_type: FraudEvent,
    /// The URL it goes to, cut to its path: the query carries the
    /// signature of a signed URL and is never shown.
    pub url_path: String,
    /// Sandbox time of the decision.
    pub decided_at: Duration,
    /// The decision's time as the body carries it (RFC 3339, UTC: the
    /// wall-clock time the sandbox started plus sandbox time).
    pub decided_at_rfc3339: String,
    /// Every attempt, oldest first.
    pub attempts: Vec<DeliveryAttempt>,
    /// Where it stands.
    pub state: DeliveryState,
}

/// One attempt to deliver a notification.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeliveryAttempt {
    /// Sandbox time when it was sent.
    pub at: Duration,
    /// What came of it.
    pub outcome: AttemptOutcome,
}

/// What came of one delivery attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AttemptOutcome {
    /// The receiver answered with this status; only `200` counts as
    /// delivered.
    Status(u16),
    /// No answer: the transport error (connection refused, the timeout),
    /// without the URL.
    Failed(String),
}

/// Where a notification delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeliveryState {
    /// Not delivered yet: the next attempt is due at this sandbox time.
    Pending {
        /// Sandbox time of the next attempt.
        next_at: Duration,
    },
    /// Being sent now.
    Sending,
    /// The receiver answered `200`.
    Delivered,
    /// No `200` within 24 hours of sandbox time from the decision.
    GivenUp,
}

impl DeliveryState {
    /// The name the admin API uses: `pending`, `sending`, `delivered` or
    /// `given_up`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending { .. } => "pending",
            Self::Sending => "sending",
            Self::Delivered => "delivered",
            Self::GivenUp => "given_up",
        }
    }
}
