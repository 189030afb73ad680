//! The client: credentials from the environment, the server from the
//! command line (or the environment). Nothing here prints a secret.

use klarna_customer_token::{Client, Endpoint, Region, RetryPolicy};

use crate::args::{Args, Server};

/// The endpoint names, as the quickstart and the README use them.
pub(crate) const ENDPOINTS: [(&str, Endpoint); 8] = [
    ("klarna-eu", Endpoint::Klarna(Region::Europe)),
    ("klarna-na", Endpoint::Klarna(Region::NorthAmerica)),
    ("klarna-oc", Endpoint::Klarna(Region::Oceania)),
    (
        "klarna-playground-eu",
        Endpoint::KlarnaPlayground(Region::Europe),
    ),
    (
        "klarna-playground-na",
        Endpoint::KlarnaPlayground(Region::NorthAmerica),
    ),
    (
        "klarna-playground-oc",
        Endpoint::KlarnaPlayground(Region::Oceania),
    ),
    ("kustom", Endpoint::Kustom),
    ("kustom-playground", Endpoint::KustomPlayground),
];

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn endpoint(name: &str) -> Result<Endpoint, String> {
    ENDPOINTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, e)| *e)
        .ok_or_else(|| {
            let names: Vec<&str> = ENDPOINTS.iter().map(|(n, _)| *n).collect();
            format!("unknown endpoint {name:?}: use one of {}", names.join(", "))
        })
}

/// Builds the client, or says what is wrong with the configuration (exit
/// code 4). `rate_limit` is the requests per second the client keeps to.
pub(crate) fn client(args: &Args, rate_limit: Option<u32>) -> Result<Client, String> {
    let mut builder =
        Client::builder().user_agent_suffix(concat!("klarna-token/", env!("CARGO_PKG_VERSION")));
    builder = match (
        env("KLARNA_API_KEY"),
        env("KLARNA_USERNAME"),
        env("KLARNA_PASSWORD"),
    ) {
        (Some(_), Some(_), _) | (Some(_), _, Some(_)) => {
            return Err(
                "both KLARNA_API_KEY and KLARNA_USERNAME/KLARNA_PASSWORD are set: \
                        set one kind of credentials"
                    .to_owned(),
            );
        }
        (Some(key), None, None) => builder.api_key(key),
        (None, Some(user), Some(password)) => builder.basic_auth(user, password),
        (None, Some(_), None) => return Err("KLARNA_PASSWORD is not set".to_owned()),
        (None, None, Some(_)) => return Err("KLARNA_USERNAME is not set".to_owned()),
        (None, None, None) => {
            return Err("no credentials: set KLARNA_USERNAME and KLARNA_PASSWORD, \
                        or KLARNA_API_KEY"
                .to_owned());
        }
    };
    let Server {
        endpoint: name,
        base_url,
    } = &args.server;
    builder = match (name, base_url) {
        (Some(name), _) => builder.endpoint(endpoint(name)?),
        (None, Some(url)) => builder.base_url(url.clone()),
        (None, None) => match (env("KLARNA_ENDPOINT"), env("KLARNA_BASE_URL")) {
            (Some(_), Some(_)) => {
                return Err("both KLARNA_ENDPOINT and KLARNA_BASE_URL are set".to_owned());
            }
            (Some(name), None) => builder.endpoint(endpoint(&name)?),
            (None, Some(url)) => builder.base_url(url),
            (None, None) => {
                return Err("no server: pass --endpoint NAME or --base-url URL".to_owned());
            }
        },
    };
    if let Some(per_second) = rate_limit {
        builder = builder.rate_limit(per_second);
    }
    if let Some(retries) = args.max_retries {
        builder = builder.retry_policy(RetryPolicy::default().with_max_retries(retries));
    }
    if let Some(timeout) = args.attempt_timeout {
        builder = builder.attempt_timeout(timeout);
    }
    builder.build().map_err(|e| e.to_string())
}
