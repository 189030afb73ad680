//! The client and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};

use crate::clock::{Clock, TokioClock};
use crate::endpoint::Endpoint;
use crate::error::{ConfigError, Error};
use crate::retry::RetryPolicy;
use crate::transport::Shared;

/// Where the client sends its requests: the last of `endpoint` and
/// `base_url` wins.
#[derive(Clone)]
enum Target {
    Endpoint(Endpoint),
    BaseUrl(String),
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Endpoint(endpoint) => f.debug_tuple("Endpoint").field(endpoint).finish(),
            // `build()` refuses user information and a query, but the
            // builder holds the URL as given until then.
            Self::BaseUrl(url) => f
                .debug_tuple("BaseUrl")
                .field(&crate::transport::redact::shown_url(url))
                .finish(),
        }
    }
}

/// How the client authenticates: the last of `basic_auth` and `api_key`
/// wins.
#[derive(Clone)]
enum Credentials {
    ApiKey(SecretString),
    Basic {
        username: String,
        password: SecretString,
    },
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Self::Basic { .. } => f.write_str("Basic(<redacted>)"),
        }
    }
}

impl Credentials {
    /// The secret strings whose prefix tells the environment of an API key.
    fn key_material(&self) -> [&str; 2] {
        match self {
            Self::ApiKey(key) => [key.expose_secret(), ""],
            Self::Basic { username, password } => [username.as_str(), password.expose_secret()],
        }
    }

    /// The strings a server could echo that give the credentials away: the
    /// password or the API key, the username, and `user:pass` (what the
    /// `Authorization` header carries, base64-encoded).
    fn secret_strings(&self) -> Vec<String> {
        match self {
            Self::ApiKey(key) => vec![key.expose_secret().to_owned()],
            Self::Basic { username, password } => vec![
                format!("{username}:{}", password.expose_secret()),
                password.expose_secret().to_owned(),
                username.clone(),
            ],
        }
    }

    fn header(&self) -> Result<HeaderValue, ConfigError> {
        let value = match self {
            // API keys are sent verbatim, as Klarna documents.
            Self::ApiKey(key) => format!("Basic {}", key.expose_secret()),
            Self::Basic { username, password } => {
                let pair = format!("{username}:{}", password.expose_secret());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
        };
        let mut header = HeaderValue::from_str(&value).map_err(|_| {
            ConfigError::new(
                "the credentials contain characters that cannot be sent in an HTTP header",
            )
        })?;
        header.set_sensitive(true);
        Ok(header)
    }
}

/// A client for the Customer Token API.
///
/// Cheap to clone (clones share one connection pool), `Send` and `Sync`.
/// Its `Debug` output never shows credentials.
///
/// ```no_run
/// use klarna_customer_token::{Client, CustomerToken, Endpoint, Region};
///
/// # async fn run() -> Result<(), klarna_customer_token::Error> {
/// let client = Client::builder()
///     .api_key("klarna_test_api_…")
///     .endpoint(Endpoint::KlarnaPlayground(Region::Europe))
///     .build()?;
/// let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00")?;
/// let details = client.read_token(&token).await?;
/// println!("{:?}", details.status());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    /// The state every call shares; each attempt makes a generated client
    /// of its own on it (see `transport`).
    shared: Arc<Shared>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared().base_url)
            .field("credentials", &"<redacted>")
            .field("attempt_timeout", &self.shared().attempt_timeout)
            .field("retry", &self.shared().retry)
            .finish()
    }
}

impl Client {
    /// Starts configuring a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// What every call of this client shares.
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// The base URL requests go to, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.shared().base_url
    }
}

