//! Reading a request's path: which operation's template it has, where its
//! token is, and a segment's `%XX` escapes decoded. A leaf: the router, the
//! request log and the admin API use it.

use klarna_customer_token::Operation;

/// How the API's path templates write the customer token's segment.
const TOKEN_SEGMENT: &str = "{customerToken}";

/// The operation's path template's text before and after its customer
/// token (`/customer-token/v1/tokens/` and `/order` for create-order).
pub(crate) fn around_token(operation: Operation) -> Option<(&'static str, &'static str)> {
    let template = operation.path_template();
    let at = template.find(TOKEN_SEGMENT)?;
    Some((&template[..at], &template[at + TOKEN_SEGMENT.len()..]))
}

/// The raw (still percent-encoded) customer token of `path`, when `path`
/// has the operation's template: as many segments, the literal ones equal,
/// the token's segment not empty. The method is not looked at.
pub(crate) fn token_segment(operation: Operation, path: &str) -> Option<&str> {
    let mut template = operation.path_template().split('/');
    let mut given = path.split('/');
    let mut token = None;
    loop {
        match (template.next(), given.next()) {
            (None, None) => return token,
            (Some(expected), Some(segment)) => {
                if expected == TOKEN_SEGMENT {
                    if segment.is_empty() {
                        return None;
                    }
                    token = Some(segment);
                } else if expected != segment {
                    return None;
                }
            }
            _ => return None,
        }
    }
}

/// A path segment with its `%XX` escapes decoded, if it is UTF-8 then.
pub(crate) fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_matches_a_template_segment_by_segment() {
        let prefix = "/customer-token/v1/tokens";
        let path = format!("{prefix}/a%20b/order");
        assert_eq!(token_segment(Operation::CreateOrder, &path), Some("a%20b"));
        for (op, path) in [
            (Operation::ReadToken, format!("{prefix}/")),
            (Operation::ReadToken, format!("{prefix}/t/")),
            (Operation::ReadToken, format!("{prefix}/t/order")),
            (Operation::CreateOrder, format!("{prefix}/t/orders")),
            (Operation::CreateOrder, format!("{prefix}//order")),
            (Operation::CancelToken, format!("{prefix}/t/status/x")),
            (
                Operation::CancelToken,
                "/customer-token/v2/tokens/t/status".into(),
            ),
        ] {
            assert!(token_segment(op, &path).is_none(), "{op} {path}");
        }
        assert_eq!(
            token_segment(Operation::ReadToken, &format!("{prefix}/t")),
            Some("t")
        );
        for op in Operation::ALL {
            let (before, after) = around_token(op).expect("a token segment");
            assert_eq!(
                format!("{before}{TOKEN_SEGMENT}{after}"),
                op.path_template()
            );
        }
    }
}
