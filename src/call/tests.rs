use super::*;

/// Read-token as an operation that is not safe to retry would be: the
/// same generated call, its route's flag off.
struct ReadOnce;

impl Exchange for ReadOnce {
    type Value = TokenDetails;
    const OPERATION: Operation = Operation::ReadToken;
    const SAFE_TO_RETRY: bool = false;
    fn attempt<'a>(
        &'a self,
        api: &'a crate::generated::Client,
        token: &'a str,
        key: Option<&'a str>,
    ) -> impl Future<Output = Answered<TokenDetails>> + Send + 'a {
        ReadToken.attempt(api, token, key)
    }
    fn decode(body: &[u8]) -> Decoded<TokenDetails> {
        ReadToken::decode(body)
    }
}

async fn attempts_against_a_503<X: Exchange>(exchange: X) -> usize {
    let server = httpmock::MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(httpmock::Method::GET);
            then.status(503);
        })
        .await;
    let client = Client::builder()
        .basic_auth("K123456_abcd12345", "shared-secret")
        .base_url(server.base_url())
        .retry_policy(
            RetryPolicy::default()
                .with_max_retries(2)
                .with_initial_backoff(Duration::from_millis(1)),
        )
        .build()
        .expect("client");
    let token = CustomerToken::new("0b1d9815-165e-42e2-8867-35bc03789e00").expect("token");
    let common = Common::new(&client, &token);
    let e = attempts(&common, &exchange, None)
        .await
        .err()
        .expect("a 503");
    assert_eq!(e.status(), Some(503));
    mock.calls_async().await
}

/// The loop reads the flag, and nothing else changes: a 503 is retried
/// for an operation that is safe to retry, and sent once for one that
/// is not, whatever the policy.
#[tokio::test]
async fn an_operation_not_safe_to_retry_is_sent_once() {
    assert_eq!(attempts_against_a_503(ReadToken).await, 3);
    assert_eq!(attempts_against_a_503(ReadOnce).await, 1);
}
