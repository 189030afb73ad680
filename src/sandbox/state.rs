//! The sandbox's state: tokens, orders, idempotency keys, faults and the
//! rate limit. Every change happens under one lock, never held across an
//! `.await`, so a request is processed all at once or not at all.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::sync::watch;

use super::canonical::Digest;
use super::{Fault, RecordedRequest, SandboxClock, SandboxToken, StoredOrder};
use crate::enums::TokenStatus;
use crate::error::Operation;
use crate::{CustomerToken, IdempotencyKey, OrderRequest};

/// How long an idempotency key is remembered.
pub(crate) const KEY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// When a fault acts, relative to the processing of the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Phase {
    /// Before the request is processed: nothing is stored.
    BeforeProcessing,
    /// After the request is processed: create-order has stored the order.
    AfterProcessing,
}

/// What an injected fault does.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultKind {
    /// Answer with this status, content type and body, unprocessed.
    Status {
        /// The status.
        status: u16,
        /// The body.
        body: String,
        /// The content type.
        content_type: String,
        /// Extra headers, such as `Retry-After`.
        headers: Vec<(String, String)>,
    },
    /// Close the connection without answering.
    Drop {
        /// Whether the request is processed first.
        phase: Phase,
    },
    /// Wait before answering.
    Delay {
        /// How long.
        delay: Duration,
        /// Whether the wait comes before or after processing.
        phase: Phase,
    },
}

/// An answer, kept so that it can be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) content_type: Option<&'static str>,
    /// The `Allow` header of a 405.
    pub(crate) allow: Option<&'static str>,
    /// Whether the connection closes after this answer.
    pub(crate) close: bool,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(status: u16, body: &Value) -> Self {
        Self {
            status,
            content_type: Some("application/json"),
            allow: None,
            close: false,
            body: Bytes::from(body.to_string()),
        }
    }

    /// A Klarna-style error body, with at most [`MAX_ERROR_TEXT`] bytes of
    /// messages (see [`bound_messages`]).
    pub(crate) fn error(
        status: u16,
        code: &str,
        messages: Vec<String>,
        correlation_id: &str,
    ) -> Self {
        Self::json(
            status,
            &json!({
                "error_code": code,
                "error_messages": bound_messages(messages),
                "correlation_id": correlation_id,
            }),
        )
    }

    pub(crate) fn empty(status: u16) -> Self {
        Self {
            status,
            content_type: None,
            allow: None,
            close: false,
            body: Bytes::new(),
        }
    }
}

/// How many bytes of messages one error answer lists. A hostile order can
/// break thousands of rules; its answer would be replayed from the
/// idempotency store, so it must stay small.
pub(crate) const MAX_ERROR_TEXT: usize = 4 * 1024;

/// How many bytes of answers the idempotency store holds at most, each
/// entry counted as its answer body plus [`ENTRY_OVERHEAD`]; past it the
/// oldest keys expire first, as past the key cap. Legitimate answers are a
/// few hundred bytes, so the key cap (100,000) binds first.
pub(crate) const MAX_STORED_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What an answered key costs beyond its answer body: the map entry, the
/// expiry-order entry and the allocation.
const ENTRY_OVERHEAD: usize = 256;

/// The messages that fit in [`MAX_ERROR_TEXT`] bytes (as JSON strings),
/// cut at a whole message (a first message too long on its own is cut at a
/// character), and a last one that says how many were left out.
fn bound_messages(mut messages: Vec<String>) -> Vec<String> {
    let mut used = 0usize;
    let fit = messages
        .iter()
        .position(|m| {
            // The quotes and the comma.
            used = used.saturating_add(m.len() + 3);
            used > MAX_ERROR_TEXT
        })
        .unwrap_or(messages.len());
    if fit == messages.len() {
        return messages;
    }
    let mut left_out = messages.len() - fit;
    messages.truncate(fit.max(1));
    if fit == 0
        && let Some(first) = messages.first_mut()
    {
        let mut end = MAX_ERROR_TEXT.min(first.len());
        while !first.is_char_boundary(end) {
            end -= 1;
        }
        first.truncate(end);
        first.push_str("...");
        left_out -= 1;
    }
    messages.push(if left_out == 0 {
        format!("(cut: the sandbox lists at most {MAX_ERROR_TEXT} bytes of messages)")
    } else {
        format!(
            "... and {left_out} more (the sandbox lists at most {MAX_ERROR_TEXT} bytes of messages)"
        )
    });
    messages
}

