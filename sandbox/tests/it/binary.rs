//! The standalone `klarna-sandbox` binary: its output, its options, serving
//! the crate's client, and stopping on SIGINT.

use std::io::{BufRead as _, BufReader, Read as _};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use klarna_customer_token::{Client, IdempotencyKey, PaymentMethodType, RetryPolicy, TokenStatus};
use klarna_customer_token_sandbox::{credentials, tokens};

use crate::support::{self, token};

const BIN: &str = env!("CARGO_BIN_EXE_klarna-sandbox");
/// How long the binary may take to start, answer or stop.
const PATIENCE: Duration = Duration::from_secs(20);

/// A running binary, killed when dropped so that no test leaves it behind.
struct Running {
    child: Child,
    lines: mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl Running {
    fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// Starts the binary with `env` added to a copy of this process's
    /// environment (without any admin token of its own).
    fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(args)
            .env_remove("KLARNA_SANDBOX_ADMIN_TOKEN")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("the binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        // Reads until the process closes its stdout, so that the pipe stays
        // open for as long as the process writes to it.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if sender.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one contains `needle`; returns that line.
    #[track_caller]
    fn wait_for_line(&mut self, needle: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(e) => panic!(
                    "no line with {needle:?} ({e}); output so far:\n{}",
                    self.seen.join("\n")
                ),
            }
        }
    }

    fn output(&self) -> String {
        self.seen.join("\n")
    }

    /// The base URL from the banner, after reading the whole banner.
    #[track_caller]
    fn base_url(&mut self) -> String {
        let line = self.wait_for_line("base URL");
        self.wait_for_line("Press Ctrl-C to stop.");
        line.split_whitespace()
            .last()
            .expect("a URL on the line")
            .to_owned()
    }

    fn interrupt(&self) {
        let status = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "kill -INT failed: {status}");
    }

    /// Waits for the process to exit, at most `PATIENCE`.
    #[track_caller]
    fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                panic!(
                    "the binary did not exit within {PATIENCE:?}; output:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Lines printed until the process closed its stdout.
    fn rest(&mut self) -> Vec<String> {
        let deadline = Instant::now() + PATIENCE;
        let mut rest = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            rest.push(line);
        }
        rest
    }
}

/// Runs the binary to completion (bounded) and returns its status, stdout
/// and stderr.
fn run(args: &[&str]) -> (ExitStatus, String, String) {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + PATIENCE;
    let status = loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`klarna-sandbox {}` did not exit", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (
        status,
        out.join().expect("stdout reader"),
        err.join().expect("stderr reader"),
    )
}

