//! The admin API under `/__sandbox/`, driven only over HTTP with a plain
//! client, as billing code in another language would.

use std::time::Duration;

use klarna_customer_token_sandbox::{AdminAccess, Sandbox, tokens};
use serde_json::{Value, json};

use crate::support;
use support::{basic_value, post_order, within};

async fn admin_sandbox() -> Sandbox {
    Sandbox::builder()
        .admin(AdminAccess::Open)
        .start()
        .await
        .expect("start")
}

struct Admin {
    base: String,
    http: reqwest::Client,
    bearer: Option<String>,
}

impl Admin {
    fn new(sandbox: &Sandbox) -> Self {
        Self {
            base: format!("{}/__sandbox", sandbox.base_url()),
            http: crate::support::http(),
            bearer: None,
        }
    }

    async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(token) = &self.bearer {
            request = request.bearer_auth(token);
        }
        // Every admin request but GET and DELETE says it is JSON, body or
        // not.
        request = request.header("content-type", "application/json");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("an answer");
        let status = response.status().as_u16();
        let bytes = response.bytes().await.expect("a body");
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("a JSON body")
        };
        (status, value)
    }
}

#[tokio::test]
async fn a_double_charge_check_done_only_over_http() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let base = sandbox.base_url();
        let key = "billing-run-7/charge-42";
        let (status, fault) = admin
            .call(
                "POST",
                "/faults",
                Some(json!({
                    "kind": "drop_after_processing",
                    "operation": "create_order",
                    "idempotency_key": key,
                })),
            )
            .await;
        assert_eq!(status, 201, "{fault}");
        assert_eq!(fault["times_left"], 1);

        let authorization = format!("Basic {}", basic_value());
        // The first attempt is processed, then its connection drops.
        let first = crate::support::http()
            .post(format!(
                "{base}/customer-token/v1/tokens/{}/order",
                tokens::ACTIVE_INVOICE
            ))
            .header("authorization", &authorization)
            .header("content-type", "application/json")
            .header("klarna-idempotency-key", key)
            .body(support::order().to_json())
            .send()
            .await;
        assert!(first.is_err(), "the connection drops: {first:?}");
        // The retry with the same key gets the stored order.
        let retry = post_order(&base, tokens::ACTIVE_INVOICE, &authorization, key).await;
        assert_eq!(retry.status().as_u16(), 200);
        let retried: Value = retry.json().await.expect("json");

        let (status, listed) = admin
            .call(
                "GET",
                "/orders?idempotency_key=billing-run-7%2Fcharge-42",
                None,
            )
            .await;
        assert_eq!(status, 200);
        let orders = listed["orders"].as_array().expect("orders");
        assert_eq!(orders.len(), 1, "{listed}");
        assert_eq!(orders[0]["order_id"], retried["order_id"]);
        assert_eq!(orders[0]["idempotency_key"], key);
        assert_eq!(orders[0]["token"], tokens::ACTIVE_INVOICE);
        let (_, faults) = admin.call("GET", "/faults", None).await;
        assert_eq!(faults["faults"], json!([]));
    })
    .await;
}

#[tokio::test]
async fn tokens_are_added_and_their_status_set() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let (status, added) = admin
            .call(
                "POST",
                "/tokens",
                Some(json!({
                    "id": "python-token-0001",
                    "payment_method_type": "CARD",
                    "card": {"brand": "VISA", "expiry_date": "01/2031", "masked_number": "****4242"},
                })),
            )
            .await;
        assert_eq!(status, 201, "{added}");
        assert_eq!(added["status"], "ACTIVE");
        let authorization = format!("Basic {}", basic_value());
        let charged =
            post_order(&sandbox.base_url(), "python-token-0001", &authorization, "k-1").await;
        assert_eq!(charged.status().as_u16(), 200);

        let (status, set) = admin
            .call(
                "PUT",
                "/tokens/python-token-0001/status",
                Some(json!({"status": "SUSPENDED"})),
            )
            .await;
        assert_eq!(status, 200, "{set}");
        assert_eq!(set["status"], "SUSPENDED");
        assert_eq!(set["card"]["brand"], "VISA", "the card is kept");
        let refused =
            post_order(&sandbox.base_url(), "python-token-0001", &authorization, "k-2").await;
        assert_eq!(refused.status().as_u16(), 403);

        let (status, e) = admin
            .call("PUT", "/tokens/no-such-token-0000/status", Some(json!({"status": "ACTIVE"})))
            .await;
        assert_eq!((status, e["error_code"].clone()), (404, json!("NOT_FOUND")));
        let (status, e) = admin
            .call("PUT", "/tokens/python-token-0001/status", Some(json!({"status": "FROZEN"})))
            .await;
        assert_eq!(status, 400);
        assert!(e["error_messages"][0].as_str().is_some_and(|m| m.starts_with("status: ")), "{e}");
        let (status, e) = admin
            .call(
                "POST",
                "/tokens",
                Some(json!({"id": "x", "payment_method_type": "CARD", "card": {"brand": 7}})),
            )
            .await;
        assert_eq!(status, 400);
        assert!(
            e["error_messages"][0].as_str().is_some_and(|m| m.starts_with("card.brand: ")),
            "{e}"
        );
        let (_, listed) = admin.call("GET", "/tokens", None).await;
        assert_eq!(listed["tokens"].as_array().map(Vec::len), Some(6));
    })
    .await;
}

