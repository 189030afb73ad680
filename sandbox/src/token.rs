//! The tokens a sandbox knows.

use super::review::FraudReview;
use super::tokens;
use super::wire::{Card, DirectDebit, TokenBody};
use klarna_customer_token::{PaymentMethodType, TokenStatus};

/// A token to add to a sandbox.
///
/// ```
/// use klarna_customer_token_sandbox::SandboxToken;
/// use klarna_customer_token::{PaymentMethodType, TokenStatus};
///
/// let token = SandboxToken::new("my-token-1234", PaymentMethodType::Card)
///     .with_status(TokenStatus::Active)
///     .with_card("MASTERCARD", "01/2031", "************4444");
/// assert_eq!(token.status(), &TokenStatus::Active);
/// assert_eq!(token.card().map(|c| c.brand()), Some("MASTERCARD"));
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SandboxToken {
    pub(crate) id: String,
    pub(crate) status: TokenStatus,
    pub(crate) payment_method_type: PaymentMethodType,
    pub(crate) card: Option<Card>,
    pub(crate) direct_debit: Option<DirectDebit>,
    pub(crate) fraud_review: FraudReview,
}

impl SandboxToken {
    /// Reads tokens from JSON: one token object, or a list of them, as the
    /// admin API and `klarna-sandbox --tokens FILE` take them:
    ///
    /// ```
    /// use klarna_customer_token_sandbox::SandboxToken;
    ///
    /// let tokens = SandboxToken::from_json(br#"[
    ///     {"id": "my-card-token-0001", "payment_method_type": "CARD", "status": "ACTIVE",
    ///      "card": {"brand": "VISA", "expiry_date": "12/2031", "masked_number": "************1111"}},
    ///     {"id": "my-invoice-token-0002", "payment_method_type": "INVOICE", "status": "SUSPENDED"}
    /// ]"#)?;
    /// assert_eq!(tokens.len(), 2);
    /// # Ok::<(), klarna_customer_token_sandbox::InvalidTokens>(())
    /// ```
    ///
    /// `status` defaults to `ACTIVE`; `card` and `direct_debit` are
    /// optional; any other field is refused.
    ///
    /// # Errors
    /// [`InvalidTokens`] naming the JSON path of the first thing wrong,
    /// such as `[1].card.brand`: not JSON, an unknown field, an id that is
    /// not a valid customer token, or a status or payment method type
    /// Klarna does not document.
    pub fn from_json(raw: &[u8]) -> Result<Vec<Self>, InvalidTokens> {
        super::admin::parse_tokens(raw).map_err(|(path, message)| InvalidTokens { path, message })
    }

    /// An active token with this id and payment method.
    pub fn new(id: impl Into<String>, payment_method_type: PaymentMethodType) -> Self {
        Self {
            id: id.into(),
            status: TokenStatus::Active,
            payment_method_type,
            card: None,
            direct_debit: None,
            fraud_review: FraudReview::Off,
        }
    }
    /// The token's id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The token's status.
    pub fn status(&self) -> &TokenStatus {
        &self.status
    }
    /// The token's payment method type.
    pub fn payment_method_type(&self) -> &PaymentMethodType {
        &self.payment_method_type
    }
    /// The card details, if the token has them.
    pub fn card(&self) -> Option<&Card> {
        self.card.as_ref()
    }
    /// The direct-debit details, if the token has them.
    pub fn direct_debit(&self) -> Option<&DirectDebit> {
        self.direct_debit.as_ref()
    }
    /// How the token's orders pass fraud review (default
    /// [`FraudReview::Off`]: accepted at once).
    pub fn fraud_review(&self) -> FraudReview {
        self.fraud_review
    }
    /// Puts the token's orders under fraud review: with
    /// [`FraudReview::Pending`], create-order answers `fraud_status:
    /// "PENDING"` until [`Sandbox::decide_fraud`](super::Sandbox::decide_fraud)
    /// decides, and the sandbox then delivers the notification.
    ///
    /// ```
    /// use klarna_customer_token_sandbox::{FraudReview, SandboxToken};
    /// use klarna_customer_token::PaymentMethodType;
    ///
    /// let token = SandboxToken::new("under-review-0001", PaymentMethodType::Card)
    ///     .with_fraud_review(FraudReview::Pending);
    /// assert_eq!(token.fraud_review(), FraudReview::Pending);
    /// ```
    pub fn with_fraud_review(mut self, review: FraudReview) -> Self {
        self.fraud_review = review;
        self
    }
    /// Sets the token's status.
    pub fn with_status(mut self, status: TokenStatus) -> Self {
        self.status = status;
        self
    }
    /// Sets card details: brand, expiry (`MM/YYYY`) and masked number.
    pub fn with_card(
        mut self,
        brand: impl Into<String>,
        expiry_date: impl Into<String>,
        masked_number: impl Into<String>,
    ) -> Self {
        self.card = Some(Card::new(
            brand.into(),
            expiry_date.into(),
            masked_number.into(),
        ));
        self
    }
    /// Sets direct-debit details: the masked account number.
    pub fn with_direct_debit(mut self, masked_number: impl Into<String>) -> Self {
        self.direct_debit = Some(DirectDebit::new(masked_number.into()));
        self
    }

    /// What reading the token answers.
    pub(crate) fn details(&self) -> TokenBody {
        TokenBody {
            card: self.card.clone(),
            direct_debit: self.direct_debit.clone(),
            payment_method_type: self.payment_method_type.clone(),
            status: self.status.clone(),
        }
    }
}

/// Why [`SandboxToken::from_json`] refused its input: the first thing
/// wrong and its JSON path. Its `Display` is `path: message` (the message
/// alone for the document itself), and shows no value of the input.
///
/// ```
/// use klarna_customer_token_sandbox::SandboxToken;
///
/// let e = SandboxToken::from_json(br#"{"id": "my-token-0001", "payment_method_type": "CARD", "colour": "red"}"#)
///     .unwrap_err();
/// assert_eq!(e.path(), "[0].colour");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvalidTokens {
    path: String,
    message: String,
}

impl InvalidTokens {
    /// The JSON path of what is wrong, such as `[1].card.brand`; empty for
    /// the document itself.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// What is wrong there.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for InvalidTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

impl std::error::Error for InvalidTokens {}

/// The tokens every sandbox starts with (see [`tokens`]).
pub(crate) fn seeded_tokens() -> Vec<SandboxToken> {
    vec![
        SandboxToken::new(tokens::ACTIVE_INVOICE, PaymentMethodType::Invoice),
        SandboxToken::new(tokens::ACTIVE_CARD, PaymentMethodType::Card).with_card(
            "VISA",
            "12/2030",
            "************1234",
        ),
        SandboxToken::new(tokens::ACTIVE_DIRECT_DEBIT, PaymentMethodType::DirectDebit)
            .with_direct_debit("**********1240"),
        SandboxToken::new(tokens::SUSPENDED, PaymentMethodType::Invoice)
            .with_status(TokenStatus::Suspended),
        SandboxToken::new(tokens::CANCELLED, PaymentMethodType::Card)
            .with_status(TokenStatus::Cancelled)
            .with_card("MASTERCARD", "01/2029", "************4444"),
    ]
}