/// Configures a [`Client`].
///
/// `build()` refuses a missing endpoint or missing credentials, a test API
/// key on a live endpoint or a live key on a playground endpoint, and a
/// plain `http://` URL that is not loopback unless
/// [`allow_insecure_http`](Self::allow_insecure_http) is called.
///
/// # TLS
/// The `rustls` feature (the default) and the `native-tls` feature each
/// provide TLS. When both are on, rustls is used. With neither, only plain
/// HTTP to loopback (or with `allow_insecure_http`) works.
#[derive(Clone)]
#[must_use]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    target: Option<Target>,
    allow_insecure_http: bool,
    connect_timeout: Duration,
    attempt_timeout: Duration,
    max_response_body: usize,
    retry: RetryPolicy,
    proxy: Option<SecretString>,
    root_certificates: Vec<Vec<u8>>,
    user_agent_suffix: Option<String>,
    clock: Option<Arc<dyn Clock>>,
    rate_limit: Option<u32>,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            target: None,
            allow_insecure_http: false,
            connect_timeout: Duration::from_secs(10),
            attempt_timeout: Duration::from_secs(30),
            max_response_body: crate::transport::DEFAULT_MAX_RESPONSE_BODY,
            retry: RetryPolicy::default(),
            proxy: None,
            root_certificates: Vec::new(),
            user_agent_suffix: None,
            clock: None,
            rate_limit: None,
        }
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("target", &self.target)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field("connect_timeout", &self.connect_timeout)
            .field("attempt_timeout", &self.attempt_timeout)
            .field("max_response_body", &self.max_response_body)
            .field("retry", &self.retry)
            .field("proxy", &self.proxy.as_ref().map(|_| "<redacted>"))
            .field("root_certificates", &self.root_certificates.len())
            .field("user_agent_suffix", &self.user_agent_suffix)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl ClientBuilder {
    /// Authenticates with a username and a password (legacy credentials such
    /// as `K123456_abcd12345` and a shared secret), sent as standard HTTP
    /// Basic. Replaces any earlier credentials.
    pub fn basic_auth(mut self, username: impl Into<String>, password: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::Basic {
            username: username.into(),
            password: SecretString::from(password.into()),
        });
        self
    }

    /// Authenticates with an API key (`klarna_test_api_…`,
    /// `klarna_live_api_…`, `kco_test_api_…`, `kco_live_api_…`), sent
    /// verbatim as `Authorization: Basic <key>`, as Klarna documents.
    /// Replaces any earlier credentials.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::ApiKey(SecretString::from(key.into())));
        self
    }

    /// Talks to one of Klarna's or Kustom's hosts. Replaces any earlier
    /// endpoint or base URL.
    pub fn endpoint(mut self, endpoint: Endpoint) -> Self {
        self.target = Some(Target::Endpoint(endpoint));
        self
    }

    /// Talks to any other server, such as a local sandbox or a proxy.
    /// Replaces any earlier endpoint or base URL. A trailing slash is
    /// ignored.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.target = Some(Target::BaseUrl(url.into()));
        self
    }

    /// Allows a plain `http://` base URL that is not loopback. Credentials
    /// then cross the network unencrypted.
    pub fn allow_insecure_http(mut self) -> Self {
        self.allow_insecure_http = true;
        self
    }

    /// How long to wait for a connection (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long one attempt may take, from sending the request to the last
    /// byte of the answer (default 30 s).
    pub fn attempt_timeout(mut self, timeout: Duration) -> Self {
        self.attempt_timeout = timeout;
        self
    }

    /// The most bytes of a response body the client reads (default 1 MiB;
    /// Klarna's answers are a few hundred bytes). The cap is checked while
    /// the body arrives, so no answer makes a call hold more.
    ///
    /// An answer past the cap is judged by its status line: a 2xx becomes
    /// [`Error::UndecodableResponse`] (for create-order the order **was**
    /// created, and it is not retried); any other status becomes the
    /// [`Error::Api`] it would have been, with the body cut at the cap and
    /// [`ApiError::body_truncated`](crate::ApiError::body_truncated) true,
    /// retried or not as that status is.
    ///
    /// ```
    /// # use klarna_customer_token::Client;
    /// let client = Client::builder()
    ///     .api_key("klarna_test_api_dG9wc2VjcmV0")
    ///     .base_url("http://127.0.0.1:8080")
    ///     .max_response_body(64 * 1024)
    ///     .build();
    /// assert!(client.is_ok());
    /// ```
    pub fn max_response_body(mut self, bytes: usize) -> Self {
        self.max_response_body = bytes;
        self
    }

    /// The retry policy of every call (see [`RetryPolicy`] for the
    /// defaults). Calls can override it.
    pub fn retry_policy(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends every request through this HTTP or HTTPS proxy. The URL may
    /// carry proxy credentials; they are never shown.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = Some(SecretString::from(url.into()));
        self
    }

    /// Trusts the certificates of a PEM bundle in addition to the system's
    /// roots.
    pub fn add_root_certificate_pem(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Appends to the `User-Agent`, in Klarna's convention, for example
    /// `Platform/acme-billing_2.1`.
    pub fn user_agent_suffix(mut self, suffix: impl Into<String>) -> Self {
        self.user_agent_suffix = Some(suffix.into());
        self
    }

    /// The clock for deadlines and for the waits between attempts (default:
    /// tokio's). Tests can pass a [`VirtualClock`](crate::clock::VirtualClock)
    /// so that backoff and `Retry-After` waits cost no real time.
    #[cfg(feature = "test-util")]
    #[cfg_attr(docsrs, doc(cfg(feature = "test-util")))]
    pub fn clock(mut self, clock: impl Clock + 'static) -> Self {
        self.clock = Some(Arc::new(clock));
        self
    }

    /// Sends at most `per_second` requests per second (default: no limit),
    /// counted over **every clone** of the client and over every attempt,
    /// retries included.
    ///
    /// Requests are spaced evenly, a burst of one, each `1 / per_second`
    /// plus a 5 % margin after the last: a server that counts fixed
    /// one-second windows at the same limit (as Klarna's gateway and the
    /// sandbox do) then sees no 429 from timing jitter. Klarna allows about
    /// 200 requests per second on live and 50 on the playground, per
    /// merchant.
    ///
    /// An attempt waits for its turn within the call's deadline, through the
    /// client's [`clock`](Self::clock) (a
    /// [`VirtualClock`](crate::clock::VirtualClock) skips the waits). A turn
    /// that would come after the deadline fails the call with
    /// [`Error::RateLimited`] without sending that attempt.
    ///
    /// The limit is per process. A billing fleet of several processes
    /// sharing one merchant account must split the merchant's limit between
    /// them (each `rate_limit(total / processes)`), or put a shared limiter
    /// (such as a proxy) in front of them all.
    ///
    /// `build()` refuses a limit of 0.
    ///
    /// ```
    /// # use klarna_customer_token::Client;
    /// let client = Client::builder()
    ///     .api_key("klarna_test_api_dG9wc2VjcmV0")
    ///     .base_url("http://127.0.0.1:8080")
    ///     .rate_limit(50)
    ///     .build();
    /// assert!(client.is_ok());
    /// ```
    pub fn rate_limit(mut self, per_second: u32) -> Self {
        self.rate_limit = Some(per_second);
        self
    }

    /// Checks the configuration and builds the client.
    ///
    /// # Errors
    /// [`Error::Config`] saying what is missing or refused.
    pub fn build(self) -> Result<Client, Error> {
        let credentials = self
            .credentials
            .ok_or_else(|| ConfigError::new("no credentials: call basic_auth(…) or api_key(…)"))?;
        let target = self
            .target
            .ok_or_else(|| ConfigError::new("no server: call endpoint(…) or base_url(…)"))?;
        if credentials.key_material().iter().all(|s| s.is_empty()) {
            return Err(ConfigError::new("the credentials are empty").into());
        }
        let base_url = match &target {
            Target::Endpoint(endpoint) => {
                check_key_environment(&credentials, *endpoint)?;
                endpoint.base_url().to_owned()
            }
            Target::BaseUrl(url) => check_base_url(url, self.allow_insecure_http)?,
        };
        reqwest::Url::parse(&base_url)
            .map_err(|e| ConfigError::new(format!("the base URL is not a valid URL: {e}")))?;
        let authorization = credentials.header()?;
        let user_agent = user_agent(self.user_agent_suffix.as_deref())?;

        let mut http = reqwest::Client::builder()
            .connect_timeout(self.connect_timeout)
            // Klarna does not redirect; following one could send the
            // credentials or the order somewhere unexpected.
            .redirect(reqwest::redirect::Policy::none())
            // Every retry is this crate's, under its policy.
            .retry(reqwest::retry::never())
            .pool_idle_timeout(Duration::from_secs(60));
        http = tls::configure_tls(
            http,
            &self.root_certificates,
            base_url.starts_with("https:"),
        )?;
        if let Some(proxy) = &self.proxy {
            let proxy = reqwest::Proxy::all(proxy.expose_secret())
                .map_err(|_| ConfigError::new("the proxy URL is not valid"))?;
            http = http.proxy(proxy);
        } else {
            http = http.no_proxy();
        }
        let http = http
            .build()
            .map_err(|e| ConfigError::new(format!("the HTTP client could not be built: {e}")))?;

        let clock = self.clock.unwrap_or_else(|| Arc::new(TokioClock::new()));
        let rate_limit = match self.rate_limit {
            None => None,
            Some(per_second) => {
                let per_second = std::num::NonZeroU32::new(per_second).ok_or_else(|| {
                    ConfigError::new("the rate limit must be at least 1 per second")
                })?;
                Some(crate::rate_limit::RateLimit::new(
                    per_second,
                    Arc::clone(&clock),
                ))
            }
        };
        let shared = Arc::new(Shared {
            http,
            base_url,
            authorization,
            user_agent,
            attempt_timeout: self.attempt_timeout,
            max_response_body: self.max_response_body,
            retry: self.retry,
            clock,
            secrets: echo_forms(&credentials, self.proxy.as_ref()),
            rate_limit,
        });
        Ok(Client { shared })
    }
}

