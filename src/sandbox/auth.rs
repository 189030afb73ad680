//! Checking a request's credentials: HTTP Basic with the sandbox's
//! username and password, or its API key.

use bytes::Bytes;

use super::answer::Answer;
use super::credentials;
use crate::enums::ErrorCode;

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
