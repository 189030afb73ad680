//! Where the sandbox may deliver notifications: loopback, and the hosts
//! the operator allows. Checked when an order is created, and again when a
//! name is resolved.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::Host;

/// The notification hosts a sandbox accepts: loopback (`127.0.0.0/8`,
/// `::1`, `localhost`) and the ones allowed by name or address.
#[derive(Clone, Debug, Default)]
pub(crate) struct Targets {
    /// Lowercased, IPv6 addresses without brackets.
    allowed: Arc<[String]>,
}

impl Targets {
    pub(crate) fn new(allowed: &[String]) -> Self {
        let allowed: Vec<String> = allowed.iter().map(|host| normalize(host)).collect();
        Self {
            allowed: allowed.into(),
        }
    }

    fn allows(&self, host: &str) -> bool {
        self.allowed.iter().any(|allowed| allowed == host)
    }

    /// Whether the sandbox may deliver to this URL; the message names what
    /// is wrong, never the URL's query (it may carry a signature).
    pub(crate) fn check(&self, url: &str) -> Result<(), String> {
        let parsed =
            url::Url::parse(url).map_err(|e| format!("not an absolute http(s) URL ({e})"))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(format!(
                "the scheme {:?} is not http or https",
                parsed.scheme()
            ));
        }
        let allowed = match parsed.host() {
            Some(Host::Domain(name)) => {
                let name = name.to_ascii_lowercase();
                name == "localhost" || self.allows(&name)
            }
            Some(Host::Ipv4(ip)) => ip.is_loopback() || self.allows(&ip.to_string()),
            Some(Host::Ipv6(ip)) => ip.is_loopback() || self.allows(&ip.to_string()),
            None => return Err("the URL has no host".to_owned()),
        };
        if allowed {
            return Ok(());
        }
        let host = parsed.host_str().unwrap_or_default();
        Err(format!(
            "the sandbox delivers notifications only to loopback (127.0.0.0/8, ::1, localhost) \
             and to hosts its operator allows (klarna-sandbox --notify-allow HOST, \
             SandboxBuilder::notify_allow); {host:?} is neither"
        ))
    }
}

fn normalize(host: &str) -> String {
    let host = host.trim().to_ascii_lowercase();
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(&host);
    match host.parse::<IpAddr>() {
        Ok(ip) => ip.to_string(),
        Err(_) => host.to_owned(),
    }
}

/// Resolves `localhost` to loopback only, an allowed name through the
/// system's resolver, and nothing else: even a URL that slipped past
/// [`Targets::check`] reaches no other host.
pub(crate) struct Resolver {
    pub(crate) targets: Targets,
}

impl reqwest::dns::Resolve for Resolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        if host == "localhost" {
            let addrs: reqwest::dns::Addrs = Box::new(
                [
                    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
                    SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), 0),
                ]
                .into_iter(),
            );
            return Box::pin(std::future::ready(Ok(addrs)));
        }
        if !self.targets.allows(&host) {
            let refused: Box<dyn std::error::Error + Send + Sync> =
                format!("{host:?} is not a loopback name or an allowed host").into();
            return Box::pin(std::future::ready(Err(refused)));
        }
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_allowed_hosts_only() {
        let none = Targets::default();
        for ok in [
            "http://127.0.0.1:8080/n?k=1&klarna_sig=x",
            "http://127.9.8.7/n",
            "http://localhost:1/n",
            "http://LOCALHOST/n",
            "https://[::1]:443/n",
            "http://127.1/n",
        ] {
            assert_eq!(none.check(ok), Ok(()), "{ok}");
        }
        for refused in [
            "http://shop.invalid/n?klarna_sig=s3cret",
            "http://10.0.0.1/n",
            "http://[::ffff:127.0.0.1]/n",
            "http://localhost.invalid/n",
            "http://0.0.0.0/n",
        ] {
            let e = none.check(refused).expect_err(refused);
            assert!(e.contains("is neither") && !e.contains("s3cret"), "{e}");
        }
        assert!(none.check("ftp://127.0.0.1/n").is_err());
        assert!(none.check("/relative").is_err());
        let some = Targets::new(&["Shop.Invalid".to_owned(), "[FD00::1]".to_owned()]);
        assert_eq!(some.check("http://shop.invalid/n"), Ok(()));
        assert_eq!(some.check("http://[fd00::1]/n"), Ok(()));
        assert!(some.check("http://other.invalid/n").is_err());
    }
}
