//! What a billing system should do after a failed call: the one table.

use std::time::Duration;

use crate::enums::ErrorCode;
use crate::error::Error;
use crate::outcome::OrderOutcome;

/// What to do after **one** failed call, from [`Error::next_step`].
///
/// It speaks of that call only. Whether a charge may be tried with a
/// **new** idempotency key is a question about the charge's whole history
/// (an earlier call with the same key may have created the order even when
/// this one was refused): feed every intent and answer to a
/// [`charge::Charge`](crate::charge::Charge) and follow its
/// [`next`](crate::charge::Charge::next) for that.
///
/// ```no_run
/// # use klarna_customer_token::*;
/// # async fn charge(client: &Client, token: &CustomerToken, order: &OrderRequest) {
/// let key = IdempotencyKey::for_charge("acme-billing", "subscription-42/2026-11", 1);
/// if let Err(e) = client.create_order(token, order).with_idempotency_key(key).await {
///     match e.next_step() {
///         NextStep::Reconcile => { /* same order, same key, within 24 hours */ }
///         NextStep::RetryLater { after } => { /* not before `after`; which key: see RetryLater */ }
///         NextStep::AskCustomer => { /* ask for a new payment method */ }
///         NextStep::StopCharging => { /* the token is gone */ }
///         NextStep::FixRequest | NextStep::FixConfiguration => { /* a bug on our side */ }
///         _ => { /* a step added by a later version: treat as needing a human */ }
///     }
/// }
/// # }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(tag = "step", rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum NextStep {
    /// The order may exist (or does): send the **same** order with the
    /// **same** idempotency key (the same attempt of
    /// [`IdempotencyKey::for_charge`](crate::IdempotencyKey::for_charge)),
    /// within 24 hours. Klarna returns the order if it exists, or creates it
    /// once. Never charge this again with a new key.
    Reconcile,
    /// This call charged nothing and a later try may succeed (a rate limit,
    /// a decline that Klarna says may be tried again, or for read and cancel
    /// a server failure or a timeout).
    ///
    /// For create-order, which key the later try uses depends on the
    /// answer and on the charge's history, not on this step alone:
    /// - after a refusal before processing (a 429, the client's own rate
    ///   limit, a connection never made), nothing is stored under this
    ///   call's key, so **the same key** may be sent again, provided no
    ///   earlier call with that key may have created the order (then it is
    ///   a reconcile: same key, same body);
    /// - after `403 PAYMENT_METHOD_FAILED`, Klarna stored the decline under
    ///   the key and would only replay it: the later try is a **new**
    ///   attempt with a **new** key, provided no other attempt of the charge
    ///   is still open.
    ///
    /// [`charge::Charge`](crate::charge::Charge) applies both rules.
    RetryLater {
        /// The wait the server asked for, if it asked.
        #[cfg_attr(
            feature = "serde",
            serde(default, with = "crate::serde_impls::opt_millis")
        )]
        after: Option<Duration>,
    },
    /// The payment method cannot be charged (`UNAVAILABLE_PAYMENT_METHOD`,
    /// `PAYMENT_METHOD_CURRENCY_MISMATCH`, `TOKEN_SUSPENDED`): ask the
    /// customer for another one.
    AskCustomer,
    /// The token is gone for good (`TOKEN_CANCELLED`, `TOKEN_NOT_FOUND`):
    /// stop charging it.
    StopCharging,
    /// Our own request was wrong (a validation error, `BAD_VALUE`,
    /// `BAD_REQUEST`, a body too large, or an idempotency key that belongs to
    /// another order): fix it before trying again.
    FixRequest,
    /// The credentials, the merchant account or the endpoint is wrong (a
    /// 401, `TOKEN_FORBIDDEN`, a refused configuration such as a live key on
    /// a playground host): fix the configuration; every charge will fail the
    /// same way until then.
    FixConfiguration,
}

/// How a call failed, as far as the next step is concerned.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Failure<'a> {
    /// Refused before sending.
    Validation,
    /// The client could not be built.
    Config,
    /// A non-2xx answer.
    Api {
        status: u16,
        code: Option<&'a ErrorCode>,
        retry_after: Option<Duration>,
    },
    /// A timeout, a connection failure or an unreadable head.
    Transport,
    /// A 2xx whose body could not be read.
    Undecodable,
    /// The client's own rate limit stopped the next attempt.
    RateLimited { needed: Duration },
}

