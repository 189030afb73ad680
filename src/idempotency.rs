//! Idempotency keys for create-order.

use std::fmt;

use crate::violation::ValidationErrors;

/// The longest key accepted, in characters.
const MAX_KEY_LEN: usize = 255;

/// The name, within a caller's namespace, of the namespace of charge-attempt
/// keys; it keeps them apart from [`IdempotencyKey::derive`]'s.
const CHARGE_NAMESPACE: &str = "klarna-customer-token/charge-attempt";

/// The `Klarna-Idempotency-Key` of a create-order call.
///
/// Klarna answers a repeat of a request carrying the same key, within 24
/// hours, with the original result instead of creating a second order. Every
/// create-order call carries one: a random UUID v4 unless the caller gives
/// its own, and it is the same on every retry of the call.
///
/// # Deterministic keys for billing runs
///
/// [`derive`](Self::derive) makes the key a pure function of what is being
/// charged, so that a billing job that crashed half-way can be run again and
/// charges nobody twice:
///
/// ```
/// use klarna_customer_token::IdempotencyKey;
///
/// let key = IdempotencyKey::derive("acme-billing", "subscription-42/2026-11");
/// // The same inputs give the same key, in any process, on any machine.
/// assert_eq!(key, IdempotencyKey::derive("acme-billing", "subscription-42/2026-11"));
/// assert_ne!(key, IdempotencyKey::derive("acme-billing", "subscription-42/2026-12"));
/// ```
///
/// **Warning:** Klarna keeps a key for 24 hours only. Reusing a derived key
/// after that window does not replay the first order: it creates a second
/// charge. Put the billing period in the name, and re-run a failed job within
/// 24 hours.
///
/// With the `serde` feature it serializes as its string form and is checked
/// again when deserialized.
///
/// For recurring charges prefer [`for_charge`](Self::for_charge), which puts
/// the attempt number in the key as Klarna's subscription guide asks.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdempotencyKey(String);

/// A UUID's hyphenated lowercase text (what `to_string` gives), written in
/// one exact allocation rather than through the formatting machinery.
fn hyphenated(uuid: uuid::Uuid) -> String {
    uuid.hyphenated()
        .encode_lower(&mut uuid::Uuid::encode_buffer())
        .to_owned()
}

impl IdempotencyKey {
    /// A fresh random key (UUID v4): 16 bytes from the operating system's
    /// generator, drawn for this key alone.
    ///
    /// # Errors
    /// [`RandomKeyError`] when the operating system's generator fails
    /// (rare: a sandboxed process denied the system call, or, on an old
    /// kernel, no file descriptor left to open `/dev/urandom`). It converts
    /// into [`Error::Config`](crate::Error::Config).
    ///
    /// ```
    /// use klarna_customer_token::IdempotencyKey;
    /// # fn main() -> Result<(), klarna_customer_token::Error> {
    /// let key = IdempotencyKey::random()?;
    /// assert_ne!(key, IdempotencyKey::random()?);
    /// # Ok(()) }
    /// ```
    pub fn random() -> Result<Self, RandomKeyError> {
        Self::random_from(getrandom::fill)
    }

    /// A random key from the bytes `fill` draws. One draw per key, no pool:
    /// nothing a fork, a snapshot restore or a cloned process copies can
    /// make two keys alike. `uuid`'s own `new_v4` panics when the generator
    /// fails, hence the bytes are drawn here.
    fn random_from(
        fill: impl FnOnce(&mut [u8]) -> Result<(), getrandom::Error>,
    ) -> Result<Self, RandomKeyError> {
        let mut bytes = [0u8; 16];
        fill(&mut bytes).map_err(|e| RandomKeyError {
            reason: e.to_string(),
        })?;
        Ok(Self(hyphenated(
            uuid::Builder::from_random_bytes(bytes).into_uuid(),
        )))
    }