#[tokio::test]
async fn faults_are_targeted_listed_and_cleared() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let (status, _) = admin
            .call(
                "POST",
                "/faults",
                Some(json!({
                    "kind": "status", "status": 503, "body": "{\"error_code\":\"SERVICE_UNAVAILABLE\"}",
                    "times": 5, "token": tokens::ACTIVE_INVOICE,
                })),
            )
            .await;
        assert_eq!(status, 201);
        let authorization = format!("Basic {}", basic_value());
        // Another token is untouched.
        let other = post_order(&sandbox.base_url(), tokens::ACTIVE_CARD, &authorization, "k").await;
        assert_eq!(other.status().as_u16(), 200);
        let hit =
            post_order(&sandbox.base_url(), tokens::ACTIVE_INVOICE, &authorization, "k").await;
        assert_eq!(hit.status().as_u16(), 503);
        let (_, listed) = admin.call("GET", "/faults", None).await;
        let faults = listed["faults"].as_array().expect("faults");
        assert_eq!(faults.len(), 1);
        assert_eq!(faults[0]["times_left"], 4);
        assert_eq!(faults[0]["token"], tokens::ACTIVE_INVOICE);
        assert_eq!(faults[0]["kind"], "status");
        let (status, cleared) = admin.call("DELETE", "/faults", None).await;
        assert_eq!((status, cleared["cleared"].clone()), (200, json!(1)));
        let (status, e) = admin.call("POST", "/faults", Some(json!({"kind": "explode"}))).await;
        assert_eq!(status, 400);
        assert!(e["error_messages"][0].as_str().is_some_and(|m| m.starts_with("kind: ")));
        let (status, e) = admin
            .call("POST", "/faults", Some(json!({"kind": "gateway_502", "colour": 1})))
            .await;
        assert_eq!(status, 400, "{e}");
    })
    .await;
}

#[tokio::test]
async fn orders_filter_by_token_requests_are_redacted_and_reset_restores() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let base = sandbox.base_url();
        let authorization = format!("Basic {}", basic_value());
        for (token, key) in [
            (tokens::ACTIVE_INVOICE, "a-1"),
            (tokens::ACTIVE_CARD, "b-1"),
            (tokens::ACTIVE_INVOICE, "a-2"),
        ] {
            let r = post_order(&base, token, &authorization, key).await;
            assert_eq!(r.status().as_u16(), 200);
        }
        let (_, for_invoice) = admin
            .call(
                "GET",
                &format!("/orders?token={}", tokens::ACTIVE_INVOICE),
                None,
            )
            .await;
        assert_eq!(for_invoice["orders"].as_array().map(Vec::len), Some(2));
        let (_, both) = admin
            .call(
                "GET",
                &format!(
                    "/orders?token={}&idempotency_key=a-2",
                    tokens::ACTIVE_INVOICE
                ),
                None,
            )
            .await;
        assert_eq!(both["orders"].as_array().map(Vec::len), Some(1));
        let (status, _) = admin.call("GET", "/orders?customer=1", None).await;
        assert_eq!(status, 400);

        let (_, requests) = admin.call("GET", "/requests", None).await;
        let requests = requests["requests"].as_array().expect("requests").clone();
        assert_eq!(requests.len(), 3, "admin calls are not recorded");
        let text = serde_json::to_string(&requests).expect("json");
        assert!(!text.contains(&basic_value()), "credentials redacted");
        assert!(!text.contains(tokens::ACTIVE_INVOICE), "tokens redacted");
        assert!(text.contains("<redacted>"));

        let (_, set) = admin
            .call(
                "PUT",
                &format!("/tokens/{}/status", tokens::ACTIVE_CARD),
                Some(json!({"status": "CANCELLED"})),
            )
            .await;
        assert_eq!(set["status"], "CANCELLED");
        let (status, reset) = admin.call("POST", "/reset", None).await;
        assert_eq!(status, 200);
        assert_eq!(reset["tokens"].as_array().map(Vec::len), Some(5));
        let (_, orders) = admin.call("GET", "/orders", None).await;
        assert_eq!(orders["orders"], json!([]));
        let (_, requests) = admin.call("GET", "/requests", None).await;
        assert_eq!(requests["requests"], json!([]));
        let (_, listed) = admin.call("GET", "/tokens", None).await;
        let card = listed["tokens"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["id"] == tokens::ACTIVE_CARD))
            .expect("the card token");
        assert_eq!(card["status"], "ACTIVE", "back to its seeded status");
        // After a reset a used key is free again.
        let again = post_order(&base, tokens::ACTIVE_INVOICE, &authorization, "a-1").await;
        assert_eq!(again.status().as_u16(), 200);
        assert_eq!(sandbox.orders().len(), 1);
    })
    .await;
}

