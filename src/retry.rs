//! When and how a call is tried again.
//!
//! Classification is a set of pure functions so that the table of what is
//! retried can be tested on its own.

use std::time::Duration;

/// How a call is retried.
///
/// The defaults: 2 retries (3 attempts), exponential backoff from 250 ms with
/// full jitter, capped at 5 s, and a 90 s deadline covering every attempt and
/// every wait.
///
/// A wait the server asks for is honoured only on a **429 or a 503**: there
/// the wait is the longer of `Retry-After` and `X-Ratelimit-Reset` (and at
/// least the backoff). Both are read as delta-seconds (`120`, `1.5`) or as
/// an HTTP-date (`Wed, 21 Oct 2026 07:28:00 GMT`, measured against the
/// system clock; a date in the past asks for no wait); negative or
/// unreadable values are ignored. A wait of up to 60 s is honoured; when it
/// would overrun the deadline, is longer than 60 s, or is too long to
/// represent at all, the call fails at once and
/// [`Error::retry_after`](crate::Error::retry_after) carries the wait that
/// was asked for (saturated at [`Duration::MAX`]). On every other answer
/// both headers are ignored: Klarna sends `X-Ratelimit-Reset` on every
/// response, and it is not a request to wait.
///
/// Create-order is safe to retry because every attempt of a call carries the
/// same `Klarna-Idempotency-Key` (made when the call is made, or yours) and
/// the same body bytes; read and cancel are idempotent by nature.
///
/// | retried | not retried |
/// |---|---|
/// | connection failures and timeouts | every other 4xx, including 409 |
/// | 408, 429, 500, 502, 503, 504 | 501 |
/// | any other 5xx whose body is not JSON (a gateway's page) | any other 5xx with a JSON body |
///
/// No retry is sent with less than a floor of the deadline left after its
/// wait: the shortest of 1 s (a TLS handshake with Klarna and its answer,
/// across continents), the attempt timeout and a tenth of the deadline. An
/// attempt sent with less would most likely time out after it was sent and
/// turn a clean answer into "may have been created"; the call fails instead
/// with the answer it has, its outcome worked out over the attempts already
/// made. The first attempt is always sent; a turn of the client's
/// [`rate_limit`](crate::ClientBuilder::rate_limit) must come with the floor
/// left.
///
/// `PAYMENT_METHOD_FAILED` ("the purchase was declined, it may be tried
/// again") is never retried automatically: whether and when to charge a
/// declined customer again is a business decision
/// ([`charge::Next::NewAttempt`](crate::charge::Next::NewAttempt)).
/// `RetryPolicy::none()` means one attempt and nothing hidden: the HTTP
/// stack's own retries are off too (hyper may resend a request on a pooled
/// connection that turned out to be closed before any byte of it was
/// written; such a request never reached Klarna).
///
/// Each call is a `tracing` span (`klarna.call`: operation, redacted token,
/// idempotency key, attempts, status, correlation id, elapsed time) with a
/// span per attempt (`klarna.attempt`); neither holds a credential or a full
/// token.
///
/// ```
/// use std::time::Duration;
/// use klarna_customer_token::RetryPolicy;
///
/// let patient = RetryPolicy::default()
///     .with_max_retries(5)
///     .with_deadline(Duration::from_secs(300));
/// assert_eq!(patient.max_retries(), 5);
/// let once = RetryPolicy::none();
/// assert_eq!(once.max_retries(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    deadline: Duration,
}