fn client(base_url: &str) -> Client {
    Client::builder()
        .basic_auth(credentials::USERNAME, credentials::PASSWORD)
        .base_url(base_url)
        .retry_policy(RetryPolicy::none())
        .attempt_timeout(Duration::from_secs(10))
        .build()
        .expect("client")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_the_client_and_stops_on_sigint() {
    let mut sandbox = Running::start(&["--port", "0"]);
    let base_url = sandbox.base_url();
    let url = url::Url::parse(&base_url).expect("a URL");
    assert_eq!(url.scheme(), "http");
    assert_eq!(url.host_str(), Some("127.0.0.1"));
    let port = url.port().expect("a port");
    assert_ne!(port, 0, "--port 0 picks a free port");

    let banner = sandbox.output();
    assert!(banner.contains(&format!("listening on   http://127.0.0.1:{port}")));
    for expected in [
        credentials::USERNAME,
        credentials::PASSWORD,
        credentials::API_KEY,
        tokens::ACTIVE_INVOICE,
        tokens::ACTIVE_CARD,
        tokens::ACTIVE_DIRECT_DEBIT,
        tokens::SUSPENDED,
        tokens::CANCELLED,
    ] {
        assert!(banner.contains(expected), "{expected} missing:\n{banner}");
    }
    assert!(!banner.contains("warning"), "{banner}");
    assert!(!banner.contains("rate limit"), "{banner}");

    // The crate's client works against it, with either credential.
    let client = client(&base_url);
    let details = tokio::time::timeout(PATIENCE, client.read_token(&token(tokens::ACTIVE_CARD)))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(details.status(), &TokenStatus::Active);
    assert_eq!(details.payment_method_type(), &PaymentMethodType::Card);
    assert_eq!(details.card().expect("card").brand(), "VISA");
    let with_key = Client::builder()
        .api_key(credentials::API_KEY)
        .base_url(&base_url)
        .retry_policy(RetryPolicy::none())
        .build()
        .expect("client");
    let details = tokio::time::timeout(PATIENCE, with_key.read_token(&token(tokens::SUSPENDED)))
        .await
        .expect("in time")
        .expect("read");
    assert_eq!(details.status(), &TokenStatus::Suspended);

    sandbox.interrupt();
    let status = sandbox.wait_exit();
    assert!(status.success(), "exit status {status}");
    let rest = sandbox.rest();
    assert!(rest.iter().any(|l| l == "stopping"), "{rest:?}");

    // Nothing listens any more.
    let err = tokio::time::timeout(PATIENCE, client.read_token(&token(tokens::ACTIVE_CARD)))
        .await
        .expect("in time")
        .expect_err("stopped");
    assert!(
        matches!(err, klarna_customer_token::Error::Connection(_)),
        "{err:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binding_every_interface_warns_and_prints_a_loopback_url() {
    let mut sandbox = Running::start(&["--bind", "0.0.0.0", "--port", "0"]);
    let base_url = sandbox.base_url();
    let banner = sandbox.output();
    assert!(
        banner.lines().any(|l| l.contains("warning:")),
        "no warning:\n{banner}"
    );
    assert!(
        banner.contains("listening on   http://0.0.0.0:"),
        "{banner}"
    );
    let url = url::Url::parse(&base_url).expect("a URL");
    assert_eq!(url.host_str(), Some("127.0.0.1"), "{banner}");
    assert_ne!(url.port(), Some(0));

    // The loopback URL works without allow_insecure_http.
    let details = tokio::time::timeout(
        PATIENCE,
        client(&base_url).read_token(&token(tokens::ACTIVE_INVOICE)),
    )
    .await
    .expect("in time")
    .expect("read");
    assert_eq!(details.status(), &TokenStatus::Active);

    sandbox.interrupt();
    let status = sandbox.wait_exit();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_option_is_applied() {
    let mut sandbox = Running::start(&["--port=0", "--rate-limit=2"]);
    let base_url = sandbox.base_url();
    assert!(
        sandbox
            .output()
            .contains("rate limit     2 requests per second"),
        "{}",
        sandbox.output()
    );
    let client = client(&base_url);
    let t = token(tokens::ACTIVE_INVOICE);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let result = tokio::time::timeout(PATIENCE, client.read_token(&t))
            .await
            .expect("in time");
        statuses.push(result.err().and_then(|e| e.status()));
    }
    // Five quick requests against a limit of two per second: however a
    // window boundary falls, some window holds a third request.
    assert!(statuses.contains(&Some(429)), "{statuses:?}");
    sandbox.interrupt();
    assert!(sandbox.wait_exit().success());
}

#[test]
fn help_exits_0_with_usage() {
    for flag in ["--help", "-h"] {
        let (status, stdout, _) = run(&[flag]);
        assert_eq!(status.code(), Some(0), "{flag}");
        assert!(stdout.contains("USAGE"), "{stdout}");
        assert!(stdout.contains("--port"), "{stdout}");
        assert!(stdout.contains("--bind"), "{stdout}");
        assert!(stdout.contains("--rate-limit"), "{stdout}");
    }
}

#[test]
fn bad_arguments_exit_2_with_a_message() {
    for (args, message) in [
        (&["--bogus"][..], "unknown argument: --bogus"),
        (&["--port", "not-a-port"][..], "not a port number"),
        (&["--port", "70000"][..], "not a port number"),
        (&["--port"][..], "--port needs"),
        (&["--bind", "localhost"][..], "not an IP address"),
        (&["--rate-limit", "-1"][..], "not a number"),
    ] {
        let (status, stdout, stderr) = run(args);
        assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stderr.contains("USAGE"), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}: {stdout}");
    }
}

#[test]
fn a_port_in_use_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port().to_string();
    let (status, _, stderr) = run(&["--port", &port]);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

/// A file in the system's temporary directory, removed when dropped.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> Self {
        let path = std::env::temp_dir().join(format!("{}-{name}", std::process::id()));
        std::fs::write(&path, contents).expect("write the file");
        Self(path)
    }
    fn path(&self) -> &str {
        self.0.to_str().expect("a UTF-8 path")
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Calls the admin API; the status and the JSON body.
async fn admin_call(
    base_url: &str,
    method: reqwest::Method,
    path: &str,
    bearer: Option<&str>,
    body: Option<serde_json::Value>,
) -> (u16, serde_json::Value) {
    let mut request = crate::support::http()
        .request(method, format!("{base_url}/__sandbox/{path}"))
        .timeout(PATIENCE);
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    // Every admin request but GET and DELETE says it is JSON, body or not.
    request = request.header("content-type", "application/json");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("an answer");
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(serde_json::Value::Null);
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_a_file_are_served_listed_and_restored_by_a_reset() {
    let file = TempFile::new(
        "tokens.json",
        r#"[{"id": "file-card-token-0001", "payment_method_type": "CARD",
             "card": {"brand": "VISA", "expiry_date": "01/2031", "masked_number": "****4242"}},
            {"id": "file-suspended-0002", "payment_method_type": "INVOICE", "status": "SUSPENDED"}]"#,
    );
    let mut running = Running::start(&["--port", "0", "--tokens", file.path()]);
    let base = running.base_url();
    let banner = running.output();
    assert!(banner.contains("file-card-token-0001"), "{banner}");
    assert!(
        banner.contains("file-suspended-0002") && banner.contains("suspended, invoice"),
        "{banner}"
    );
    assert!(banner.contains("/__sandbox/ (open"), "{banner}");
    let client = client(&base);
    let read = client
        .read_token(&token("file-card-token-0001"))
        .await
        .expect("the file's token");
    assert_eq!(read.payment_method_type(), &PaymentMethodType::Card);
    let (status, _) = admin_call(
        &base,
        reqwest::Method::PUT,
        "tokens/file-card-token-0001/status",
        None,
        Some(serde_json::json!({"status": "CANCELLED"})),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = admin_call(&base, reqwest::Method::POST, "reset", None, None).await;
    assert_eq!(status, 200);
    let read = client
        .read_token(&token("file-card-token-0001"))
        .await
        .expect("still there");
    assert_eq!(
        read.status(),
        &TokenStatus::Active,
        "the file's status again"
    );
}

#[test]
fn a_bad_tokens_file_exits_2_naming_the_path() {
    let file = TempFile::new(
        "bad-tokens.json",
        r#"[{"id": "ok-token-0001", "payment_method_type": "CARD", "card": {"brand": 7}}]"#,
    );
    let (status, _, stderr) = run(&["--tokens", file.path()]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("[0].card.brand"), "{stderr}");
    let (status, _, stderr) = run(&["--tokens", "/no/such/file.json"]);
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("cannot open"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_double_charge_check_against_the_binary() {
    let mut running = Running::start(&["--port", "0"]);
    let base = running.base_url();
    let key = IdempotencyKey::derive("bin-test", "charge-1");
    let (status, _) = admin_call(
        &base,
        reqwest::Method::POST,
        "faults",
        None,
        Some(serde_json::json!({"kind": "drop_after_processing", "idempotency_key": key.as_str()})),
    )
    .await;
    assert_eq!(status, 201);
    let order = support::order();
    let created = Client::builder()
        .basic_auth(credentials::USERNAME, credentials::PASSWORD)
        .base_url(base.clone())
        .build()
        .expect("client")
        .create_order(&token(tokens::ACTIVE_CARD), &order)
        .with_idempotency_key(key.clone())
        .await
        .expect("retried with the same key");
    let (status, listed) = admin_call(
        &base,
        reqwest::Method::GET,
        &format!("orders?idempotency_key={}", key.as_str()),
        None,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let orders = listed["orders"].as_array().expect("orders");
    assert_eq!(orders.len(), 1, "{listed}");
    assert_eq!(orders[0]["order_id"], created.order_id());
    running.interrupt();
    assert!(running.wait_exit().success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_loopback_the_admin_api_needs_a_token() {
    let mut running = Running::start(&["--port", "0", "--bind", "0.0.0.0"]);
    let base = running.base_url();
    assert!(
        running.output().contains("admin API      off"),
        "{}",
        running.output()
    );
    let (status, _) = admin_call(&base, reqwest::Method::GET, "faults", None, None).await;
    assert_eq!(status, 401, "an unknown path behind Basic auth");
    drop(running);

    let mut running = Running::start_with_env(
        &["--port", "0", "--bind", "0.0.0.0"],
        &[("KLARNA_SANDBOX_ADMIN_TOKEN", "s3cret-admin")],
    );
    let base = running.base_url();
    assert!(!running.output().contains("s3cret-admin"), "never printed");
    let (status, _) = admin_call(&base, reqwest::Method::GET, "faults", None, None).await;
    assert_eq!(status, 401);
    let (status, _) = admin_call(&base, reqwest::Method::GET, "faults", Some("wrong"), None).await;
    assert_eq!(status, 401);
    let (status, body) = admin_call(
        &base,
        reqwest::Method::GET,
        "faults",
        Some("s3cret-admin"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["faults"], serde_json::json!([]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_token_comes_from_a_file_and_never_from_the_command_line() {
    let file = TempFile::new("admin-token", "f1le-admin-t0k\n");
    let mut running = Running::start(&[
        "--port",
        "0",
        "--bind",
        "0.0.0.0",
        "--admin-token-file",
        file.path(),
    ]);
    let base = running.base_url();
    assert!(
        !running.output().contains("f1le-admin-t0k"),
        "never printed"
    );
    let (status, _) = admin_call(&base, reqwest::Method::GET, "faults", None, None).await;
    assert_eq!(status, 401);
    let (status, body) = admin_call(
        &base,
        reqwest::Method::GET,
        "faults",
        Some("f1le-admin-t0k"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    running.interrupt();
    assert!(running.wait_exit().success());

    // The old flag: refused with the replacements named, the token never
    // echoed.
    let out = Command::new(BIN)
        .args(["--port", "0", "--admin-token", "s3cret-on-argv"])
        .env_remove("KLARNA_SANDBOX_ADMIN_TOKEN")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--admin-token-file"), "{stderr}");
    assert!(stderr.contains("KLARNA_SANDBOX_ADMIN_TOKEN"), "{stderr}");
    assert!(!stderr.contains("s3cret-on-argv"), "{stderr}");
    assert!(out.stdout.is_empty() || !String::from_utf8_lossy(&out.stdout).contains("s3cret"));
}

/// Polls `GET /__sandbox/notifications` until the first delivery has
/// `attempts` attempts and is not being sent; that delivery.
async fn delivery_after(base: &str, attempts: usize) -> serde_json::Value {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let (status, listed) =
            admin_call(base, reqwest::Method::GET, "notifications", None, None).await;
        assert_eq!(status, 200);
        let first = listed["notifications"][0].clone();
        let made = first["attempts"].as_array().map_or(0, Vec::len);
        if made >= attempts && first["state"] != "sending" {
            return first;
        }
        assert!(Instant::now() < deadline, "{listed}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_order_decided_and_notified_over_http() {
    use crate::support::receiver::{Receiver, Script, charged, key_of, paid};
    use klarna_customer_token::{FraudStatus, MerchantUrls, OrderRequest};

    let mut running = Running::start(&["--port", "0"]);
    let base = running.base_url();
    assert!(
        running.output().contains("notifications  to loopback only"),
        "{}",
        running.output()
    );
    let (status, added) = admin_call(
        &base,
        reqwest::Method::POST,
        "tokens",
        None,
        Some(serde_json::json!({
            "id": "bin-review-0001", "payment_method_type": "CARD", "fraud_review": "pending"
        })),
    )
    .await;
    assert_eq!(
        (status, &added["fraud_review"]),
        (201, &serde_json::json!("pending"))
    );

    let receiver = Receiver::start().await;
    let order_for = |url: &str| {
        let plain = support::order();
        OrderRequest::builder()
            .purchase_currency("EUR")
            .merchant_urls(MerchantUrls::new("http://127.0.0.1/thanks").with_notification(url))
            .line(plain.order_lines()[0].clone())
            .build()
            .expect("order")
    };
    let token = token("bin-review-0001");
    let order = order_for(&receiver.url_for(&key_of("bin-1")));
    let created = client(&base)
        .create_order(&token, &order)
        .with_idempotency_key(key_of("bin-1"))
        .await
        .expect("created");
    assert_eq!(created.fraud_status(), &FraudStatus::Pending);
    receiver.hold(charged("bin-1", &token, &order, &created));
    let (_, listed) = admin_call(
        &base,
        reqwest::Method::GET,
        "orders?token=bin-review-0001",
        None,
        None,
    )
    .await;
    assert_eq!(listed["orders"][0]["fraud_status"], "PENDING", "{listed}");
    let signed = receiver.url_for(&key_of("bin-1"));
    let sig = signed.split("klarna_sig=").nth(1).expect("signed");
    let shown = listed.to_string();
    assert!(
        !shown.contains(sig) && shown.contains("klarna_sig=[REDACTED]"),
        "{shown}"
    );

    let decide = |order_id: String, decision: &'static str| {
        let base = base.clone();
        async move {
            admin_call(
                &base,
                reqwest::Method::POST,
                &format!("orders/{order_id}/fraud-decision"),
                None,
                Some(serde_json::json!({ "decision": decision })),
            )
            .await
        }
    };
    let id = created.order_id().to_owned();
    let (status, e) = decide(id.clone(), "MAYBE").await;
    assert_eq!(status, 400, "{e}");
    assert!(
        e["error_messages"][0]
            .as_str()
            .unwrap_or("")
            .starts_with("decision: "),
        "{e}"
    );
    assert_eq!(decide("no-such-order".into(), "STOPPED").await.0, 404);

    // The receiver fails the first delivery; the re-send comes 10 minutes
    // of sandbox time later.
    receiver.script(&[Script::Fail]);
    let (status, decided) = decide(id.clone(), "ACCEPTED").await;
    assert_eq!(
        (status, &decided["fraud_status"]),
        (200, &serde_json::json!("ACCEPTED"))
    );
    let (status, e) = decide(id.clone(), "REJECTED").await;
    assert_eq!(
        (status, &e["error_code"]),
        (409, &serde_json::json!("ORDER_NOT_PENDING"))
    );
    receiver.wait_seen(1).await;
    let first = delivery_after(&base, 1).await;
    assert_eq!(first["order_id"], created.order_id());
    assert_eq!(first["event_type"], "FRAUD_RISK_ACCEPTED");
    assert_eq!(first["url"], "/notify", "the path only");
    assert_eq!(first["state"], "pending");
    assert_eq!(first["attempts"][0]["status"], 500);
    let decided_ms = first["decided_at_ms"].as_u64().expect("ms");
    assert_eq!(
        first["next_attempt_ms"].as_u64(),
        Some(decided_ms + 600_000)
    );
    assert!(!first.to_string().contains("klarna_sig"), "{first}");
    assert!(!paid(&receiver.charge(&key_of("bin-1"))));

    let (status, _) = admin_call(
        &base,
        reqwest::Method::POST,
        "clock/advance",
        None,
        Some(serde_json::json!({"seconds": 600})),
    )
    .await;
    assert_eq!(status, 200);
    let seen = receiver.wait_seen(2).await;
    assert_eq!(seen[1].status, 200);
    let delivered = delivery_after(&base, 2).await;
    assert_eq!(delivered["state"], "delivered", "{delivered}");
    let second = delivered["attempts"][1]["at_ms"].as_u64().expect("ms");
    // The sandbox's own clock also runs in real time: a little past the step.
    assert!(
        (decided_ms + 600_000..decided_ms + 600_000 + PATIENCE.as_millis() as u64)
            .contains(&second),
        "{delivered}"
    );
    assert!(paid(&receiver.charge(&key_of("bin-1"))));

    // A notification URL off this machine is refused when the order is
    // created; nothing is ever sent to it.
    let far = order_for(
        &receiver
            .url_for(&key_of("bin-2"))
            .replace(&receiver.addr.to_string(), "receiver.invalid"),
    );
    let e = client(&base)
        .create_order(&token, &far)
        .await
        .expect_err("refused");
    assert_eq!(e.status(), Some(400));
    let messages = e.api().expect("API error").error_messages().join("; ");
    assert!(
        messages.starts_with("merchant_urls.notification: "),
        "{messages}"
    );
    running.interrupt();
    assert!(running.wait_exit().success());
}