#[tokio::test]
async fn the_clock_moves_past_the_idempotency_window() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let base = sandbox.base_url();
        let authorization = format!("Basic {}", basic_value());
        let first = post_order(&base, tokens::ACTIVE_INVOICE, &authorization, "day-1").await;
        let first: Value = first.json().await.expect("json");
        let (status, now) = admin
            .call("POST", "/clock/advance", Some(json!({"seconds": 86_400})))
            .await;
        assert_eq!(status, 200);
        assert!(
            now["now_ms"].as_u64().is_some_and(|ms| ms >= 86_400_000),
            "{now}"
        );
        let (_, read) = admin.call("GET", "/clock", None).await;
        assert!(read["now_ms"].as_u64() >= now["now_ms"].as_u64());
        let second = post_order(&base, tokens::ACTIVE_INVOICE, &authorization, "day-1").await;
        let second: Value = second.json().await.expect("json");
        assert_ne!(first["order_id"], second["order_id"], "the key expired");
        let (status, _) = admin
            .call("POST", "/clock/advance", Some(json!({"seconds": -1})))
            .await;
        assert_eq!(status, 400);
    })
    .await;
}

#[tokio::test]
async fn admin_requests_are_bounded_and_routed() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let response = crate::support::http()
            .post(format!("{}/faults", admin.base))
            .header("content-type", "application/json")
            .body(vec![b' '; 65 * 1024])
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 413);
        let (status, e) = admin.call("GET", "/nothing-here", None).await;
        assert_eq!((status, e["error_code"].clone()), (404, json!("NOT_FOUND")));
        let (status, _) = admin.call("PATCH", "/faults", None).await;
        assert_eq!(status, 405);
        let (status, _) = admin.call("POST", "/faults", Some(json!([1, 2]))).await;
        assert_eq!(status, 400);
    })
    .await;
}

#[tokio::test]
async fn an_admin_token_is_required_as_a_bearer_token() {
    within(async {
        let sandbox = Sandbox::builder()
            .admin(AdminAccess::Token("let-me-in".to_owned()))
            .start()
            .await
            .expect("start");
        let mut admin = Admin::new(&sandbox);
        let (status, e) = admin.call("GET", "/faults", None).await;
        assert_eq!(
            (status, e["error_code"].clone()),
            (401, json!("UNAUTHORIZED"))
        );
        admin.bearer = Some("let-me-i".to_owned());
        assert_eq!(admin.call("GET", "/faults", None).await.0, 401);
        admin.bearer = Some("let-me-in".to_owned());
        assert_eq!(admin.call("GET", "/faults", None).await.0, 200);
        assert!(!format!("{:?}", AdminAccess::Token("let-me-in".into())).contains("let-me-in"));
    })
    .await;
}

#[tokio::test]
async fn without_the_admin_api_its_paths_are_unknown() {
    within(async {
        let sandbox = Sandbox::start().await.expect("start");
        let response = crate::support::http()
            .get(format!("{}/__sandbox/faults", sandbox.base_url()))
            .header("authorization", format!("Basic {}", basic_value()))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status().as_u16(), 404);
        assert_eq!(sandbox.requests().len(), 1, "an ordinary request");
    })
    .await;
}

#[tokio::test]
async fn the_openapi_description_lists_every_admin_path_and_each_answers() {
    within(async {
        let raw = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/sandbox-admin.yaml"
        ))
        .expect("the description");
        let spec: Value = serde_norway::from_str(&raw).expect("YAML");
        assert_eq!(spec["openapi"], "3.0.3");
        let paths = spec["paths"].as_object().expect("paths");
        let mut listed: Vec<&str> = paths.keys().map(String::as_str).collect();
        listed.sort_unstable();
        assert_eq!(
            listed,
            [
                "/clock",
                "/clock/advance",
                "/faults",
                "/notifications",
                "/orders",
                "/orders/{order_id}/fraud-decision",
                "/requests",
                "/reset",
                "/tokens",
                "/tokens/{id}/status",
            ]
        );
        // Every GET the description lists answers 200.
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        for (path, item) in paths {
            if item.get("get").is_some() {
                let (status, body) = admin.call("GET", path, None).await;
                assert_eq!(status, 200, "{path}: {body}");
            }
        }
    })
    .await;
}

