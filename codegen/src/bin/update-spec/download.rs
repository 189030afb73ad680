//! Downloading a description, refusing what cannot be one.

use std::io::Read as _;
use std::time::Duration;

/// The largest description accepted from the network.
const MAX_DOWNLOAD: u64 = 16 * 1024 * 1024;

/// Downloads a description: the answer must be a success, complete, at most
/// `MAX_DOWNLOAD` bytes, and not an HTML page.
pub fn download(url: &str, timeout: Duration) -> Result<Vec<u8>, String> {
    let failed = |what: String| format!("the download from {url} failed: {what}");
    let client = reqwest::blocking::Client::builder()
        .timeout(timeout)
        .user_agent(concat!(
            "klarna-customer-token-update-spec/",
            env!("CARGO_PKG_VERSION")
        ))
        .build()
        .map_err(|e| failed(e.without_url().to_string()))?;
    let response = client.get(url).send().map_err(|e| {
        if e.is_timeout() {
            failed(format!("no answer within {} s", timeout.as_secs_f64()))
        } else {
            failed(e.without_url().to_string())
        }
    })?;
    let status = response.status();
    if !status.is_success() {
        return Err(failed(format!(
            "the server answered with HTTP status {status}"
        )));
    }
    let html_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.to_ascii_lowercase().contains("html"));
    let declared = response.content_length();
    if declared.is_some_and(|n| n > MAX_DOWNLOAD) {
        return Err(failed(format!("it is larger than {MAX_DOWNLOAD} bytes")));
    }
    let mut body = Vec::new();
    response
        .take(MAX_DOWNLOAD + 1)
        .read_to_end(&mut body)
        .map_err(|e| failed(format!("the body was cut short ({e})")))?;
    if body.len() as u64 > MAX_DOWNLOAD {
        return Err(failed(format!("it is larger than {MAX_DOWNLOAD} bytes")));
    }
    if let Some(n) = declared
        && n != body.len() as u64
    {
        return Err(failed(format!(
            "the body was cut short ({} of {n} bytes)",
            body.len()
        )));
    }
    if html_type || looks_like_html(&body) {
        return Err(failed(
            "it is an HTML page, not an OpenAPI document (is the URL a documentation page \
             rather than the description's download link?)"
                .to_owned(),
        ));
    }
    Ok(body)
}

fn looks_like_html(body: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&body[..body.len().min(512)]).to_ascii_lowercase();
    let text = text.trim_start_matches('\u{feff}').trim_start();
    text.starts_with("<!doctype html") || text.starts_with("<html") || text.starts_with("<head")
}
