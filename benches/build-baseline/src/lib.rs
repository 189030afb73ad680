//! One JSON call with reqwest, serde and tokio: what a hand-written client
//! of the Customer Token API needs at the least.

use serde::{Deserialize, Serialize};

/// A request body.
#[derive(Serialize)]
pub struct Order {
    /// Total in minor units.
    pub order_amount: i64,
    /// ISO 4217 code.
    pub purchase_currency: String,
}

/// An answer.
#[derive(Deserialize)]
pub struct Created {
    /// Klarna's order id.
    pub order_id: String,
}

/// Sends the order, waiting at most 30 s, and decodes the answer.
pub async fn create(
    client: &reqwest::Client,
    url: &str,
    order: &Order,
) -> Result<Option<Created>, reqwest::Error> {
    let send = client.post(url).json(order).send();
    match tokio::time::timeout(std::time::Duration::from_secs(30), send).await {
        Ok(answer) => Ok(Some(answer?.json().await?)),
        Err(_) => Ok(None),
    }
}