/// The scope of an idempotency key: the digest of the credentials, token
/// and key, so that a key of any length takes 32 bytes.
pub(crate) type KeyId = Digest;

/// What the sandbox keeps for one idempotency key: the digest of the
/// canonical request body and, once answered, the answer. Never the body.
#[derive(Debug)]
pub(crate) enum KeyEntry {
    InFlight {
        body: Digest,
        done: watch::Receiver<bool>,
    },
    Done {
        body: Digest,
        answer: Answer,
        at: Duration,
        /// Its place in the expiry order.
        seq: u64,
    },
}

/// What to do with a create-order request that carries a key.
pub(crate) enum KeyStart {
    /// The key is new (or expired): process, then finish the guard.
    Fresh(KeyGuard),
    /// The key was answered before: replay.
    Replay(Answer),
    /// The key was used with another body.
    Mismatch,
    /// The key is being processed by another request: wait, then ask again.
    Wait(watch::Receiver<bool>),
}

/// Holds a key in flight. Dropping it without [`Shared::finish_create`]
/// (the request was interrupted) releases the key for the next request.
pub(crate) struct KeyGuard {
    pub(crate) id: KeyId,
    sender: Option<watch::Sender<bool>>,
    shared: std::sync::Weak<Shared>,
}

impl Drop for KeyGuard {
    fn drop(&mut self) {
        if let Some(sender) = self.sender.take() {
            if let Some(shared) = self.shared.upgrade() {
                let mut state = shared.lock();
                if matches!(state.keys.get(&self.id), Some(KeyEntry::InFlight { .. })) {
                    state.keys.remove(&self.id);
                }
            }
            let _ = sender.send(true);
        }
    }
}

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
    pub(crate) admin: Option<super::admin::Access>,
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

impl State {
    /// Remembers the answer to a key, then expires what is past the window
    /// or past the cap, oldest first.
    fn remember(&mut self, id: KeyId, body: Digest, answer: Answer, now: Duration) {
        self.forget_order_of(&id);
        let seq = self.next_seq;
        self.next_seq = self.next_seq.wrapping_add(1);
        self.answer_bytes = self.answer_bytes.saturating_add(cost(&answer));
        self.keys.insert(
            id,
            KeyEntry::Done {
                body,
                answer,
                at: now,
                seq,
            },
        );
        self.key_order.insert(seq, id);
        self.expire_keys(now);
    }

    /// Takes an answered key out of the expiry order and the byte count (it
    /// is being replaced).
    fn forget_order_of(&mut self, id: &KeyId) {
        if let Some(KeyEntry::Done { seq, answer, .. }) = self.keys.get(id) {
            self.key_order.remove(seq);
            self.answer_bytes = self.answer_bytes.saturating_sub(cost(answer));
        }
    }

    fn expire_keys(&mut self, now: Duration) {
        while let Some((&seq, &id)) = self.key_order.first_key_value() {
            let over_cap = self.key_order.len() > self.retention.keys
                || self.answer_bytes > MAX_STORED_ANSWER_BYTES;
            let expired = match self.keys.get(&id) {
                Some(KeyEntry::Done { at, .. }) => now.saturating_sub(*at) >= KEY_WINDOW,
                _ => true,
            };
            if !over_cap && !expired {
                break;
            }
            self.key_order.remove(&seq);
            if let Some(KeyEntry::Done { seq: s, answer, .. }) = self.keys.get(&id)
                && *s == seq
            {
                self.answer_bytes = self.answer_bytes.saturating_sub(cost(answer));
                self.keys.remove(&id);
            }
        }
    }
}

/// What an answered key counts against [`MAX_STORED_ANSWER_BYTES`].
fn cost(answer: &Answer) -> usize {
    answer.body.len().saturating_add(ENTRY_OVERHEAD)
}