    /// A deterministic key (UUID v5): the UUID v5 of `name` in the namespace
    /// that is itself the UUID v5 of `namespace` in the URL namespace.
    pub fn derive(namespace: impl AsRef<str>, name: impl AsRef<str>) -> Self {
        let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, namespace.as_ref().as_bytes());
        Self(hyphenated(uuid::Uuid::new_v5(
            &ns,
            name.as_ref().as_bytes(),
        )))
    }

    /// The key of one attempt at one charge: the UUID v5 of `charge_id` and
    /// `attempt`, in a namespace derived from `namespace`.
    ///
    /// Klarna's subscription guide asks for a **new key per charge attempt**
    /// and the **same key to reconcile** one:
    ///
    /// - **Reconcile** (the outcome was
    ///   [`MayHaveBeenCreated`](crate::OrderOutcome::MayHaveBeenCreated) or
    ///   [`Created`](crate::OrderOutcome::Created)): send the same order
    ///   again with the **same attempt number**, hence the same key, within 24
    ///   hours. Klarna returns the order if it exists, or creates it once.
    /// - **Try again** after a declined `PAYMENT_METHOD_FAILED`: use the
    ///   **next attempt number**. Reusing the key of a declined attempt only
    ///   replays the stored decline. A call's outcome
    ///   [`NotCreated`](crate::OrderOutcome::NotCreated) alone is not
    ///   enough: it speaks of that call, and an earlier call with the same
    ///   key may still have created the order.
    ///   [`charge::Charge`](crate::charge::Charge) keeps the whole history
    ///   and says when a new attempt is safe.
    ///
    /// Klarna keeps a key for **24 hours**: an attempt reconciled later than
    /// that is charged again. Keep the attempt number of each charge in your
    /// own storage, next to the charge, before the call is sent.
    ///
    /// The encoding is unambiguous: the name hashed is
    /// `<byte length of charge_id>:<charge_id>:<attempt>`, in the namespace
    /// that is the UUID v5 of `klarna-customer-token/charge-attempt` in the
    /// namespace of [`derive`](Self::derive). No two different triples share
    /// a name, and no key made here equals a key made by `derive`. The
    /// derivation is pinned by a test: it never changes between releases.
    ///
    /// ```
    /// use klarna_customer_token::IdempotencyKey;
    ///
    /// let first = IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-11", 1);
    /// assert_eq!(first.as_str(), "c6b024c1-062f-5389-a820-909608a305cc");
    /// // Reconciling attempt 1 uses the same key; a new attempt gets a new one.
    /// assert_eq!(first, IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-11", 1));
    /// assert_ne!(first, IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-11", 2));
    /// ```
    pub fn for_charge(
        namespace: impl AsRef<str>,
        charge_id: impl AsRef<str>,
        attempt: u32,
    ) -> Self {
        let ns = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, namespace.as_ref().as_bytes());
        let ns = uuid::Uuid::new_v5(&ns, CHARGE_NAMESPACE.as_bytes());
        let charge_id = charge_id.as_ref();
        let name = format!("{}:{charge_id}:{attempt}", charge_id.len());
        Self(hyphenated(uuid::Uuid::new_v5(&ns, name.as_bytes())))
    }

    /// A key the caller chose.
    ///
    /// # Errors
    /// [`InvalidIdempotencyKey`] unless the key is 1 to 255 visible ASCII
    /// characters, as an HTTP header value must be. It converts into
    /// [`Error::Validation`](crate::Error::Validation) at path
    /// `idempotency_key`.
    ///
    /// ```
    /// use klarna_customer_token::IdempotencyKey;
    /// let err = IdempotencyKey::new("two words").unwrap_err();
    /// assert_eq!(err.to_string(), "invalid idempotency key: must hold only visible ASCII characters");
    /// ```
    pub fn new(key: impl Into<String>) -> Result<Self, InvalidIdempotencyKey> {
        let key = key.into();
        if key.is_empty() || key.len() > MAX_KEY_LEN {
            return Err(InvalidIdempotencyKey(Problem::Length));
        }
        if !key.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(InvalidIdempotencyKey(Problem::Characters));
        }
        Ok(Self(key))
    }

    /// The key as sent in the header.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdempotencyKey({})", self.0)
    }
}

impl fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The operating system's random generator failed, so no random
/// idempotency key could be made; nothing was sent. Its `Display` says why.
/// It converts into [`Error::Config`](crate::Error::Config), which
/// [`next_step`](crate::Error::next_step) answers with
/// [`FixConfiguration`](crate::NextStep::FixConfiguration): the system the
/// client runs on needs a look.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RandomKeyError {
    reason: String,
}

impl fmt::Display for RandomKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "no random idempotency key could be made: the operating system's random generator failed ({})",
            self.reason
        )
    }
}

impl std::error::Error for RandomKeyError {}

/// Why a caller's idempotency key was refused. Its `Display` never repeats
/// the key. It converts into [`Error::Validation`](crate::Error::Validation)
/// at path `idempotency_key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidIdempotencyKey(Problem);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Problem {
    Length,
    Characters,
}

impl InvalidIdempotencyKey {
    /// What is wrong with the key, in words.
    pub fn message(&self) -> String {
        match self.0 {
            Problem::Length => format!("must be 1 to {MAX_KEY_LEN} characters"),
            Problem::Characters => "must hold only visible ASCII characters".to_owned(),
        }
    }

