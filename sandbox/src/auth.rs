//! Checking a request's credentials: HTTP Basic with the sandbox's
//! username and password, or its API key; and who may use the admin API
//! ([`Access`]).

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use super::answer::Answer;
use super::credentials;
use klarna_customer_token::ErrorCode;

/// The request's `Authorization` value when it carries the sandbox's
/// credentials; otherwise the answer: an HTML 401 without the header, as
/// Klarna's gateway answers, a JSON 401 with wrong credentials.
pub(crate) fn authenticate(
    headers: &http::HeaderMap,
    correlation_id: &str,
) -> Result<String, Answer> {
    let authorization = match headers.get(http::header::AUTHORIZATION) {
        None => return Err(unauthorized_html()),
        Some(value) => String::from_utf8_lossy(value.as_bytes()).into_owned(),
    };
    if !credentials_valid(&authorization) {
        return Err(Answer::error_one(
            401,
            ErrorCode::Unauthorized,
            "The credentials are not valid",
            correlation_id,
        ));
    }
    Ok(authorization)
}

/// The credentials of a Basic `Authorization` value; the scheme name is
/// matched case-insensitively (RFC 9110, section 11.1).
pub(crate) fn basic_credentials(authorization: &str) -> Option<&str> {
    let (scheme, credentials) = authorization.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("basic")
        .then(|| credentials.trim_start_matches(' '))
}

fn credentials_valid(authorization: &str) -> bool {
    use base64::Engine as _;
    let Some(value) = basic_credentials(authorization) else {
        return false;
    };
    if value == credentials::API_KEY {
        return true;
    }
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials::USERNAME,
        credentials::PASSWORD
    ));
    value == expected
}

fn unauthorized_html() -> Answer {
    Answer {
        content_type: Some("text/html"),
        body: Bytes::from_static(
            b"<html><head><title>401 Authorization Required</title></head>\
              <body><h1>401 Authorization Required</h1></body></html>",
        ),
        ..Answer::empty(401)
    }
}

/// Who may use the admin API.
#[derive(Debug)]
pub(crate) struct Access {
    /// The SHA-256 of the bearer token, when one is required.
    bearer: Option<[u8; 32]>,
}

impl Access {
    pub(crate) fn open() -> Self {
        Self { bearer: None }
    }

    pub(crate) fn bearer(token: &str) -> Self {
        Self {
            bearer: Some(Sha256::digest(token.as_bytes()).into()),
        }
    }

    /// Whether the request may use the admin API. The given token is
    /// compared by its SHA-256 digest, every byte looked at, so the time
    /// taken does not tell how much of it matched.
    pub(crate) fn allows(&self, headers: &http::HeaderMap) -> bool {
        let Some(expected) = &self.bearer else {
            return true;
        };
        let Some(given) = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .and_then(|(scheme, token)| {
                scheme
                    .eq_ignore_ascii_case("bearer")
                    .then(|| token.trim_start_matches(' '))
            })
        else {
            return false;
        };
        let given: [u8; 32] = Sha256::digest(given.as_bytes()).into();
        given
            .iter()
            .zip(expected)
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_right_bearer_token_is_let_in() {
        let access = Access::bearer("s3cret");
        let with = |value: &str| {
            let mut headers = http::HeaderMap::new();
            headers.insert(
                http::header::AUTHORIZATION,
                http::HeaderValue::from_str(value).expect("header"),
            );
            headers
        };
        assert!(access.allows(&with("Bearer s3cret")));
        assert!(access.allows(&with("bearer s3cret")));
        assert!(!access.allows(&with("Bearer s3cre")));
        assert!(!access.allows(&with("Bearer s3cret2")));
        assert!(!access.allows(&with("Basic s3cret")));
        assert!(!access.allows(&http::HeaderMap::new()));
        assert!(Access::open().allows(&http::HeaderMap::new()));
    }
}