pub(crate) struct Shared {
    pub(crate) clock: SandboxClock,
    /// How long a request body may take to arrive, in real time.
    pub(crate) body_read_timeout: Duration,
    /// Who may use the admin API; `None` when it is off.
    pub(crate) admin: Option<super::admin::Access>,
    state: Mutex<State>,
}

impl Shared {
    pub(crate) fn new(config: Config, clock: SandboxClock, seed: Vec<SandboxToken>) -> Self {
        let tokens = seed.iter().map(|t| (t.id.clone(), t.clone())).collect();
        let shared = Self {
            clock,
            body_read_timeout: config.body_read_timeout,
            admin: config.admin,
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

    /// How many idempotency keys are remembered (answered or in flight).
    pub(crate) fn key_count(&self) -> usize {
        self.lock().keys.len()
    }

    /// The answered entries' heap bytes: the stored answers' bodies (the
    /// rest of an entry has a fixed size).
    #[cfg(test)]
    pub(crate) fn key_entries(&self) -> Vec<(KeyId, Digest, Answer)> {
        self.lock()
            .keys
            .iter()
            .filter_map(|(id, entry)| match entry {
                KeyEntry::Done { body, answer, .. } => Some((*id, *body, answer.clone())),
                KeyEntry::InFlight { .. } => None,
            })
            .collect()
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

    /// Looks up a token for reading.
    pub(crate) fn read_token(&self, id: &str) -> Option<Value> {
        let state = self.lock();
        let token = state.tokens.get(id)?;
        let mut body = json!({
            "payment_method_type": token.payment_method_type.as_str(),
            "status": token.status.as_str(),
        });
        if let Some((brand, expiry, masked)) = &token.card {
            body["card"] =
                json!({ "brand": brand, "expiry_date": expiry, "masked_number": masked });
        }
        if let Some(masked) = &token.direct_debit {
            body["direct_debit"] = json!({ "masked_number": masked });
        }
        Some(body)
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

    /// Claims, replays or refuses an idempotency key.
    pub(crate) fn begin_key(self: &std::sync::Arc<Self>, id: KeyId, body: Digest) -> KeyStart {
        let now = self.clock.now();
        let mut state = self.lock();
        state.expire_keys(now);
        match state.keys.get(&id) {
            Some(KeyEntry::Done {
                body: first,
                answer,
                at,
                ..
            }) if now.saturating_sub(*at) < KEY_WINDOW => {
                if *first == body {
                    return KeyStart::Replay(answer.clone());
                }
                return KeyStart::Mismatch;
            }
            Some(KeyEntry::InFlight { body: first, done }) => {
                if *first != body {
                    return KeyStart::Mismatch;
                }
                return KeyStart::Wait(done.clone());
            }
            // Expired or new.
            _ => {}
        }
        let (sender, receiver) = watch::channel(false);
        state.forget_order_of(&id);
        state.keys.insert(
            id,
            KeyEntry::InFlight {
                body,
                done: receiver,
            },
        );
        KeyStart::Fresh(KeyGuard {
            id,
            sender: Some(sender),
            shared: std::sync::Arc::downgrade(self),
        })
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
        let answer = match state.tokens.get(token_id).map(|t| t.status.clone()) {
            None => Answer::error(
                404,
                "TOKEN_NOT_FOUND",
                vec!["The customer token does not exist".to_owned()],
                correlation_id,
            ),
            Some(TokenStatus::Cancelled) => Answer::error(
                403,
                "TOKEN_CANCELLED",
                vec!["The customer token has been cancelled by the merchant".to_owned()],
                correlation_id,
            ),
            Some(TokenStatus::Suspended) => Answer::error(
                403,
                "TOKEN_SUSPENDED",
                vec!["The customer token has been suspended".to_owned()],
                correlation_id,
            ),
            Some(TokenStatus::Active) => match order {
                Err(message) => Answer::error(400, "BAD_VALUE", vec![message], correlation_id),
                Ok(order) => match order.validate() {
                    Err(violations) => Answer::error(
                        400,
                        "BAD_VALUE",
                        violations.iter().map(ToString::to_string).collect(),
                        correlation_id,
                    ),
                    Ok(()) => {
                        let order_id = uuid::Uuid::new_v4().to_string();
                        let payment_type = state
                            .tokens
                            .get(token_id)
                            .map(|t| authorized_type(t.payment_method_type.as_str()))
                            .unwrap_or("invoice");
                        match CustomerToken::new(token_id) {
                            Ok(token) => {
                                let cap = state.retention.orders;
                                while state.orders.len() >= cap && !state.orders.is_empty() {
                                    state.orders.pop_front();
                                }
                                if cap > 0 {
                                    state.orders.push_back(StoredOrder {
                                        order_id: order_id.clone(),
                                        token,
                                        idempotency_key: key.as_ref().map(|(_, k)| k.clone()),
                                        order,
                                        created_at: now,
                                    });
                                }
                                Answer::json(
                                    200,
                                    &json!({
                                        "order_id": order_id,
                                        "fraud_status": "ACCEPTED",
                                        "redirect_url": format!("https://sandbox.invalid/v1/orders/{order_id}/redirect"),
                                        "authorized_payment_method": { "type": payment_type },
                                    }),
                                )
                            }
                            Err(_) => Answer::error(
                                404,
                                "TOKEN_NOT_FOUND",
                                vec!["The customer token does not exist".to_owned()],
                                correlation_id,
                            ),
                        }
                    }
                },
            },
            Some(TokenStatus::Unknown(status)) => Answer::error(
                403,
                "TOKEN_FORBIDDEN",
                vec![format!("The customer token is {status}")],
                correlation_id,
            ),
        };
        if let Some((mut guard, _)) = key {
            // 5xx answers are never remembered; none is produced here, but
            // the rule holds whatever this code becomes.
            if answer.status < 500 {
                state.remember(guard.id, body, answer.clone(), now);
            } else {
                state.keys.remove(&guard.id);
            }
            if let Some(sender) = guard.sender.take() {
                let _ = sender.send(true);
            }
        }
        answer
    }
}

/// The authorized payment method type Klarna reports for a token's
/// payment method type.
fn authorized_type(payment_method_type: &str) -> &'static str {
    match payment_method_type {
        "CARD" => "card",
        "DIRECT_DEBIT" => "direct_debit",
        _ => "invoice",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(keys: usize) -> std::sync::Arc<Shared> {
        std::sync::Arc::new(Shared::new(
            Config {
                rate_limit: None,
                rate_window: Duration::from_secs(1),
                retention: Retention {
                    keys,
                    requests: 10,
                    orders: 10,
                },
                body_read_timeout: Duration::from_secs(1),
                admin: None,
            },
            SandboxClock::new(None),
            Vec::new(),
        ))
    }

    /// Answers a key through the same steps as a create-order request.
    fn answer_key(shared: &std::sync::Arc<Shared>, id: KeyId, body: Digest) -> Answer {
        match shared.begin_key(id, body) {
            KeyStart::Fresh(guard) => shared.create_order(
                "no-such-token",
                Err("unused".to_owned()),
                body,
                Some((guard, IdempotencyKey::random())),
                "corr",
            ),
            KeyStart::Replay(answer) => answer,
            KeyStart::Mismatch => panic!("mismatch"),
            KeyStart::Wait(_) => panic!("in flight"),
        }
    }

    #[test]
    fn an_entry_holds_two_digests_an_answer_and_a_time() {
        // The whole entry, inline: no body, no parsed value.
        assert!(
            std::mem::size_of::<KeyEntry>() <= 128,
            "{} bytes",
            std::mem::size_of::<KeyEntry>()
        );
        assert_eq!(std::mem::size_of::<KeyId>(), 32);
        let shared = shared(100);
        let answer = answer_key(&shared, [1; 32], [2; 32]);
        assert_eq!(answer.status, 404);
        let entries = shared.key_entries();
        assert_eq!(entries.len(), 1);
        let (id, body, stored) = &entries[0];
        assert_eq!((id, body), (&[1; 32], &[2; 32]));
        assert_eq!(stored, &answer);
        // Its one heap part is the answer body: a few hundred bytes.
        assert!(stored.body.len() < 256, "{} bytes", stored.body.len());
    }

    #[test]
    fn past_the_cap_the_oldest_answered_keys_go_first() {
        let shared = shared(3);
        for i in 0..10u8 {
            answer_key(&shared, [i; 32], [0; 32]);
            assert!(shared.key_count() <= 3);
        }
        let mut kept: Vec<u8> = shared
            .key_entries()
            .iter()
            .map(|(id, _, _)| id[0])
            .collect();
        kept.sort_unstable();
        assert_eq!(kept, [7, 8, 9]);
        // The expiry order stays exact when a kept key is answered again
        // after its window.
        shared.clock.advance(KEY_WINDOW);
        answer_key(&shared, [8; 32], [0; 32]);
        assert_eq!(shared.key_count(), 1);
        assert_eq!(shared.lock().key_order.len(), 1);
    }

    #[test]
    fn an_error_answer_lists_at_most_4_kib_of_messages() {
        let messages: Vec<String> = (0..3000).map(|i| format!("line {i}: wrong")).collect();
        let answer = Answer::error(400, "BAD_VALUE", messages, "corr");
        assert!(
            answer.body.len() < MAX_ERROR_TEXT + 512,
            "{}",
            answer.body.len()
        );
        let body: Value = serde_json::from_slice(&answer.body).expect("json");
        let listed = body["error_messages"].as_array().expect("messages");
        assert_eq!(listed[0], "line 0: wrong");
        let last = listed.last().and_then(Value::as_str).expect("a note");
        let kept = listed.len() - 1;
        assert!(
            last.starts_with(&format!("... and {} more", 3000 - kept)),
            "{last}"
        );
        // One message too long on its own is cut.
        let long = Answer::error(400, "BAD_VALUE", vec!["é".repeat(5000)], "corr");
        assert!(
            long.body.len() < MAX_ERROR_TEXT + 512,
            "{}",
            long.body.len()
        );
        let body: Value = serde_json::from_slice(&long.body).expect("json");
        let listed = body["error_messages"].as_array().expect("messages");
        assert_eq!(listed.len(), 2);
        assert!(listed[0].as_str().is_some_and(|m| m.ends_with("...")));
        assert!(listed[1].as_str().is_some_and(|m| m.starts_with("(cut: ")));
        // Few messages are listed as they are.
        let few = Answer::error(400, "BAD_VALUE", vec!["a".into(), "b".into()], "corr");
        let body: Value = serde_json::from_slice(&few.body).expect("json");
        assert_eq!(body["error_messages"], json!(["a", "b"]));
    }

    #[test]
    fn the_store_counts_its_answer_bytes_and_expires_past_the_budget() {
        let shared = shared(usize::MAX);
        let big = Answer {
            body: Bytes::from(vec![b'x'; 1024 * 1024]),
            ..Answer::empty(400)
        };
        let mut state = shared.lock();
        for i in 0..100u64 {
            let mut id = [0u8; 32];
            id[..8].copy_from_slice(&i.to_be_bytes());
            state.remember(id, [0; 32], big.clone(), Duration::ZERO);
            assert!(state.answer_bytes <= MAX_STORED_ANSWER_BYTES);
        }
        assert!(state.keys.len() < 100);
        assert_eq!(state.keys.len(), state.key_order.len());
        let counted: usize = state
            .keys
            .values()
            .map(|e| match e {
                KeyEntry::Done { answer, .. } => cost(answer),
                KeyEntry::InFlight { .. } => 0,
            })
            .sum();
        assert_eq!(counted, state.answer_bytes);
    }

    #[test]
    fn a_cap_of_zero_remembers_nothing() {
        let shared = shared(0);
        let first = answer_key(&shared, [1; 32], [2; 32]);
        assert_eq!(shared.key_count(), 0);
        let second = answer_key(&shared, [1; 32], [3; 32]);
        assert_eq!(first.status, second.status, "processed afresh, no mismatch");
    }

    #[test]
    fn the_clock_saturates() {
        let clock = SandboxClock::new(None);
        clock.advance(Duration::MAX);
        clock.advance(Duration::MAX);
        assert_eq!(clock.now(), Duration::MAX);
        let shared = shared(10);
        shared.clock.advance(Duration::MAX);
        shared.set_rate_limit(Some(1));
        let info = shared.check_rate().expect("limited");
        assert!(info.allowed);
        answer_key(&shared, [1; 32], [2; 32]);
        assert_eq!(shared.key_count(), 1);
    }
}