impl Error {
    /// What to do after this call. See [`NextStep`] for each step.
    ///
    /// A per-call answer: this call's attempts are all it knows. A charge
    /// re-sent after an earlier ambiguous call can end here `RetryLater`
    /// (say, a 429) although the earlier call may have created the order;
    /// [`charge::Charge`](crate::charge::Charge) keeps the whole history.
    ///
    /// `Reconcile` wins whenever [`order_outcome`](Self::order_outcome) is
    /// `MayHaveBeenCreated` or `Created`, with one exception: a 409
    /// `IDEMPOTENCY_KEY_MISMATCH` is `FixRequest`, because the key belongs to
    /// another order, this body was not processed, and sending it again with
    /// that key would fail forever.
    ///
    /// ```
    /// use klarna_customer_token::{CustomerToken, Error, NextStep};
    /// let e = Error::from(CustomerToken::new("../admin").unwrap_err());
    /// assert_eq!(e.next_step(), NextStep::FixRequest);
    /// ```
    pub fn next_step(&self) -> NextStep {
        let failure = match self {
            Self::Validation(_) => Failure::Validation,
            Self::Config(_) => Failure::Config,
            Self::Api(e) => Failure::Api {
                status: e.status,
                code: e.error_code.as_ref(),
                retry_after: e.retry_after,
            },
            Self::Timeout(_) | Self::Connection(_) => Failure::Transport,
            Self::UndecodableResponse(_) => Failure::Undecodable,
            Self::RateLimited(e) => Failure::RateLimited { needed: e.needed },
        };
        next_step(failure, self.order_outcome())
    }
}

