//! Signed notification URLs: the charge's key and an HMAC-SHA256 of it.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;

use crate::idempotency::IdempotencyKey;

/// The query parameter that carries the key.
const KEY_PARAM: &str = "klarna_key";
/// The query parameter that carries the MAC. The client's scrub hides its
/// value wherever a URL is shown.
pub(crate) const SIG_PARAM: &str = "klarna_sig";
/// What the MAC covers before the key: the purpose and its version, so
/// that a MAC made here is never valid for anything else signed with the
/// same secret.
const DOMAIN: &[u8] = b"klarna-customer-token/notification-url/v1\0";
/// The shortest secret taken: 256 bits.
const MIN_SECRET: usize = 32;
/// Klarna's limit on a merchant URL.
const MAX_URL: usize = 2000;

/// `text` with the value of every `klarna_sig=` parameter replaced by
/// `[REDACTED]`: a signed notification URL is a secret, and is never shown
/// whole. The client scrubs what it shows with it; use it on anything else
/// that may carry a signed URL before logging it.
///
/// ```
/// use klarna_customer_token::notification::hide_signatures;
///
/// assert_eq!(
///     hide_signatures("https://shop.example/n?klarna_key=k&klarna_sig=c2VjcmV0"),
///     "https://shop.example/n?klarna_key=k&klarna_sig=[REDACTED]"
/// );
/// ```
pub fn hide_signatures(text: &str) -> std::borrow::Cow<'_, str> {
    const NEEDLE: &str = "klarna_sig=";
    if !text.contains(NEEDLE) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(NEEDLE) {
        let value = at + NEEDLE.len();
        out.push_str(&rest[..value]);
        out.push_str("[REDACTED]");
        let end = rest[value..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '%' | '=')))
            .map_or(rest.len(), |n| value + n);
        rest = &rest[end..];
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

/// Makes and checks notification URLs that carry a charge's idempotency
/// key and an HMAC-SHA256 of it under a secret; see the
/// [module docs](super) for what it protects against and what not.
///
/// The secret is held in [`secrecy`] memory and never shown by `Debug`.
/// Rotate it by verifying with the old and the new signer for 24 hours
/// (Klarna's delivery window).
#[derive(Clone)]
pub struct NotificationSigner {
    secret: SecretSlice<u8>,
}

impl fmt::Debug for NotificationSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NotificationSigner { secret: [REDACTED] }")
    }
}

