//! The sandbox's state: tokens, orders, idempotency keys, faults and the
//! rate limit. Every change happens under one lock, never held across an
//! `.await`, so a request is processed all at once or not at all.

mod keys;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use super::answer::Answer;
use super::canonical::Digest;
use super::fault::FaultKind;
use super::notify::{Hub, Targets};
use super::review::{
    DecisionError, FraudDecision, FraudReview, NotificationDelivery, OrderFraudStatus,
};
use super::wire::{AuthorizedMethod, OrderBody, TokenBody};
use super::{Fault, RecordedRequest, SandboxClock, SandboxToken, StoredOrder};
use klarna_customer_token::{
    AuthorizedPaymentMethodType, CustomerToken, ErrorCode, FraudStatus, IdempotencyKey, Operation,
    OrderRequest, PaymentMethodType, TokenStatus,
};

use keys::KeyEntry;
pub(crate) use keys::{KeyGuard, KeyId, KeyStart};

struct RateWindow {
    limit: u32,
    length: Duration,
    start: Duration,
    count: u32,
}

/// The outcome of the rate-limit check, for the headers.
pub(crate) struct RateInfo {
    pub(crate) limit: u32,
    pub(crate) remaining: u32,
    pub(crate) reset_secs: u64,
    pub(crate) allowed: bool,
}

/// How much the sandbox keeps.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Retention {
    pub(crate) keys: usize,
    pub(crate) requests: usize,
    pub(crate) orders: usize,
}

/// How a sandbox is set up.
pub(crate) struct Config {
    pub(crate) rate_limit: Option<u32>,
    pub(crate) rate_window: Duration,
    pub(crate) retention: Retention,
    pub(crate) body_read_timeout: Duration,
    pub(crate) admin: Option<super::auth::Access>,
    /// Whether the sandbox listens on a loopback address: every request
    /// must then name a loopback host (see `guard`).
    pub(crate) loopback: bool,
    /// The hosts besides loopback that notifications may go to.
    pub(crate) notify_allow: Vec<String>,
    /// Notifications kept at most (being delivered, delivered, given up).
    pub(crate) max_notifications: usize,
}

struct State {
    /// The starting tokens, for a reset.
    seed: Vec<SandboxToken>,
    rate_window: Duration,
    tokens: HashMap<String, SandboxToken>,
    orders: VecDeque<StoredOrder>,
    keys: HashMap<KeyId, KeyEntry>,
    /// Answered keys, oldest first, by sequence number.
    key_order: BTreeMap<u64, KeyId>,
    next_seq: u64,
    /// The answered keys' cost, as [`MAX_STORED_ANSWER_BYTES`] counts it.
    answer_bytes: usize,
    faults: VecDeque<Fault>,
    requests: VecDeque<RecordedRequest>,
    rate: Option<RateWindow>,
    retention: Retention,
}