/// Every form in which the credentials (and a proxy's user and password)
/// could be echoed back, each as itself and as its base64
/// ([`encoded_forms`](crate::transport::redact::encoded_forms)), longest
/// first, so that a longer form is hidden before its parts. Forms that
/// decoding the text reveals (percent-encoding, JSON escapes, HTML
/// references) need no entry: the scrub undoes them.
fn echo_forms(credentials: &Credentials, proxy: Option<&SecretString>) -> Vec<SecretString> {
    let mut secrets = credentials.secret_strings();
    if let Some(proxy) = proxy {
        secrets.extend(proxy_credentials(proxy.expose_secret()));
    }
    let mut forms: Vec<String> = Vec::new();
    for secret in secrets {
        for form in crate::transport::redact::encoded_forms(&secret) {
            if !forms.contains(&form) {
                forms.push(form);
            }
        }
    }
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.into_iter().map(SecretString::from).collect()
}

/// A proxy URL's user, password and `user:pass`, percent-decoded as they
/// are sent; nothing when it carries none (or does not parse, which
/// `build()` refuses anyway).
fn proxy_credentials(url: &str) -> Vec<String> {
    let Ok(parsed) = url::Url::parse(url) else {
        return Vec::new();
    };
    let decode = crate::transport::redact::percent_decoded;
    let user = decode(parsed.username());
    let password = parsed.password().map(decode).unwrap_or_default();
    let mut out = Vec::new();
    if !password.is_empty() {
        out.push(format!("{user}:{password}"));
        out.push(password);
    }
    if !user.is_empty() {
        out.push(user);
    }
    out
}

