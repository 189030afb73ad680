//! A merchant's notification receiver on 127.0.0.1, as billing code would
//! write it: it verifies the URL with a `NotificationSigner`, reads the body
//! with `FraudNotification::from_json`, feeds the charge that holds the key
//! (`Charge::notification`) and answers 200, or 4xx for a refused one. A
//! script makes it fail the way receivers fail; it can go down (connection
//! refused) and come back on the same port.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use klarna_customer_token::charge::{Answer, BodyDigest, Charge, Event, Next, Timestamp};
use klarna_customer_token::notification::{
    FraudNotification, MAX_NOTIFICATION_BYTES, NotificationSigner,
};
use klarna_customer_token::{CreatedOrder, CustomerToken, IdempotencyKey, OrderRequest};
use tokio::task::JoinHandle;

/// How long a test waits for a delivery (real time) before failing.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// What the receiver does with the next request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Script {
    /// Answers 500 without looking at the request.
    Fail,
    /// Applies the notification, then answers 500 (the 200 "got lost").
    ApplyThenFail,
    /// Answers 302 to this location without looking at the request.
    Redirect(String),
}

/// A request the receiver got, and what it answered.
#[derive(Clone, Debug)]
pub struct Seen {
    pub path_and_query: String,
    pub body: Vec<u8>,
    pub status: u16,
}

#[derive(Default)]
struct Book {
    charges: HashMap<IdempotencyKey, Charge>,
    /// Every event applied, per charge id, in order.
    journal: Vec<(String, Event)>,
    script: VecDeque<Script>,
    seen: Vec<Seen>,
}

struct Shared {
    signer: NotificationSigner,
    book: Mutex<Book>,
    changed: tokio::sync::Notify,
}

impl Shared {
    fn book(&self) -> std::sync::MutexGuard<'_, Book> {
        self.book.lock().expect("the receiver's book")
    }
}

pub struct Receiver {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    task: Option<JoinHandle<()>>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// The secret the tests sign with.
pub fn signer() -> NotificationSigner {
    NotificationSigner::new(b"a receiver's secret, 32 bytes at least".to_vec()).expect("signer")
}

impl Receiver {
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let shared = Arc::new(Shared {
            signer: signer(),
            book: Mutex::new(Book::default()),
            changed: tokio::sync::Notify::new(),
        });
        let task = Some(tokio::spawn(serve(listener, Arc::clone(&shared))));
        Self { addr, shared, task }
    }

    /// The base URL notifications go to.
    pub fn base(&self) -> String {
        format!("http://{}/notify", self.addr)
    }

    /// The signed notification URL for this key.
    pub fn url_for(&self, key: &IdempotencyKey) -> String {
        self.shared
            .signer
            .url(&self.base(), key)
            .expect("signed URL")
    }

    /// Stops answering: connections are refused until [`up`](Self::up).
    pub fn down(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }

    /// Answers again, on the same port.
    pub async fn up(&mut self) {
        self.down();
        // The aborted task releases the port once it has stopped.
        let deadline = Instant::now() + PATIENCE;
        let listener = loop {
            match tokio::net::TcpListener::bind(self.addr).await {
                Ok(listener) => break listener,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(e) => panic!("cannot bind {} again: {e}", self.addr),
            }
        };
        self.task = Some(tokio::spawn(serve(listener, Arc::clone(&self.shared))));
    }

    pub fn script(&self, steps: &[Script]) {
        self.shared.book().script.extend(steps.iter().cloned());
    }

    /// Adds a charge whose attempt 1 created `created` with `key`.
    pub fn hold(&self, charge: Charge) {
        let key = charge.key(1);
        self.shared.book().charges.insert(key, charge);
    }

    pub fn charge(&self, key: &IdempotencyKey) -> Charge {
        self.shared
            .book()
            .charges
            .get(key)
            .cloned()
            .expect("a charge the receiver holds")
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.shared.book().seen.clone()
    }