pub(crate) struct Shared {
    pub(crate) clock: SandboxClock,
    /// How long a request body may take to arrive, in real time.
    pub(crate) body_read_timeout: Duration,
    /// Who may use the admin API; `None` when it is off.
    pub(crate) admin: Option<super::auth::Access>,
    /// Whether the sandbox listens on a loopback address (see `guard`).
    pub(crate) loopback: bool,
    /// Fraud-review notifications: the queue the worker sends from.
    pub(crate) notify: Arc<Hub>,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config, clock: SandboxClock, seed: Vec<SandboxToken>) -> Self {
        let tokens = seed.iter().map(|t| (t.id.clone(), t.clone())).collect();
        let shared = Self {
            clock,
            body_read_timeout: config.body_read_timeout,
            admin: config.admin,
            loopback: config.loopback,
            notify: Arc::new(Hub::new(
                Targets::new(&config.notify_allow),
                config.max_notifications,
            )),
            state: Mutex::new(State {
                seed,
                rate_window: config.rate_window,
                tokens,
                orders: VecDeque::new(),
                keys: HashMap::new(),
                key_order: BTreeMap::new(),
                next_seq: 0,
                answer_bytes: 0,
                faults: VecDeque::new(),
                requests: VecDeque::new(),
                rate: None,
                retention: config.retention,
            }),
        };
        shared.set_rate_limit(config.rate_limit);
        shared
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update is a whole step; a panic elsewhere cannot leave the
        // state half-changed, so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn add_token(&self, token: SandboxToken) {
        self.lock().tokens.insert(token.id.clone(), token);
    }

    pub(crate) fn token_status(&self, id: &str) -> Option<TokenStatus> {
        self.lock().tokens.get(id).map(|t| t.status.clone())
    }

    /// Sets a token's status; `false` when there is no such token.
    pub(crate) fn set_token_status(&self, id: &str, status: TokenStatus) -> bool {
        match self.lock().tokens.get_mut(id) {
            Some(token) => {
                token.status = status;
                true
            }
            None => false,
        }
    }

    /// Every token, sorted by id.
    pub(crate) fn tokens(&self) -> Vec<SandboxToken> {
        let mut tokens: Vec<SandboxToken> = self.lock().tokens.values().cloned().collect();
        tokens.sort_by(|a, b| a.id.cmp(&b.id));
        tokens
    }

    /// The stored orders that pass `keep`, oldest first.
    pub(crate) fn orders(&self, keep: impl Fn(&StoredOrder) -> bool) -> Vec<StoredOrder> {
        self.lock()
            .orders
            .iter()
            .filter(|o| keep(o))
            .cloned()
            .collect()
    }

    /// Back to the starting state; the clock keeps its time.
    pub(crate) fn reset(&self) {
        let now = self.clock.now();
        let mut state = self.lock();
        let state = &mut *state;
        state.tokens = state
            .seed
            .iter()
            .map(|t| (t.id.clone(), t.clone()))
            .collect();
        state.orders.clear();
        // Keys in flight stay: their requests are still being processed
        // and release them when done.
        state
            .keys
            .retain(|_, entry| matches!(entry, KeyEntry::InFlight { .. }));
        state.key_order.clear();
        state.answer_bytes = 0;
        state.faults.clear();
        state.requests.clear();
        self.notify.clear();
        if let Some(window) = state.rate.as_mut() {
            window.start = now;
            window.count = 0;
        }
    }

    pub(crate) fn requests(&self) -> Vec<RecordedRequest> {
        self.lock().requests.iter().cloned().collect()
    }

    pub(crate) fn clear_requests(&self) {
        self.lock().requests.clear();
    }

    /// Records a request, forgetting the oldest past the cap.
    pub(crate) fn record(&self, request: RecordedRequest) {
        let mut state = self.lock();
        let cap = state.retention.requests;
        if cap == 0 {
            return;
        }
        while state.requests.len() >= cap {
            state.requests.pop_front();
        }
        state.requests.push_back(request);
    }

    pub(crate) fn clear_faults(&self) {
        self.lock().faults.clear();
    }

    pub(crate) fn inject(&self, fault: Fault) {
        if fault.times > 0 {
            self.lock().faults.push_back(fault);
        }
    }

    pub(crate) fn pending_faults(&self) -> Vec<Fault> {
        self.lock().faults.iter().cloned().collect()
    }

    /// Takes one use of the first queued fault that applies to a request
    /// of this operation, for this token, with this key.
    pub(crate) fn take_fault(
        &self,
        operation: Option<Operation>,
        token: Option<&str>,
        key: Option<&str>,
    ) -> Option<FaultKind> {
        let mut state = self.lock();
        let index = state
            .faults
            .iter()
            .position(|f| f.matches(operation, token, key))?;
        let fault = state.faults.get_mut(index)?;
        fault.times -= 1;
        let kind = fault.kind.clone();
        if fault.times == 0 {
            state.faults.remove(index);
        }
        Some(kind)
    }

    pub(crate) fn set_rate_limit(&self, per_window: Option<u32>) {
        let now = self.clock.now();
        let mut state = self.lock();
        let length = state.rate_window;
        state.rate = per_window.map(|limit| RateWindow {
            limit,
            length,
            start: now,
            count: 0,
        });
    }

    /// Counts a request against the rate limit, if there is one.
    pub(crate) fn check_rate(&self) -> Option<RateInfo> {
        let now = self.clock.now();
        let mut state = self.lock();
        let window = state.rate.as_mut()?;
        if now.saturating_sub(window.start) >= window.length {
            window.start = now;
            window.count = 0;
        }
        let allowed = window.count < window.limit;
        if allowed {
            window.count += 1;
        }
        let left = window
            .start
            .saturating_add(window.length)
            .saturating_sub(now);
        Some(RateInfo {
            limit: window.limit,
            remaining: window.limit.saturating_sub(window.count),
            reset_secs: left.as_secs_f64().ceil().max(1.0) as u64,
            allowed,
        })
    }

    /// What reading a token answers, if the sandbox knows it.
    pub(crate) fn read_token(&self, id: &str) -> Option<TokenBody> {
        self.lock().tokens.get(id).map(SandboxToken::details)
    }

    /// Cancels a token; `false` when it does not exist.
    pub(crate) fn cancel_token(&self, id: &str) -> bool {
        match self.lock().tokens.get_mut(id) {
            Some(token) => {
                token.status = TokenStatus::Cancelled;
                true
            }
            None => false,
        }
    }

    /// Processes a create-order request in one step: token checks,
    /// validation, storing the order, and remembering the answer under its
    /// key.
    pub(crate) fn create_order(
        &self,
        token_id: &str,
        order: Result<OrderRequest, String>,
        body: Digest,
        key: Option<(KeyGuard, IdempotencyKey)>,
        correlation_id: &str,
    ) -> Answer {
        let now = self.clock.now();
        let mut state = self.lock();
        let (guard, key) = key.unzip();
        let answer = state.charge(
            token_id,
            order,
            key,
            now,
            &self.notify.targets,
            correlation_id,
        );
        if let Some(guard) = guard {
            state.finish_key(guard, body, &answer, now);
        }
        answer
    }
}

