//! Downloading a description, refusing what cannot be one.
//!
//! One deadline covers the whole download (connecting, the answer's head
//! and its body): a server that drips a byte at a time cannot hold the tool
//! past `--timeout`. Redirects are not followed at all, so the file comes
//! from the address given, over the scheme given (never https turned into
//! http): a redirect is refused with the address it points to, shown
//! without user info or query. The body is read only up to what the loader
//! accepts (`normalize::MAX_BYTES`).

use std::time::Duration;

use klarna_customer_token_codegen::normalize::MAX_BYTES;

use crate::shown::shown_url;

/// Downloads a description: the answer must be a success, complete, at most
/// `MAX_BYTES` bytes, not an HTML page, and all of it within `timeout`.
pub fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let shown = shown_url(url);
    let failed = |what: String| format!("the download from {shown} failed: {what}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| failed(format!("cannot start the download: {e}")))?;
    let within =
        runtime.block_on(async { tokio::time::timeout(timeout, fetch(url, timeout)).await });
    match within {
        Ok(result) => result.map_err(failed),
        Err(_) => Err(failed(format!(
            "it did not complete within {} s",
            timeout.as_secs_f64()
        ))),
    }
}

async fn fetch(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let client = reqwest::Client::builder()
        // reqwest's own timeout is total too (connect to the body's end);
        // the caller's deadline around this future is the one relied on.
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!(
            "klarna-customer-token-update-spec/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let reqwest_error = |e: reqwest::Error| {
        if e.is_timeout() {
            format!("it did not complete within {} s", timeout.as_secs_f64())
        } else {
            e.without_url().to_string()
        }
    };
    let mut response = client.get(url).send().await.map_err(reqwest_error)?;
    let status = response.status();
    if status.is_redirection() {
        let target = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(|location| match response.url().join(location) {
                Ok(target) => shown_url(target.as_str()),
                Err(_) => "an address that is not a URL".to_owned(),
            })
            .unwrap_or_else(|| "no address".to_owned());
        return Err(format!(
            "the server redirects (HTTP status {status}) to {target}; update-spec follows no \
             redirects: give the final https address"
        ));
    }
    if !status.is_success() {
        return Err(format!("the server answered with HTTP status {status}"));
    }
    let html_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let declared = response.content_length();
    let too_large = || format!("it is larger than {MAX_BYTES} bytes");
    if declared.is_some_and(|n| n > MAX_BYTES as u64) {
        return Err(too_large());
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| format!("the body was cut short ({})", reqwest_error(e)))?
    {
        if body.len() + chunk.len() > MAX_BYTES {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    if let Some(n) = declared
        && n != body.len() as u64
    {
        return Err(format!(
            "the body was cut short ({} of {n} bytes)",
            body.len()
        ));
    }
    if html_type || looks_like_html(&body) {
        return Err(
            "it is an HTML page, not an OpenAPI document (is the URL a documentation page \
             rather than the description's download link?)"
                .to_owned(),
        );
    }
    Ok(body)
}

fn looks_like_html(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<!doctype html") || text.starts_with("<html") || text.starts_with("<head")
}
