//! What keeps a web page the developer visits from steering a sandbox on
//! their machine.
//!
//! A page cannot read a cross-origin answer, but it can send requests: a
//! "simple" `POST` (a form, or `fetch` with `text/plain`) reaches the
//! server without asking first, and with DNS rebinding (its own name made
//! to resolve to 127.0.0.1) the page becomes same-origin with the sandbox
//! and can read the answers too. Three checks stop both:
//!
//! - **Host.** While the sandbox is bound to a loopback address, every
//!   request (the Customer Token API's and the admin API's) must name a
//!   loopback host in its `Host` header: `localhost`, an IPv4 loopback
//!   address or `[::1]`, with or without a port. A rebound name is
//!   answered 403. Bound beyond loopback the sandbox cannot know its names,
//!   and the admin API then requires a bearer token.
//! - **Origin.** An admin request that carries an `Origin` header (a
//!   browser sends one on every cross-origin `POST`, `PUT` and `DELETE`)
//!   must come from a loopback origin (`http://127.0.0.1:*`,
//!   `http://localhost:*`, `http://[::1]:*`, or their `https` forms);
//!   anything else, `null` included, is answered 403.
//! - **Content type.** An admin request other than `GET` and `DELETE`, and
//!   any admin request with a body, must say `Content-Type:
//!   application/json`, which no page can send cross-origin without a
//!   preflight the sandbox never grants: 415 otherwise.

use std::net::IpAddr;

use super::answer::Answer;
use klarna_customer_token::ErrorCode;

/// Whether `host` (a `Host` header value) names a loopback host, with or
/// without a port: `localhost`, an IPv4 loopback address, `[::1]`.
pub(crate) fn is_loopback_host(host: &str) -> bool {
    let Ok(authority) = host.parse::<http::uri::Authority>() else {
        return false;
    };
    // User information has no place in a Host header.
    if authority.as_str().contains('@') {
        return false;
    }
    let name = authority.host();
    if name.eq_ignore_ascii_case("localhost") {
        return true;
    }
    let literal = name
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .unwrap_or(name);
    literal.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Whether `origin` (an `Origin` header value) is a loopback origin:
/// `http` or `https`, a loopback host, any port, nothing else.
pub(crate) fn is_loopback_origin(origin: &str) -> bool {
    let Ok(url) = url::Url::parse(origin) else {
        return false;
    };
    if !matches!(url.scheme(), "http" | "https")
        || !url.username().is_empty()
        || url.password().is_some()
        || url.path() != "/"
        || url.query().is_some()
        || url.fragment().is_some()
    {
        return false;
    }
    match url.host() {
        Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn forbidden(message: &str, correlation_id: &str) -> Answer {
    Answer::error_one(
        403,
        ErrorCode::from("FORBIDDEN".to_owned()),
        message,
        correlation_id,
    )
}

/// The 403 for a request whose `Host` is not a loopback name or address
/// (or that names none), for a sandbox bound to loopback.
pub(crate) fn check_host(parts: &http::request::Parts, correlation_id: &str) -> Result<(), Answer> {
    let mut hosts = parts
        .headers
        .get_all(http::header::HOST)
        .iter()
        .map(|value| value.to_str().ok())
        .peekable();
    let named = if hosts.peek().is_some() {
        hosts.all(|host| host.is_some_and(is_loopback_host))
    } else {
        // HTTP/1.0 without a Host: the request target's authority, if any.
        parts
            .uri
            .authority()
            .is_some_and(|authority| is_loopback_host(authority.as_str()))
    };
    if named {
        Ok(())
    } else {
        Err(forbidden(
            "This sandbox listens on loopback and answers only requests to a loopback host \
             (Host: 127.0.0.1, localhost or [::1])",
            correlation_id,
        ))
    }
}

/// The 403 for an admin request with an `Origin` that is not a loopback
/// origin.
pub(crate) fn check_origin(headers: &http::HeaderMap, correlation_id: &str) -> Result<(), Answer> {
    let foreign = headers
        .get_all(http::header::ORIGIN)
        .iter()
        .any(|value| !value.to_str().is_ok_and(is_loopback_origin));
    if foreign {
        return Err(forbidden(
            "The admin API answers no web page but one served from a loopback origin \
             (http://127.0.0.1, http://localhost, http://[::1])",
            correlation_id,
        ));
    }
    Ok(())
}

/// The 415 for an admin request that must be JSON and does not say so:
/// any method but `GET` and `DELETE`, and any request with a body.
pub(crate) fn check_admin_content_type(
    parts: &http::request::Parts,
    correlation_id: &str,
) -> Result<(), Answer> {
    let headers = &parts.headers;
    let has_body = headers.contains_key(http::header::TRANSFER_ENCODING)
        || headers
            .get(http::header::CONTENT_LENGTH)
            .is_some_and(|length| length.as_bytes() != b"0");
    let needs_json = has_body || !matches!(parts.method, http::Method::GET | http::Method::DELETE);
    if !needs_json {
        return Ok(());
    }
    let content_type = headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media_type = content_type.split(';').next().unwrap_or("").trim();
    if media_type.eq_ignore_ascii_case("application/json") {
        return Ok(());
    }
    Err(Answer::error_one(
        415,
        ErrorCode::from("UNSUPPORTED_MEDIA_TYPE".to_owned()),
        format!(
            "An admin {} request must say Content-Type: application/json, not {content_type:?}",
            parts.method
        ),
        correlation_id,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_with_and_without_ports() {
        for host in [
            "127.0.0.1",
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "localhost",
            "LocalHost:443",
            "[::1]",
            "[::1]:8080",
        ] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in [
            "",
            "example.com",
            "evil.example:8080",
            "localhost.evil.example",
            "127.0.0.1.nip.io",
            "10.0.0.1:8080",
            "0.0.0.0:8080",
            "[::2]:1",
            "user@127.0.0.1",
            "127.0.0.1:8080/x",
        ] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn loopback_origins_only() {
        for origin in [
            "http://127.0.0.1:8080",
            "http://localhost:3000",
            "http://[::1]:8080",
            "https://localhost",
            "http://127.0.0.1",
        ] {
            assert!(is_loopback_origin(origin), "{origin}");
        }
        for origin in [
            "null",
            "",
            "http://example.com",
            "http://localhost.example.com:8080",
            "file://",
            "ftp://127.0.0.1",
            "http://127.0.0.1:8080/path",
            "http://u:p@127.0.0.1",
        ] {
            assert!(!is_loopback_origin(origin), "{origin}");
        }
    }
}
