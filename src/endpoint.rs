//! The servers the client can talk to: the one table of hosts.

/// A region of Klarna's hosts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Region {
    /// Europe (`api.klarna.com`).
    Europe,
    /// North America (`api-na.klarna.com`).
    NorthAmerica,
    /// Oceania (`api-oc.klarna.com`).
    Oceania,
}

/// A server that serves the Customer Token API.
///
/// ```
/// use klarna_customer_token::{Endpoint, Region};
/// assert_eq!(Endpoint::KlarnaPlayground(Region::Europe).base_url(), "https://api.playground.klarna.com");
/// assert!(Endpoint::Kustom.is_live());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Endpoint {
    /// Klarna's live hosts.
    Klarna(Region),
    /// Klarna's playground (test) hosts.
    KlarnaPlayground(Region),
    /// Kustom Checkout's live host.
    Kustom,
    /// Kustom Checkout's playground (test) host.
    KustomPlayground,
}

impl Endpoint {
    /// The base URL of the host.
    pub fn base_url(self) -> &'static str {
        match self {
            Self::Klarna(Region::Europe) => "https://api.klarna.com",
            Self::Klarna(Region::NorthAmerica) => "https://api-na.klarna.com",
            Self::Klarna(Region::Oceania) => "https://api-oc.klarna.com",
            Self::KlarnaPlayground(Region::Europe) => "https://api.playground.klarna.com",
            Self::KlarnaPlayground(Region::NorthAmerica) => "https://api-na.playground.klarna.com",
            Self::KlarnaPlayground(Region::Oceania) => "https://api-oc.playground.klarna.com",
            Self::Kustom => "https://api.kustom.co",
            Self::KustomPlayground => "https://api.playground.kustom.co",
        }
    }

    /// Whether this host charges real money.
    pub fn is_live(self) -> bool {
        matches!(self, Self::Klarna(_) | Self::Kustom)
    }
}