/// An admin request as a web page could send it: the status answered.
async fn raw_admin(
    sandbox: &Sandbox,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> u16 {
    let mut request =
        crate::support::http().request(method, format!("{}/__sandbox{path}", sandbox.base_url()));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request
        .body(body.to_owned())
        .send()
        .await
        .expect("an answer");
    response.status().as_u16()
}

#[tokio::test]
async fn a_web_page_cannot_steer_the_sandbox() {
    within(async {
        let sandbox = admin_sandbox().await;
        let admin = Admin::new(&sandbox);
        let fault = r#"{"kind": "gateway_502", "times": 1000}"#;
        let json = ("content-type", "application/json");
        // What a page can send without a preflight: text/plain, a form,
        // no content type at all: refused, nothing queued or reset.
        for content_type in [
            Some("text/plain"),
            Some("text/plain;charset=UTF-8"),
            Some("application/x-www-form-urlencoded"),
            Some("multipart/form-data; boundary=x"),
            None,
        ] {
            let headers: Vec<(&str, &str)> = content_type
                .map(|t| ("content-type", t))
                .into_iter()
                .collect();
            let status =
                raw_admin(&sandbox, reqwest::Method::POST, "/faults", &headers, fault).await;
            assert_eq!(status, 415, "{content_type:?}");
            let status = raw_admin(&sandbox, reqwest::Method::POST, "/reset", &headers, "").await;
            assert_eq!(status, 415, "{content_type:?}");
        }
        // A foreign Origin, even with JSON: refused.
        for origin in [
            "http://evil.example",
            "https://evil.example:8080",
            "null",
            "http://127.0.0.1.evil.example",
            "http://localhost.evil.example:8080",
        ] {
            let headers = [json, ("origin", origin)];
            let status =
                raw_admin(&sandbox, reqwest::Method::POST, "/faults", &headers, fault).await;
            assert_eq!(status, 403, "{origin}");
            let status = raw_admin(&sandbox, reqwest::Method::GET, "/orders", &headers, "").await;
            assert_eq!(status, 403, "{origin}");
        }
        // A foreign Host (DNS rebinding): refused, on the admin API and on
        // the Customer Token API.
        for host in [
            "evil.example",
            "evil.example:8080",
            "rebind.example.com:1234",
        ] {
            let headers = [json, ("host", host)];
            let status =
                raw_admin(&sandbox, reqwest::Method::POST, "/faults", &headers, fault).await;
            assert_eq!(status, 403, "{host}");
            let status = raw_admin(
                &sandbox,
                reqwest::Method::GET,
                "/orders",
                &[("host", host)],
                "",
            )
            .await;
            assert_eq!(status, 403, "{host}");
            let read = crate::support::http()
                .get(format!(
                    "{}/customer-token/v1/tokens/{}",
                    sandbox.base_url(),
                    tokens::ACTIVE_CARD
                ))
                .header("authorization", format!("Basic {}", basic_value()))
                .header("host", host)
                .send()
                .await
                .expect("an answer");
            assert_eq!(read.status().as_u16(), 403, "{host}");
        }
        let (_, faults) = admin.call("GET", "/faults", None).await;
        assert_eq!(faults["faults"], json!([]), "nothing was queued");
        assert!(sandbox.requests().is_empty(), "nothing was recorded");

        // A page served from loopback, and loopback host names, may.
        for (origin, host) in [
            ("http://127.0.0.1:3000", None),
            ("http://localhost:8080", Some("localhost")),
            ("http://[::1]:9", Some("[::1]:80")),
        ] {
            let mut headers = vec![json, ("origin", origin)];
            if let Some(host) = host {
                headers.push(("host", host));
            }
            let status =
                raw_admin(&sandbox, reqwest::Method::POST, "/faults", &headers, fault).await;
            assert_eq!(status, 201, "{origin} {host:?}");
        }
        let (_, faults) = admin.call("GET", "/faults", None).await;
        assert_eq!(faults["faults"].as_array().map(Vec::len), Some(3));
        // JSON with its parameters is JSON; GET and DELETE need no type.
        let status = raw_admin(
            &sandbox,
            reqwest::Method::POST,
            "/reset",
            &[("content-type", "Application/JSON; charset=utf-8")],
            "",
        )
        .await;
        assert_eq!(status, 200);
        let status = raw_admin(&sandbox, reqwest::Method::DELETE, "/faults", &[], "").await;
        assert_eq!(status, 200);
    })
    .await;
}
