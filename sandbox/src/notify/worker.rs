//! The worker that sends due notifications: at most [`IN_FLIGHT`] at a
//! time, one per order, each bounded in time and in what it reads back.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinSet;

use super::Hub;
use super::target::Resolver;
use crate::review::AttemptOutcome;

/// How long one delivery may take, connecting included (real time).
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);
/// The most of a receiver's answer read (then the connection is dropped).
pub(crate) const MAX_ANSWER_BYTES: usize = 16 * 1024;
/// Deliveries sent at once.
pub(crate) const IN_FLIGHT: usize = 16;
/// How often the worker looks for due deliveries (real time): due ones go
/// out within this after the sandbox clock moves.
const TICK: Duration = Duration::from_millis(200);

/// The HTTP client the worker sends with: no proxy, no redirects, a
/// timeout per delivery, and names resolved to loopback or allowed hosts
/// only.
pub(crate) fn client(hub: &Hub) -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .connect_timeout(TIMEOUT)
        .user_agent(concat!("klarna-sandbox/", env!("CARGO_PKG_VERSION")))
        .dns_resolver(Resolver {
            targets: hub.targets.clone(),
        })
        .build()
}

/// Sends due notifications until `now` says the sandbox is gone (or the
/// task is aborted with it). The HTTP client is built when the first one
/// is due: most sandboxes never send one, and building a client sets up
/// TLS (the system's root certificates read and parsed) for nothing.
pub(crate) async fn run(hub: Arc<Hub>, now: impl Fn() -> Option<Duration> + Send + 'static) {
    let mut sending: JoinSet<AttemptOutcome> = JoinSet::new();
    // The task of each send, to its delivery and the attempt's time.
    let mut jobs: HashMap<tokio::task::Id, (u64, Duration)> = HashMap::new();
    let mut sender: Option<reqwest::Client> = None;
    loop {
        let Some(time) = now() else { return };
        for job in hub.take_due(time, IN_FLIGHT.saturating_sub(sending.len())) {
            let built = match &sender {
                Some(client) => Ok(client.clone()),
                None => client(&hub).inspect(|client| sender = Some(client.clone())),
            };
            let task = match built {
                Ok(client) => sending.spawn(async move { send(&client, job.url, job.body).await }),
                Err(e) => {
                    let failed = AttemptOutcome::Failed(format!(
                        "the HTTP client could not be built: {}",
                        describe(&e)
                    ));
                    sending.spawn(async move { failed })
                }
            };
            jobs.insert(task.id(), (job.id, job.at));
        }
        tokio::select! {
            Some(done) = sending.join_next_with_id(), if !sending.is_empty() => {
                let (task, outcome) = match done {
                    Ok((task, outcome)) => (task, outcome),
                    Err(e) => (e.id(), AttemptOutcome::Failed("the delivery task failed".to_owned())),
                };
                if let Some((id, at)) = jobs.remove(&task) {
                    hub.finish(id, at, outcome);
                }
            }
            () = hub.wake.notified() => {}
            () = tokio::time::sleep(TICK) => {}
        }
    }
}

/// One delivery: the status, or the transport error without the URL.
async fn send(client: &reqwest::Client, url: String, body: Vec<u8>) -> AttemptOutcome {
    let sent = client
        .post(url)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await;
    let mut response = match sent {
        Ok(response) => response,
        Err(e) => return AttemptOutcome::Failed(describe(&e.without_url())),
    };
    let status = response.status().as_u16();
    // Read a bounded part of the answer, so that a keep-alive connection
    // can be reused; the rest is dropped with the connection.
    let mut read = 0usize;
    while read <= MAX_ANSWER_BYTES {
        match response.chunk().await {
            Ok(Some(chunk)) => read += chunk.len(),
            Ok(None) | Err(_) => break,
        }
    }
    AttemptOutcome::Status(status)
}

/// A transport error as the log shows it: its chain of causes, at most
/// 300 characters.
fn describe(error: &reqwest::Error) -> String {
    let mut text = if error.is_timeout() {
        format!("timed out after {} s", TIMEOUT.as_secs())
    } else if error.is_connect() {
        "could not connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    truncate_chars(&text, 300)
}

/// `text` cut after `max` characters, marked with `…` when cut.
fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
