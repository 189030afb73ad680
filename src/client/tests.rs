//! Unit tests of `client`.

use super::*;
use crate::endpoint::Region;

fn config_error(builder: ClientBuilder) -> String {
    match builder.build() {
        Err(Error::Config(e)) => e.to_string(),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[test]
fn build_refuses_missing_parts() {
    assert!(config_error(Client::builder().endpoint(Endpoint::Kustom)).contains("no credentials"));
    assert!(config_error(Client::builder().api_key("k")).contains("no server"));
    assert!(
        config_error(
            Client::builder()
                .api_key("")
                .endpoint(Endpoint::KustomPlayground)
        )
        .contains("empty")
    );
}

#[test]
fn build_refuses_keys_of_the_wrong_environment() {
    let live = Endpoint::Klarna(Region::Europe);
    let test = Endpoint::KlarnaPlayground(Region::Oceania);
    let msg = config_error(
        Client::builder()
            .api_key("klarna_test_api_secret")
            .endpoint(live),
    );
    assert!(msg.contains("test API key"), "{msg}");
    assert!(!msg.contains("secret"));
    let msg = config_error(
        Client::builder()
            .api_key("kco_live_api_secret")
            .endpoint(test),
    );
    assert!(msg.contains("live API key"), "{msg}");
    let msg = config_error(
        Client::builder()
            .basic_auth("0d4e-uuid", "kco_test_api_secret")
            .endpoint(Endpoint::Kustom),
    );
    assert!(msg.contains("test API key"), "{msg}");
    assert!(
        Client::builder()
            .api_key("klarna_live_api_x")
            .endpoint(live)
            .build()
            .is_ok()
    );
    assert!(
        Client::builder()
            .api_key("kco_test_api_x")
            .endpoint(Endpoint::KustomPlayground)
            .build()
            .is_ok()
    );
    assert!(
        Client::builder()
            .basic_auth("K1_a", "s")
            .endpoint(live)
            .build()
            .is_ok()
    );
}

#[test]
fn build_checks_the_base_url() {
    let ok = |url: &str| {
        Client::builder()
            .api_key("k")
            .base_url(url)
            .build()
            .map(|c| c.base_url().to_owned())
    };
    assert_eq!(
        ok("http://127.0.0.1:8080/").unwrap(),
        "http://127.0.0.1:8080"
    );
    assert_eq!(ok("http://localhost:1//").unwrap(), "http://localhost:1");
    assert_eq!(
        ok("http://[::1]:9/prefix/").unwrap(),
        "http://[::1]:9/prefix"
    );
    assert_eq!(ok("https://api.example/").unwrap(), "https://api.example");
    assert!(ok("http://10.0.0.1:8080").is_err());
    assert!(ok("http://example.com").is_err());
    assert!(ok("ftp://127.0.0.1").is_err());
    assert!(ok("https://user:pw@api.example").is_err());
    assert!(ok("https://api.example/?q=1").is_err());
    assert!(ok("not a url").is_err());
    let insecure = Client::builder()
        .api_key("k")
        .base_url("http://example.com")
        .allow_insecure_http()
        .build();
    assert!(insecure.is_ok());
}

#[test]
fn last_call_wins() {
    let c = Client::builder()
        .api_key("klarna_test_api_x")
        .endpoint(Endpoint::Klarna(Region::Europe))
        .base_url("http://127.0.0.1:1")
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "http://127.0.0.1:1");
    let c = Client::builder()
        .basic_auth("u", "p")
        .base_url("http://127.0.0.1:1")
        .endpoint(Endpoint::Kustom)
        .build()
        .unwrap();
    assert_eq!(c.base_url(), "https://api.kustom.co");
    // The later api_key replaces the test-environment basic auth.
    assert!(
        Client::builder()
            .basic_auth("u", "klarna_test_api_x")
            .api_key("klarna_live_api_y")
            .endpoint(Endpoint::Klarna(Region::Europe))
            .build()
            .is_ok()
    );
}

#[test]
fn debug_never_shows_secrets() {
    let builder = Client::builder()
        .basic_auth("K123_user", "hunter2-secret")
        .proxy("http://proxyuser:proxypass@127.0.0.1:3128")
        .base_url("http://127.0.0.1:9");
    let shown = format!("{builder:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("proxypass") && !shown.contains("K123_user"),
        "{shown}"
    );
    let client = builder.build().unwrap();
    let shown = format!("{client:?}");
    assert!(
        !shown.contains("hunter2") && !shown.contains("K123_user"),
        "{shown}"
    );
    let shown = format!("{:?}", client.shared());
    assert!(!shown.contains("hunter2"), "{shown}");
    // A base URL with user information or a query, before build() refuses
    // it, is shown without them.
    for url in [
        "https://K123_user:hunter2-secret@api.example/v1?key=hunter2-secret#hunter2",
        "http://K123_user:hunter2-secret@[not a host/x?hunter2",
    ] {
        let shown = format!("{:?}", Client::builder().base_url(url));
        assert!(
            !shown.contains("hunter2") && !shown.contains("K123_user"),
            "{shown}"
        );
        assert!(
            shown.contains("api.example/v1") || shown.contains("[not a host/x"),
            "{shown}"
        );
    }
}

#[test]
fn proxy_credentials_are_scrubbed_in_every_form() {
    let forms = echo_forms(
        &Credentials::ApiKey(SecretString::from("klarna_test_api_abc")),
        Some(&SecretString::from(
            "http://proxy%20user:pr%26xy-pass@127.0.0.1:3128",
        )),
    );
    let forms: Vec<&str> = forms.iter().map(|f| f.expose_secret()).collect();
    for wanted in [
        "pr&xy-pass",
        "proxy user",
        "proxy user:pr&xy-pass",
        "klarna_test_api_abc",
    ] {
        assert!(forms.contains(&wanted), "{wanted}: {forms:?}");
        let base64 = base64::engine::general_purpose::STANDARD.encode(wanted);
        assert!(forms.contains(&base64.as_str()), "{base64}: {forms:?}");
    }
    // Longest first.
    assert!(forms.windows(2).all(|w| w[0].len() >= w[1].len()));
}

#[test]
fn credentials_are_encoded_as_documented() {
    let basic = Credentials::Basic {
        username: "K123456_abcd12345".into(),
        password: SecretString::from("shared-secret"),
    };
    assert_eq!(
        basic.header().unwrap().to_str().unwrap(),
        "Basic SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA=="
    );
    assert!(basic.header().unwrap().is_sensitive());
    let key = Credentials::ApiKey(SecretString::from("klarna_test_api_abc"));
    assert_eq!(
        key.header().unwrap().to_str().unwrap(),
        "Basic klarna_test_api_abc"
    );
    let bad = Credentials::ApiKey(SecretString::from("a\nb"));
    assert!(bad.header().is_err());
}

#[test]
fn user_agent_follows_klarna_convention() {
    let ua = user_agent(Some("Platform/acme_1.0")).unwrap();
    let ua = ua.to_str().unwrap();
    assert!(
        ua.starts_with(&format!(
            "Library/klarna-customer-token_{} Language/Rust_",
            env!("CARGO_PKG_VERSION")
        )),
        "{ua}"
    );
    assert!(ua.contains(" OS/"), "{ua}");
    assert!(ua.ends_with(" Platform/acme_1.0"), "{ua}");
    assert!(user_agent(Some("bad\nsuffix")).is_err());
}

#[test]
fn proxies_and_certificates_are_checked_without_echo() {
    let msg = config_error(
        Client::builder()
            .api_key("k")
            .base_url("http://127.0.0.1:9")
            .proxy("http://user:proxy-secret@[not a host"),
    );
    assert!(msg.contains("proxy"), "{msg}");
    assert!(!msg.contains("proxy-secret"), "{msg}");
    let msg = config_error(
        Client::builder()
            .api_key("k")
            .base_url("http://127.0.0.1:9")
            .add_root_certificate_pem(b"not a certificate".to_vec()),
    );
    assert!(msg.contains("certificate"), "{msg}");
    assert!(
        Client::builder()
            .api_key("k")
            .base_url("http://127.0.0.1:9")
            .proxy("http://127.0.0.1:3128")
            .build()
            .is_ok()
    );
}

#[test]
fn client_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Client>();
}