    /// The violation at path `idempotency_key`.
    pub(crate) fn to_violations(&self) -> ValidationErrors {
        ValidationErrors::single("idempotency_key", self.message())
    }
}

impl fmt::Display for InvalidIdempotencyKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid idempotency key: {}", self.message())
    }
}

impl std::error::Error for InvalidIdempotencyKey {}

impl std::str::FromStr for IdempotencyKey {
    type Err = InvalidIdempotencyKey;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_keys_are_distinct_rfc_v4_uuids_across_threads() {
        let keys: Vec<IdempotencyKey> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        (0..2000)
                            .map(|_| IdempotencyKey::random().unwrap())
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .flat_map(|h| h.join().unwrap())
                .collect()
        });
        let distinct: std::collections::HashSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), keys.len());
        for key in &keys {
            let parsed = uuid::Uuid::parse_str(key.as_str()).unwrap();
            assert_eq!(parsed.get_version_num(), 4);
            assert_eq!(parsed.get_variant(), uuid::Variant::RFC4122);
            // Written as the hyphenated lowercase form.
            assert_eq!(key.as_str(), parsed.hyphenated().to_string());
        }
    }

    #[test]
    fn a_generator_failure_is_an_error_not_a_panic() {
        let e = IdempotencyKey::random_from(|_| Err(getrandom::Error::UNSUPPORTED)).unwrap_err();
        let shown = e.to_string();
        assert!(shown.contains("random generator failed"), "{shown}");
        let e = crate::Error::from(e);
        assert!(matches!(e, crate::Error::Config(_)), "{e:?}");
        assert_eq!(e.next_step(), crate::NextStep::FixConfiguration);
        // The bytes drawn are the key's, with the version and variant set.
        let key = IdempotencyKey::random_from(|b| {
            b.fill(0xff);
            Ok(())
        })
        .unwrap();
        assert_eq!(key.as_str(), "ffffffff-ffff-4fff-bfff-ffffffffffff");
    }

    #[test]
    fn derived_keys_are_stable_uuid_v5() {
        let k = IdempotencyKey::derive("acme-billing", "subscription-42/2026-11");
        let parsed = uuid::Uuid::parse_str(k.as_str()).unwrap();
        assert_eq!(parsed.get_version_num(), 5);
        // Pinned (computed independently with Python's uuid module) so that a
        // change of derivation is caught: keys must stay the same across
        // releases, or a re-run after an upgrade would charge twice.
        assert_eq!(k.as_str(), "212e4d7d-ced4-5691-b9f9-8d09c5370a73");
    }

    #[test]
    fn charge_keys_are_pinned_and_unambiguous() {
        let k = IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-11", 1);
        assert_eq!(
            uuid::Uuid::parse_str(k.as_str()).unwrap().get_version_num(),
            5
        );
        // Pinned (computed independently with Python's uuid module): a change
        // of derivation would make a re-run after an upgrade charge twice.
        assert_eq!(k.as_str(), "c6b024c1-062f-5389-a820-909608a305cc");
        // Triples that a naive `charge_id:attempt` join would confuse.
        let pairs = [
            (("ns", "a:1", 2), ("ns", "a", 12)),
            (("ns", "a:1", 2), ("ns", "a:12", 2)),
            (("ns", "a", 1), ("ns:a", "", 1)),
            (("n", "s", 1), ("ns", "", 1)),
        ];
        for (a, b) in pairs {
            assert_ne!(
                IdempotencyKey::for_charge(a.0, a.1, a.2),
                IdempotencyKey::for_charge(b.0, b.1, b.2),
                "{a:?} {b:?}"
            );
        }
        // Never the key `derive` makes from the same strings.
        assert_ne!(
            IdempotencyKey::for_charge("ns", "c", 1),
            IdempotencyKey::derive("ns", "1:c:1")
        );
        assert_ne!(
            IdempotencyKey::for_charge("acme", "c", u32::MAX),
            IdempotencyKey::for_charge("acme", "c", 0)
        );
    }

    #[test]
    fn keys_order_as_their_strings() {
        let mut keys = [
            IdempotencyKey::new("b").unwrap(),
            IdempotencyKey::new("a").unwrap(),
        ];
        keys.sort();
        assert_eq!(keys[0].as_str(), "a");
    }

    #[test]
    fn caller_keys_are_checked() {
        assert!(IdempotencyKey::new("order-42").is_ok());
        assert!(IdempotencyKey::new("").is_err());
        assert!(IdempotencyKey::new("a b").is_err());
        assert!(IdempotencyKey::new("a\nb").is_err());
        assert!(IdempotencyKey::new("é").is_err());
        assert!(IdempotencyKey::new("k".repeat(256)).is_err());
    }
}