/// The longest server-requested wait that is honoured.
pub(crate) const MAX_SERVER_WAIT: Duration = Duration::from_secs(60);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(5),
            deadline: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// One attempt and nothing hidden: no retry of any kind.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }
    /// How many times a failed attempt is retried (attempts = retries + 1).
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }
    /// The first backoff's upper bound; each later one doubles it.
    pub fn with_initial_backoff(mut self, backoff: Duration) -> Self {
        self.initial_backoff = backoff;
        self
    }
    /// The cap on any one backoff.
    pub fn with_max_backoff(mut self, backoff: Duration) -> Self {
        self.max_backoff = backoff;
        self
    }
    /// The overall deadline, covering every attempt and every wait.
    pub fn with_deadline(mut self, deadline: Duration) -> Self {
        self.deadline = deadline;
        self
    }
    /// How many times a failed attempt is retried.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }
    /// The overall deadline.
    pub fn deadline(&self) -> Duration {
        self.deadline
    }

    /// The wait before retry number `retry` (1-based), `spent` into the
    /// call: the backoff, or the longer wait the server `asked` for. `None`
    /// when the call stops instead: the server asked for more than
    /// [`MAX_SERVER_WAIT`], or the wait would end past the deadline.
    pub(crate) fn next_wait(
        &self,
        retry: u32,
        asked: Option<Duration>,
        spent: Duration,
    ) -> Option<Duration> {
        let backoff = self.backoff(retry, |max| fastrand::u64(0..=max));
        let wait = match asked {
            Some(asked) if asked > MAX_SERVER_WAIT => return None,
            Some(asked) => asked.max(backoff),
            None => backoff,
        };
        (spent.saturating_add(wait) < self.deadline).then_some(wait)
    }

    /// The backoff before retry number `retry` (1-based): a uniformly random
    /// duration between zero and `min(max_backoff, initial_backoff × 2^(retry−1))`.
    pub(crate) fn backoff(&self, retry: u32, random: impl FnOnce(u64) -> u64) -> Duration {
        let ceiling = backoff_ceiling(self.initial_backoff, self.max_backoff, retry);
        let millis = u64::try_from(ceiling.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random(millis))
    }
}

fn backoff_ceiling(initial: Duration, cap: Duration, retry: u32) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    initial.checked_mul(factor).unwrap_or(cap).min(cap)
}

/// How an attempt ended, as far as retrying is concerned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// The connection failed or no complete answer came in time.
    Transport,
    /// An answer with this status; `json_body` tells whether its body was a
    /// JSON document (a gateway's error page is not).
    Response { status: u16, json_body: bool },
}

/// Whether an attempt that ended this way is worth trying again.
pub(crate) fn is_retryable(attempt: Attempt) -> bool {
    match attempt {
        Attempt::Transport => true,
        Attempt::Response { status, json_body } => status_is_retryable(status, json_body),
    }
}

/// The status table: 408, 429, 500, 502, 503 and 504 are retried; 501 is
/// not; any other 5xx is retried only when its body is not JSON (a gateway's
/// page rather than Klarna's answer); every other status is final.
pub(crate) fn status_is_retryable(status: u16, json_body: bool) -> bool {
    match status {
        408 | 429 | 500 | 502 | 503 | 504 => true,
        501 => false,
        500..=599 => !json_body,
        _ => false,
    }
}

/// Whether an answer with this status may ask for a wait: only a 429 (rate
/// limited) or a 503 (unavailable) does.
pub(crate) fn status_asks_for_wait(status: u16) -> bool {
    matches!(status, 429 | 503)
}