    pub fn journal(&self) -> Vec<(String, Event)> {
        self.shared.book().journal.clone()
    }

    /// Waits until the receiver has seen `n` requests.
    pub async fn wait_seen(&self, n: usize) -> Vec<Seen> {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let changed = self.shared.changed.notified();
            let seen = self.seen();
            if seen.len() >= n {
                return seen;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                panic!("the receiver saw {} requests, not {n}", seen.len());
            }
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, shared: Arc<Shared>) {
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let shared = Arc::clone(&shared);
        connections.spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move { Ok::<_, std::convert::Infallible>(handle(&shared, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
        while connections.try_join_next().is_some() {}
    }
}

async fn handle(
    shared: &Shared,
    request: hyper::Request<Incoming>,
) -> hyper::Response<Full<Bytes>> {
    let path_and_query = request
        .uri()
        .path_and_query()
        .map(ToString::to_string)
        .unwrap_or_default();
    let body = match Limited::new(request.into_body(), MAX_NOTIFICATION_BYTES)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes().to_vec(),
        Err(_) => Vec::new(),
    };
    let (status, location) = answer(shared, &path_and_query, &body);
    shared.book().seen.push(Seen {
        path_and_query,
        body,
        status,
    });
    shared.changed.notify_waiters();
    let mut response = hyper::Response::new(Full::new(Bytes::new()));
    *response.status_mut() = hyper::StatusCode::from_u16(status).expect("status");
    if let Some(location) = location {
        response.headers_mut().insert(
            hyper::header::LOCATION,
            location.parse().expect("a location"),
        );
    }
    response
}

/// What the receiver does: verify, read, apply; the status to answer and
/// a location to send it to.
fn answer(shared: &Shared, path_and_query: &str, body: &[u8]) -> (u16, Option<String>) {
    let mut book = shared.book();
    let step = book.script.pop_front();
    match step {
        Some(Script::Fail) => return (500, None),
        Some(Script::Redirect(to)) => return (302, Some(to)),
        _ => {}
    }
    (apply(&mut book, shared, path_and_query, body, step), None)
}

fn apply(
    book: &mut Book,
    shared: &Shared,
    path_and_query: &str,
    body: &[u8],
    step: Option<Script>,
) -> u16 {
    let Ok(key) = shared.signer.verify(path_and_query) else {
        return 403;
    };
    let Ok(notification) = FraudNotification::from_json(body) else {
        return 400;
    };
    let Some(charge) = book.charges.get_mut(&key) else {
        return 404;
    };
    let event = match charge.notification(&key, &notification, Timestamp::now()) {
        Ok(event) => event,
        Err(_) => return 409,
    };
    charge.apply(event.clone());
    let charge_id = charge.charge_id().to_owned();
    book.journal.push((charge_id, event));
    if step == Some(Script::ApplyThenFail) {
        500
    } else {
        200
    }
}

/// A charge whose attempt 1 was sent with `key` and created `created`.
pub fn charged(
    charge_id: &str,
    token: &CustomerToken,
    order: &OrderRequest,
    created: &CreatedOrder,
) -> Charge {
    let now = Timestamp::now();
    let mut charge = Charge::new("receiver-tests", charge_id);
    let digest = BodyDigest::of(token, order).expect("digest");
    let intent = charge.intent(1, digest, now).expect("intent");
    charge.apply(intent);
    let answer = charge.answer(1, Answer::from_order(created), now);
    charge.apply(answer);
    charge
}

/// The key of a charge's first attempt, as [`charged`] uses it.
pub fn key_of(charge_id: &str) -> IdempotencyKey {
    IdempotencyKey::for_charge("receiver-tests", charge_id, 1)
}

/// Whether a charge is paid.
pub fn paid(charge: &Charge) -> bool {
    charge.is_paid(Timestamp::now())
}

/// Where a charge stands.
pub fn next(charge: &Charge) -> Next {
    charge.next(Timestamp::now())
}
