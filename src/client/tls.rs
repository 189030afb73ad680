//! The TLS backend a build has, and the extra root certificates a client
//! trusts.

use crate::error::ConfigError;

#[cfg(feature = "rustls")]
fn select_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_rustls()
}

#[cfg(all(feature = "native-tls", not(feature = "rustls")))]
fn select_tls(builder: reqwest::ClientBuilder) -> reqwest::ClientBuilder {
    builder.tls_backend_native()
}

#[cfg(any(feature = "rustls", feature = "native-tls"))]
pub(super) fn configure_tls(
    builder: reqwest::ClientBuilder,
    pems: &[Vec<u8>],
    _https: bool,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    let mut certificates = Vec::new();
    for pem in pems {
        let bundle = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|_| ConfigError::new("a root certificate is not valid PEM"))?;
        if bundle.is_empty() {
            return Err(ConfigError::new(
                "a root certificate bundle holds no certificate",
            ));
        }
        certificates.extend(bundle);
    }
    let builder = select_tls(builder);
    Ok(if certificates.is_empty() {
        builder
    } else {
        builder.tls_certs_merge(certificates)
    })
}

#[cfg(not(any(feature = "rustls", feature = "native-tls")))]
pub(super) fn configure_tls(
    builder: reqwest::ClientBuilder,
    pems: &[Vec<u8>],
    https: bool,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    if https || !pems.is_empty() {
        return Err(ConfigError::new(
            "this build has no TLS: enable the `rustls` or `native-tls` feature",
        ));
    }
    Ok(builder)
}