/// Why a notification URL could not be made or did not verify. Its
/// `Display` never shows the URL or the MAC.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotificationError {
    /// The secret is shorter than 32 bytes.
    #[error("a notification secret must be at least {MIN_SECRET} bytes")]
    ShortSecret,
    /// The base URL cannot carry a signed query: not an absolute http or
    /// https URL, with user information or a fragment, already carrying one
    /// of the crate's parameters, or too long once signed.
    #[error("the notification base URL cannot be used: {0}")]
    BaseUrl(&'static str),
    /// The request's URL is not a URL, or lacks the key or the MAC, or
    /// carries either twice.
    #[error("the notification URL is not signed: {0}")]
    Unsigned(&'static str),
    /// The MAC does not match the key: a forged or altered URL.
    #[error("the notification URL's signature does not match")]
    Forged,
}

impl NotificationSigner {
    /// A signer with this secret (at least 32 bytes; 32 random bytes from a
    /// vault are the intended use).
    ///
    /// # Errors
    /// [`NotificationError::ShortSecret`].
    pub fn new(secret: impl Into<Vec<u8>>) -> Result<Self, NotificationError> {
        let secret: Vec<u8> = secret.into();
        if secret.len() < MIN_SECRET {
            return Err(NotificationError::ShortSecret);
        }
        Ok(Self {
            secret: SecretSlice::from(secret),
        })
    }

    /// The MAC state over the domain and `key`. HMAC takes a secret of any
    /// length, so the error is not expected; it is reported, never papered
    /// over with another secret.
    fn mac(&self, key: &str) -> Result<Hmac<Sha256>, NotificationError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.secret.expose_secret())
            .map_err(|_| NotificationError::ShortSecret)?;
        mac.update(DOMAIN);
        mac.update(key.as_bytes());
        Ok(mac)
    }

    /// The URL to put in the order's `merchant_urls.notification`: `base`
    /// with `klarna_key=<key>&klarna_sig=<MAC>` added to its query.
    ///
    /// # Errors
    /// [`NotificationError::BaseUrl`] when `base` is not an absolute http
    /// or https URL, has user information or a fragment, already has a
    /// `klarna_key` or `klarna_sig` parameter, or the result would be
    /// longer than Klarna's 2000 characters.
    pub fn url(&self, base: &str, key: &IdempotencyKey) -> Result<String, NotificationError> {
        let mut url =
            url::Url::parse(base).map_err(|_| NotificationError::BaseUrl("not an absolute URL"))?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(NotificationError::BaseUrl("not an http or https URL"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(NotificationError::BaseUrl("it carries user information"));
        }
        if url.fragment().is_some() {
            return Err(NotificationError::BaseUrl("it carries a fragment"));
        }
        if url
            .query_pairs()
            .any(|(name, _)| name == KEY_PARAM || name == SIG_PARAM)
        {
            return Err(NotificationError::BaseUrl(
                "it already carries klarna_key or klarna_sig",
            ));
        }
        let sig = URL_SAFE_NO_PAD.encode(self.mac(key.as_str())?.finalize().into_bytes());
        url.query_pairs_mut()
            .append_pair(KEY_PARAM, key.as_str())
            .append_pair(SIG_PARAM, &sig);
        let url = String::from(url);
        if url.len() > MAX_URL {
            return Err(NotificationError::BaseUrl(
                "the signed URL is longer than 2000 characters",
            ));
        }
        Ok(url)
    }

    /// Checks an incoming request's URL (absolute, or the path and query a
    /// server sees, `/notify?klarna_key=…&klarna_sig=…`) and returns the
    /// key it was signed for. The MAC is compared in constant time.
    ///
    /// # Errors
    /// [`NotificationError::Unsigned`] when the URL cannot be read or lacks
    /// (or repeats) the key or the MAC; [`NotificationError::Forged`] when
    /// the MAC does not match.
    pub fn verify(&self, request_url: &str) -> Result<IdempotencyKey, NotificationError> {
        let url = if request_url.starts_with('/') {
            url::Url::parse("http://localhost").and_then(|base| base.join(request_url))
        } else {
            url::Url::parse(request_url)
        }
        .map_err(|_| NotificationError::Unsigned("not a URL"))?;
        let (mut key, mut sig) = (None, None);
        for (name, value) in url.query_pairs() {
            let slot = match name.as_ref() {
                KEY_PARAM => &mut key,
                SIG_PARAM => &mut sig,
                _ => continue,
            };
            if slot.replace(value.into_owned()).is_some() {
                return Err(NotificationError::Unsigned("a parameter is repeated"));
            }
        }
        let key = key.ok_or(NotificationError::Unsigned("no klarna_key"))?;
        let sig = sig.ok_or(NotificationError::Unsigned("no klarna_sig"))?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig.as_bytes())
            .map_err(|_| NotificationError::Forged)?;
        self.mac(&key)?
            .verify_slice(&sig)
            .map_err(|_| NotificationError::Forged)?;
        IdempotencyKey::new(key).map_err(|_| NotificationError::Forged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(byte: u8) -> NotificationSigner {
        NotificationSigner::new(vec![byte; 32]).unwrap()
    }

    fn key(n: u32) -> IdempotencyKey {
        IdempotencyKey::for_charge("ns", "c", n)
    }

    #[test]
    fn a_signed_url_verifies_absolute_and_as_a_path() {
        let s = signer(1);
        let url = s.url("https://shop.example/hook?shop=7", &key(1)).unwrap();
        assert!(
            url.starts_with("https://shop.example/hook?shop=7&klarna_key="),
            "{url}"
        );
        assert_eq!(s.verify(&url).unwrap(), key(1));
        let path = &url["https://shop.example".len()..];
        assert_eq!(s.verify(path).unwrap(), key(1));
    }

    #[test]
    fn forged_and_altered_urls_are_refused() {
        let s = signer(1);
        let url = s.url("http://127.0.0.1:9/n", &key(1)).unwrap();
        // Another secret.
        assert_eq!(signer(2).verify(&url), Err(NotificationError::Forged));
        // Another key with this key's MAC.
        let other = url.replace(key(1).as_str(), key(2).as_str());
        assert_eq!(s.verify(&other), Err(NotificationError::Forged));
        // Every single-character change of the MAC.
        let at = url.find("klarna_sig=").unwrap() + "klarna_sig=".len();
        for i in at..url.len() {
            let mut bytes = url.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let altered = String::from_utf8(bytes).unwrap();
            assert!(s.verify(&altered).is_err(), "{i}");
        }
        // Truncated, missing, repeated.
        assert!(s.verify(&url[..url.len() - 1]).is_err());
        assert!(matches!(
            s.verify("http://127.0.0.1/n"),
            Err(NotificationError::Unsigned(_))
        ));
        let twice = format!("{url}&klarna_key={}", key(2));
        assert_eq!(
            s.verify(&twice),
            Err(NotificationError::Unsigned("a parameter is repeated"))
        );
        assert!(s.verify("not a url").is_err());
    }

    #[test]
    fn bases_that_cannot_carry_a_signature() {
        let s = signer(1);
        for base in [
            "shop.example/hook",
            "ftp://shop.example/hook",
            "https://u:p@shop.example/hook",
            "https://shop.example/hook#x",
            "https://shop.example/hook?klarna_sig=1",
        ] {
            assert!(
                matches!(s.url(base, &key(1)), Err(NotificationError::BaseUrl(_))),
                "{base}"
            );
        }
        let long = format!("https://shop.example/{}", "a".repeat(1950));
        assert!(s.url(&long, &key(1)).is_err());
    }

    #[test]
    fn signatures_are_hidden_wherever_shown() {
        let url = signer(1).url("https://shop.example/n", &key(1)).unwrap();
        let sig = url.split("klarna_sig=").nth(1).unwrap().to_owned();
        for text in [
            url.clone(),
            format!(r#"{{"notification":"{url}","x":1}}"#),
            format!("{url}&klarna_sig={sig} and again {url}"),
        ] {
            let shown = hide_signatures(&text);
            assert!(!shown.contains(&sig), "{shown}");
            assert!(shown.contains("klarna_sig=[REDACTED]"), "{shown}");
        }
        assert_eq!(hide_signatures("no signature"), "no signature");
    }

    #[test]
    fn short_secrets_and_debug() {
        assert_eq!(
            NotificationSigner::new(vec![1; 31]).unwrap_err(),
            NotificationError::ShortSecret
        );
        let shown = format!(
            "{:?}",
            NotificationSigner::new(b"s3cr3t-s3cr3t-s3cr3t-s3cr3t-s3cr3t".to_vec()).unwrap()
        );
        assert!(!shown.contains("s3cr3t"), "{shown}");
    }
}