fn check_key_environment(credentials: &Credentials, endpoint: Endpoint) -> Result<(), ConfigError> {
    let material = credentials.key_material();
    let has = |marker: &str| material.iter().any(|s| s.contains(marker));
    if endpoint.is_live() && has("_test_api_") {
        return Err(ConfigError::new(format!(
            "a test API key cannot be used on the live endpoint {endpoint:?}"
        )));
    }
    if !endpoint.is_live() && has("_live_api_") {
        return Err(ConfigError::new(format!(
            "a live API key cannot be used on the playground endpoint {endpoint:?}"
        )));
    }
    Ok(())
}

/// Parses and checks a base URL; returns it without a trailing slash.
fn check_base_url(url: &str, allow_insecure_http: bool) -> Result<String, ConfigError> {
    let parsed = reqwest::Url::parse(url)
        .map_err(|e| ConfigError::new(format!("the base URL is not a valid URL: {e}")))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ConfigError::new(
            "the base URL must not carry credentials: use basic_auth(…) or api_key(…)",
        ));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(ConfigError::new(
            "the base URL must not have a query or a fragment",
        ));
    }
    match parsed.scheme() {
        "https" => {}
        "http" => {
            let loopback = match parsed.host() {
                Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
                None => false,
            };
            if !loopback && !allow_insecure_http {
                return Err(ConfigError::new(
                    "the base URL uses plain http:// to a host that is not loopback; \
                     use https:// or call allow_insecure_http()",
                ));
            }
        }
        other => {
            return Err(ConfigError::new(format!(
                "the base URL must use https:// (or http:// to loopback), not {other}://"
            )));
        }
    }
    Ok(parsed.as_str().trim_end_matches('/').to_owned())
}

/// `Library/klarna-customer-token_<ver> Language/Rust_<ver> OS/<os>`, in
/// Klarna's convention, with the caller's suffix.
fn user_agent(suffix: Option<&str>) -> Result<HeaderValue, ConfigError> {
    let mut value = format!(
        "Library/{}_{} Language/Rust_{} OS/{}",
        env!("CARGO_PKG_NAME"),
        env!("CARGO_PKG_VERSION"),
        env!("KCT_RUSTC_VERSION"),
        std::env::consts::OS,
    );
    if let Some(suffix) = suffix.map(str::trim).filter(|s| !s.is_empty()) {
        value.push(' ');
        value.push_str(suffix);
    }
    HeaderValue::from_str(&value).map_err(|_| {
        ConfigError::new("the User-Agent suffix holds characters not allowed in a header")
    })
}

mod tls;

#[cfg(test)]
mod tests;