/// Parses a wait from `Retry-After` or `X-Ratelimit-Reset`: delta-seconds
/// (whole, fractional or with an exponent; a value too large for a
/// `Duration` saturates at [`Duration::MAX`]) or an HTTP-date (IMF-fixdate,
/// and the obsolete RFC 850 and asctime forms), measured from `now`. A date
/// in the past, a negative number and anything else are ignored.
pub(crate) fn parse_wait(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let value = value.trim();
    if is_decimal(value) {
        let seconds: f64 = value.parse().ok()?;
        // The grammar leaves only non-negative numbers; an infinite one (too
        // many digits) or one past `Duration::MAX` saturates.
        return Some(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    date.duration_since(now).ok()
}

/// `digits [. digits] [(e|E) [+|-] digits]`: a non-negative decimal number,
/// without `inf`, `NaN` or a sign.
fn is_decimal(value: &str) -> bool {
    fn digits(s: &str) -> (&str, bool) {
        let end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        (&s[end..], end > 0)
    }
    let (rest, whole) = digits(value);
    if !whole {
        return false;
    }
    let rest = match rest.strip_prefix('.') {
        Some(fraction) => match digits(fraction) {
            (rest, true) => rest,
            _ => return false,
        },
        None => rest,
    };
    match rest.strip_prefix(['e', 'E']) {
        Some(exponent) => {
            let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            matches!(digits(exponent), ("", true))
        }
        None => rest.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_table() {
        let json = |status| Attempt::Response {
            status,
            json_body: true,
        };
        let page = |status| Attempt::Response {
            status,
            json_body: false,
        };
        let table: &[(Attempt, bool)] = &[
            (Attempt::Transport, true),
            (json(408), true),
            (json(429), true),
            (page(429), true),
            (json(500), true),
            (json(502), true),
            (page(502), true),
            (json(503), true),
            (json(504), true),
            (json(501), false),
            (page(501), false),
            (page(505), true),
            (page(599), true),
            (json(505), false),
            (json(507), false),
            (json(400), false),
            (json(401), false),
            (page(401), false),
            (json(403), false),
            (json(404), false),
            (json(409), false),
            (json(422), false),
            (json(200), false),
            (json(302), false),
        ];
        for (attempt, expected) in table {
            assert_eq!(is_retryable(*attempt), *expected, "{attempt:?}");
        }
    }

    #[test]
    fn backoff_is_full_jitter_under_an_exponential_capped_ceiling() {
        let policy = RetryPolicy::default();
        // The random source receives the ceiling in milliseconds.
        let ceiling = |retry| policy.backoff(retry, |max| max).as_millis();
        assert_eq!(ceiling(1), 250);
        assert_eq!(ceiling(2), 500);
        assert_eq!(ceiling(3), 1000);
        assert_eq!(ceiling(5), 4000);
        assert_eq!(ceiling(6), 5000);
        assert_eq!(ceiling(40), 5000);
        assert_eq!(policy.backoff(3, |_| 0), Duration::ZERO);
    }

    #[test]
    fn wait_table() {
        use std::time::{SystemTime, UNIX_EPOCH};
        // Wed, 21 Oct 2015 07:28:00 GMT
        let now = UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let secs = |s| Some(Duration::from_secs(s));
        let table: &[(&str, Option<Duration>)] = &[
            ("3", secs(3)),
            (" 1.5 ", Some(Duration::from_millis(1500))),
            ("0", secs(0)),
            ("120", secs(120)),
            ("1e2", secs(100)),
            ("1E+1", secs(10)),
            ("2.5e-1", Some(Duration::from_millis(250))),
            ("1e12", secs(1_000_000_000_000)),
            // Too large for a Duration: saturated, so that it fails at once.
            ("18446744073709551616", Some(Duration::MAX)),
            ("1e20", Some(Duration::MAX)),
            ("1e400", Some(Duration::MAX)),
            (&"9".repeat(400), Some(Duration::MAX)),
            // Negative or garbage: ignored.
            ("-1", None),
            ("-0", None),
            ("+5", None),
            ("NaN", None),
            ("inf", None),
            ("infinity", None),
            ("", None),
            ("1.", None),
            (".5", None),
            ("1e", None),
            ("5s", None),
            ("0x10", None),
            ("soon", None),
            // HTTP-dates, from `now`.
            ("Wed, 21 Oct 2015 07:28:30 GMT", secs(30)),
            ("Wed, 21 Oct 2015 07:29:00 GMT", secs(60)),
            ("Wednesday, 21-Oct-15 07:28:05 GMT", secs(5)),
            ("Wed Oct 21 07:28:07 2015", secs(7)),
            ("Thu, 22 Oct 2015 07:28:00 GMT", secs(86_400)),
            ("Wed, 21 Oct 2015 07:28:00 GMT", secs(0)),
            // In the past: no wait asked.
            ("Wed, 21 Oct 2015 07:27:59 GMT", None),
            ("Tue, 20 Oct 2015 07:28:00 GMT", None),
            // Not a date.
            ("Wed, 32 Oct 2015 07:28:00 GMT", None),
            ("Wed, 21 Oct 2015 07:28:00", None),
        ];
        for (value, expected) in table {
            assert_eq!(parse_wait(value, now), *expected, "{value:?}");
        }
        // A far-future date is a wait, not an error.
        assert!(parse_wait("Fri, 31 Dec 9999 23:59:59 GMT", SystemTime::now()).is_some());
    }

    #[test]
    fn only_429_and_503_ask_for_a_wait() {
        for status in 100..600 {
            assert_eq!(
                status_asks_for_wait(status),
                status == 429 || status == 503,
                "{status}"
            );
        }
    }
}