/// The table. Where Klarna's documents leave a case open, the safe side is
/// chosen: never `StopCharging` or `AskCustomer` without Klarna's own code
/// saying so (a false one loses a paying customer), never `RetryLater` for a
/// create-order that may have charged, and `FixConfiguration` (a human
/// looks) for answers that do not come from Klarna's API, such as a bare 404
/// or 403 without a code, a redirect, or a 405.
///
/// The operation needs no column of its own: a create-order always has an
/// outcome, and read and cancel (`None`) are safe to repeat.
pub(crate) fn next_step(failure: Failure<'_>, outcome: Option<OrderOutcome>) -> NextStep {
    use ErrorCode as C;
    use NextStep::*;
    if let Failure::Api {
        status: 409,
        code: Some(C::IdempotencyKeyMismatch),
        ..
    } = failure
    {
        return FixRequest;
    }
    if matches!(
        outcome,
        Some(OrderOutcome::MayHaveBeenCreated | OrderOutcome::Created)
    ) {
        return Reconcile;
    }
    // From here on nothing was charged.
    let (status, code, after) = match failure {
        Failure::Validation => return FixRequest,
        Failure::Config => return FixConfiguration,
        // Read and cancel are safe to repeat; a create-order here never
        // connected.
        Failure::Transport | Failure::Undecodable => return RetryLater { after: None },
        Failure::RateLimited { needed } => {
            return RetryLater {
                after: Some(needed),
            };
        }
        Failure::Api {
            status,
            code,
            retry_after,
        } => (status, code, retry_after),
    };
    match code {
        Some(C::TokenCancelled | C::TokenNotFound) => return StopCharging,
        // The read operation may say NOT_FOUND for a missing token; with
        // another status it is not about the token.
        Some(C::NotFound) if status == 404 => return StopCharging,
        Some(
            C::TokenSuspended | C::UnavailablePaymentMethod | C::PaymentMethodCurrencyMismatch,
        ) => {
            return AskCustomer;
        }
        // Klarna says a declined purchase may be tried again.
        Some(C::PaymentMethodFailed | C::TooManyRequests) => return RetryLater { after },
        Some(C::TokenForbidden | C::Unauthorized | C::MethodNotAllowed) => {
            return FixConfiguration;
        }
        Some(C::BadRequest | C::BadValue | C::PayloadTooLarge | C::IdempotencyKeyMismatch) => {
            return FixRequest;
        }
        Some(C::InternalServerError | C::ServiceUnavailable | C::Timeout | C::InternalError) => {
            return RetryLater { after };
        }
        // An unknown code, or none: go by the status.
        _ => {}
    }
    match status {
        400 | 413 | 414 | 422 | 431 => FixRequest,
        408 | 429 | 500..=599 => RetryLater { after },
        // 401, a 403 or 404 without Klarna's code (a gateway's or a proxy's
        // answer, or a wrong path), 405, a redirect, anything else: not
        // proof about the token or the order, and every call would fail
        // alike.
        _ => FixConfiguration,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::Operation;
    use NextStep::*;
    use OrderOutcome::*;

    const READ: Option<Operation> = Some(Operation::ReadToken);
    const CREATE: Option<Operation> = Some(Operation::CreateOrder);
    const CANCEL: Option<Operation> = Some(Operation::CancelToken);
    const WAIT: Option<Duration> = Some(Duration::from_secs(2));

    fn api(status: u16, code: Option<&ErrorCode>) -> Failure<'_> {
        Failure::Api {
            status,
            code,
            retry_after: WAIT,
        }
    }

    fn later() -> NextStep {
        RetryLater { after: WAIT }
    }

    /// The documented status of each code, the outcome the transport gives
    /// a create-order ending with it (NotCreated for 400/401/403/404/429,
    /// otherwise MayHaveBeenCreated), and the expected step for create-order
    /// and for read/cancel.
    fn documented() -> Vec<(&'static str, u16, NextStep, NextStep)> {
        vec![
            ("TOKEN_NOT_FOUND", 404, StopCharging, StopCharging),
            ("NOT_FOUND", 404, StopCharging, StopCharging),
            ("TOKEN_SUSPENDED", 403, AskCustomer, AskCustomer),
            ("TOKEN_CANCELLED", 403, StopCharging, StopCharging),
            ("TOKEN_FORBIDDEN", 403, FixConfiguration, FixConfiguration),
            ("UNAVAILABLE_PAYMENT_METHOD", 403, AskCustomer, AskCustomer),
            (
                "PAYMENT_METHOD_CURRENCY_MISMATCH",
                403,
                AskCustomer,
                AskCustomer,
            ),
            ("PAYMENT_METHOD_FAILED", 403, later(), later()),
            ("BAD_REQUEST", 400, FixRequest, FixRequest),
            ("BAD_VALUE", 400, FixRequest, FixRequest),
            ("INTERNAL_SERVER_ERROR", 500, Reconcile, later()),
            ("SERVICE_UNAVAILABLE", 503, Reconcile, later()),
            ("UNAUTHORIZED", 401, FixConfiguration, FixConfiguration),
            ("TOO_MANY_REQUESTS", 429, later(), later()),
            ("IDEMPOTENCY_KEY_MISMATCH", 409, FixRequest, FixRequest),
            ("METHOD_NOT_ALLOWED", 405, Reconcile, FixConfiguration),
            ("PAYLOAD_TOO_LARGE", 413, Reconcile, FixRequest),
            ("TIMEOUT", 500, Reconcile, later()),
            ("INTERNAL_ERROR", 500, Reconcile, later()),
        ]
    }

    /// The outcome the transport gives a create-order whose only attempt
    /// ended with this status.
    fn outcome_of(status: u16) -> OrderOutcome {
        if matches!(status, 400 | 401 | 403 | 404 | 429) {
            NotCreated
        } else {
            MayHaveBeenCreated
        }
    }

    #[test]
    fn every_documented_code_has_its_step() {
        let rows = documented();
        for known in ErrorCode::KNOWN {
            assert!(
                rows.iter().any(|r| r.0 == *known),
                "{known} has no row in the table"
            );
        }
        for (code, status, create, other) in rows {
            let code = ErrorCode::from(code);
            let got = next_step(api(status, Some(&code)), Some(outcome_of(status)));
            assert_eq!(got, create, "create-order {status} {code}");
            for op in [READ, CANCEL] {
                assert_eq!(
                    next_step(api(status, Some(&code)), None),
                    other,
                    "{op:?} {status} {code}"
                );
            }
            // An earlier ambiguous attempt makes any create-order Reconcile,
            // except a key mismatch.
            let ambiguous = next_step(api(status, Some(&code)), Some(MayHaveBeenCreated));
            let expected = if code == ErrorCode::IdempotencyKeyMismatch {
                FixRequest
            } else {
                Reconcile
            };
            assert_eq!(ambiguous, expected, "ambiguous {status} {code}");
        }
    }

    #[test]
    fn statuses_without_a_code() {
        // (status, create-order step, read/cancel step)
        let rows = [
            (301, Reconcile, FixConfiguration),
            (400, FixRequest, FixRequest),
            (401, FixConfiguration, FixConfiguration),
            (403, FixConfiguration, FixConfiguration),
            (404, FixConfiguration, FixConfiguration),
            (405, Reconcile, FixConfiguration),
            (408, Reconcile, later()),
            (409, Reconcile, FixConfiguration),
            (414, Reconcile, FixRequest),
            (431, Reconcile, FixRequest),
            (413, Reconcile, FixRequest),
            (422, Reconcile, FixRequest),
            (429, later(), later()),
            (500, Reconcile, later()),
            (501, Reconcile, later()),
            (502, Reconcile, later()),
            (503, Reconcile, later()),
            (504, Reconcile, later()),
        ];
        let unknown = ErrorCode::from("SOMETHING_NEW");
        for (status, create, other) in rows {
            for code in [None, Some(&unknown)] {
                assert_eq!(
                    next_step(api(status, code), Some(outcome_of(status))),
                    create,
                    "create-order {status} {code:?}"
                );
                for op in [READ, CANCEL] {
                    assert_eq!(
                        next_step(api(status, code), None),
                        other,
                        "{op:?} {status} {code:?}"
                    );
                }
            }
        }
        // A known code with an unexpected status still decides.
        let not_found = ErrorCode::NotFound;
        assert_eq!(next_step(api(400, Some(&not_found)), None), FixRequest);
    }

    #[test]
    fn failures_without_an_answer() {
        // (operation, failure, outcome, step)
        let rows = [
            (CREATE, Failure::Validation, Some(NotCreated), FixRequest),
            (None, Failure::Validation, None, FixRequest),
            (None, Failure::Config, None, FixConfiguration),
            (
                CREATE,
                Failure::Transport,
                Some(MayHaveBeenCreated),
                Reconcile,
            ),
            (
                CREATE,
                Failure::Transport,
                Some(NotCreated),
                RetryLater { after: None },
            ),
            (READ, Failure::Transport, None, RetryLater { after: None }),
            (CANCEL, Failure::Transport, None, RetryLater { after: None }),
            (CREATE, Failure::Undecodable, Some(Created), Reconcile),
            (
                CREATE,
                Failure::RateLimited {
                    needed: WAIT.unwrap(),
                },
                Some(NotCreated),
                later(),
            ),
            (
                CREATE,
                Failure::RateLimited {
                    needed: WAIT.unwrap(),
                },
                Some(MayHaveBeenCreated),
                Reconcile,
            ),
            (
                READ,
                Failure::RateLimited {
                    needed: WAIT.unwrap(),
                },
                None,
                later(),
            ),
            (READ, Failure::Undecodable, None, RetryLater { after: None }),
            (
                CANCEL,
                Failure::Undecodable,
                None,
                RetryLater { after: None },
            ),
        ];
        for (op, failure, outcome, step) in rows {
            assert_eq!(next_step(failure, outcome), step, "{op:?} {failure:?}");
        }
    }

    /// Over every status, code and outcome: the two rules that protect the
    /// customer's money hold.
    #[test]
    fn no_combination_charges_twice() {
        let mut codes: Vec<Option<ErrorCode>> = ErrorCode::KNOWN
            .iter()
            .map(|c| Some(ErrorCode::from(*c)))
            .collect();
        codes.push(None);
        codes.push(Some(ErrorCode::from("SOMETHING_NEW")));
        for status in 100..600 {
            for code in &codes {
                for outcome in [
                    Some(NotCreated),
                    Some(MayHaveBeenCreated),
                    Some(Created),
                    None,
                ] {
                    let step = next_step(api(status, code.as_ref()), outcome);
                    let mismatch =
                        status == 409 && code.as_ref() == Some(&ErrorCode::IdempotencyKeyMismatch);
                    match outcome {
                        Some(MayHaveBeenCreated | Created) if !mismatch => {
                            assert_eq!(step, Reconcile, "{status} {code:?} {outcome:?}");
                        }
                        _ if mismatch => assert_eq!(step, FixRequest),
                        _ => assert_ne!(step, Reconcile, "{status} {code:?} {outcome:?}"),
                    }
                }
            }
        }
    }
}