impl Shared {
    /// Decides an order's fraud review and queues its notification (when
    /// the order has a notification URL), all in one step: the order as it
    /// is now.
    pub(crate) fn decide_fraud(
        &self,
        order_id: &str,
        decision: FraudDecision,
    ) -> Result<StoredOrder, DecisionError> {
        let now = self.clock.now();
        let mut state = self.lock();
        let order = state
            .orders
            .iter_mut()
            .find(|o| o.order_id == order_id)
            .ok_or_else(|| DecisionError::UnknownOrder(order_id.to_owned()))?;
        if decision != FraudDecision::Stopped && order.fraud_status != OrderFraudStatus::Pending {
            return Err(DecisionError::NotPending {
                order_id: order_id.to_owned(),
                status: order.fraud_status,
                decision: decision.as_str(),
            });
        }
        if let Some(url) = order.order.merchant_urls().and_then(|u| u.notification()) {
            self.notify.enqueue(order_id, decision.event(), url, now)?;
        }
        order.fraud_status = decision.status();
        Ok(order.clone())
    }

    /// Every notification delivery kept, oldest first.
    pub(crate) fn notifications(&self) -> Vec<NotificationDelivery> {
        self.notify.list()
    }
}

impl State {
    /// The answer to a create-order request: the token's state decides,
    /// then the order's rules; an order that passes is stored.
    fn charge(
        &mut self,
        token_id: &str,
        order: Result<OrderRequest, String>,
        key: Option<IdempotencyKey>,
        now: Duration,
        targets: &Targets,
        correlation_id: &str,
    ) -> Answer {
        let Some(known) = self.tokens.get(token_id) else {
            return token_not_found(correlation_id);
        };
        if let Some((code, message)) = refusal(&known.status) {
            return Answer::error_one(403, code, message, correlation_id);
        }
        let method_type = authorized_type(&known.payment_method_type);
        let fraud_status = match known.fraud_review {
            FraudReview::Pending => OrderFraudStatus::Pending,
            _ => OrderFraudStatus::Accepted,
        };
        let order = match order {
            Ok(order) => order,
            Err(message) => {
                return Answer::error_one(400, ErrorCode::BadValue, message, correlation_id);
            }
        };
        if let Err(violations) = order.validate() {
            let messages = violations.iter().map(ToString::to_string).collect();
            return Answer::error(400, ErrorCode::BadValue, messages, correlation_id);
        }
        // The sandbox must not become a way to reach other hosts: a
        // notification URL it would not deliver to is refused now.
        if let Some(url) = order.merchant_urls().and_then(|u| u.notification())
            && let Err(message) = targets.check(url)
        {
            return Answer::error_one(
                400,
                ErrorCode::BadValue,
                format!("merchant_urls.notification: {message}"),
                correlation_id,
            );
        }
        let Ok(token) = CustomerToken::new(token_id) else {
            return token_not_found(correlation_id);
        };
        let order_id = uuid::Uuid::new_v4().to_string();
        let created = OrderBody {
            authorized_payment_method: AuthorizedMethod { method_type },
            fraud_status: match fraud_status {
                OrderFraudStatus::Pending => FraudStatus::Pending,
                _ => FraudStatus::Accepted,
            },
            redirect_url: format!("https://sandbox.invalid/v1/orders/{order_id}/redirect"),
            order_id: order_id.clone(),
        };
        self.store(StoredOrder {
            order_id,
            token,
            idempotency_key: key,
            order,
            created_at: now,
            fraud_status,
        });
        Answer::json(200, &created)
    }

    /// Stores an order, forgetting the oldest past the cap.
    fn store(&mut self, order: StoredOrder) {
        let cap = self.retention.orders;
        while self.orders.len() >= cap && !self.orders.is_empty() {
            self.orders.pop_front();
        }
        if cap > 0 {
            self.orders.push_back(order);
        }
    }
}

/// Why a token with this status cannot be charged (403), unless it is
/// active.
fn refusal(status: &TokenStatus) -> Option<(ErrorCode, String)> {
    let (code, message) = match status {
        TokenStatus::Active => return None,
        TokenStatus::Cancelled => (
            ErrorCode::TokenCancelled,
            "The customer token has been cancelled by the merchant".to_owned(),
        ),
        TokenStatus::Suspended => (
            ErrorCode::TokenSuspended,
            "The customer token has been suspended".to_owned(),
        ),
        // A status Klarna does not document (`Unknown`), or one the
        // client learns later.
        other => (
            ErrorCode::TokenForbidden,
            format!("The customer token is {other}"),
        ),
    };
    Some((code, message))
}

/// The answer to a create-order for a token the sandbox does not know.
fn token_not_found(correlation_id: &str) -> Answer {
    Answer::error_one(
        404,
        ErrorCode::TokenNotFound,
        "The customer token does not exist",
        correlation_id,
    )
}

/// The authorized payment method type Klarna reports for a token's
/// payment method type.
fn authorized_type(payment_method_type: &PaymentMethodType) -> AuthorizedPaymentMethodType {
    match payment_method_type {
        PaymentMethodType::Card => AuthorizedPaymentMethodType::Card,
        PaymentMethodType::DirectDebit => AuthorizedPaymentMethodType::DirectDebit,
        _ => AuthorizedPaymentMethodType::Invoice,
    }
}
