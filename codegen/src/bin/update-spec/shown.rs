//! Addresses as the tool shows them: without user info, query or fragment,
//! where credentials and signed-link tokens live.

/// A URL as shown in the tool's output and the pull-request body:
/// `https://user:pass@host/path?token=x#f` shows as `https://host/path`.
/// Text that is not a URL loses everything from its first `?` or `#` and
/// everything up to the last `@` of its authority, in the same way.
pub fn shown_url(url: &str) -> String {
    if let Ok(mut parsed) = reqwest::Url::parse(url)
        && parsed.has_host()
    {
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_query(None);
        parsed.set_fragment(None);
        return parsed.to_string();
    }
    let without_query = url.split(['?', '#']).next().unwrap_or_default();
    let (scheme, rest) = match without_query.split_once("://") {
        Some((scheme, rest)) => (format!("{scheme}://"), rest),
        None => (String::new(), without_query),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority.rsplit('@').next().unwrap_or_default();
    format!("{scheme}{host}{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_query_and_fragment_are_never_shown() {
        for (url, shown) in [
            ("https://user:pass@host/path?token=x", "https://host/path"),
            (
                "https://user@host:8443/a/b?x=1#frag",
                "https://host:8443/a/b",
            ),
            (
                "http://:secret@127.0.0.1:9/x.yaml",
                "http://127.0.0.1:9/x.yaml",
            ),
            ("https://host/path#sig=abc", "https://host/path"),
            ("https://host/p?", "https://host/p"),
            ("https://a%40b:p%3Ass@host/", "https://host/"),
            // Not URLs: cut the same way.
            ("https://us er:pa ss@ho st/pa?tok=1", "https://ho st/pa"),
            ("user:pass@host/path?token=x", "host/path"),
            ("no url at all?secret", "no url at all"),
        ] {
            assert_eq!(shown_url(url), shown, "{url}");
            for secret in ["pass", "token", "secret", "tok", "frag", "sig", "er:"] {
                assert!(!shown_url(url).contains(secret), "{url}");
            }
        }
    }
}
