//! The idempotency store: what the sandbox keeps for each key (the digest
//! of the canonical body and the answer, never the body), its 24-hour
//! window and its caps.

use std::time::Duration;

use tokio::sync::watch;

use super::super::answer::Answer;
use super::super::canonical::Digest;
use super::{Shared, State};

/// How long an idempotency key is remembered.
pub(crate) const KEY_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// How many bytes of answers the idempotency store holds at most, each
/// entry counted as its answer body plus [`ENTRY_OVERHEAD`]; past it the
/// oldest keys expire first, as past the key cap. Legitimate answers are a
/// few hundred bytes, so the key cap (100,000) binds first.
pub(crate) const MAX_STORED_ANSWER_BYTES: usize = 64 * 1024 * 1024;

/// What an answered key costs beyond its answer body: the map entry, the
/// expiry-order entry and the allocation.
const ENTRY_OVERHEAD: usize = 256;

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

/// Holds a key in flight. Dropping it without [`State::finish_key`]
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

    /// Remembers the answer to a key that was in flight (5xx answers are
    /// never remembered) and wakes the requests waiting for it.
    pub(super) fn finish_key(
        &mut self,
        mut guard: KeyGuard,
        body: Digest,
        answer: &Answer,
        now: Duration,
    ) {
        // None is produced by create-order processing, but the rule holds
        // whatever that code becomes.
        if answer.status < 500 {
            self.remember(guard.id, body, answer.clone(), now);
        } else {
            self.keys.remove(&guard.id);
        }
        if let Some(sender) = guard.sender.take() {
            let _ = sender.send(true);
        }
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

impl Shared {
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
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::{Config, Retention};
    use super::*;
    use crate::SandboxClock;
    use klarna_customer_token::IdempotencyKey;

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
                loopback: true,
                notify_allow: Vec::new(),
                max_notifications: 1,
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
                Some((guard, IdempotencyKey::random().expect("a random key"))),
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
