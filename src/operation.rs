//! The operations of the Customer Token API and their routes: method, path
//! template and parameters. This is the one route table: the sandbox's
//! router matches requests against it, and a unit test below checks it
//! against the vendored API description.

use std::fmt;

/// The operations of the Customer Token API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[cfg_attr(
    feature = "serde",
    derive(serde::Serialize, serde::Deserialize),
    serde(rename_all = "snake_case")
)]
#[non_exhaustive]
pub enum Operation {
    /// Read a token (`readCustomerToken`).
    ReadToken,
    /// Create an order with a token (`createOrder`).
    CreateOrder,
    /// Cancel a token (`patchCustomerToken`).
    CancelToken,
}

/// Where a parameter is sent.
#[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// A `{name}` segment of the path template.
    Path,
    /// A request header.
    Header,
}

/// A parameter an operation sends.
#[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Parameter {
    pub(crate) location: Location,
    /// The name as the description spells it (header names are matched
    /// case-insensitively).
    pub(crate) name: &'static str,
    pub(crate) required: bool,
}

/// An operation's route.
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Debug)]
struct Route {
    method: &'static str,
    path: &'static str,
    parameters: &'static [Parameter],
    /// Whether an attempt that failed may be sent again (see
    /// [`Operation::is_safe_to_retry`]).
    safe_to_retry: bool,
}

/// The path parameter every operation takes.
const CUSTOMER_TOKEN: Parameter = Parameter {
    location: Location::Path,
    name: "customerToken",
    required: true,
};

/// The customer token's segment in a path template.
const CUSTOMER_TOKEN_SEGMENT: &str = "{customerToken}";

const READ_TOKEN: Route = Route {
    method: "GET",
    path: "/customer-token/v1/tokens/{customerToken}",
    parameters: &[CUSTOMER_TOKEN],
    // A read changes nothing.
    safe_to_retry: true,
};

const CREATE_ORDER: Route = Route {
    method: "POST",
    path: "/customer-token/v1/tokens/{customerToken}/order",
    parameters: &[
        CUSTOMER_TOKEN,
        Parameter {
            location: Location::Header,
            name: "Klarna-Idempotency-Key",
            required: false,
        },
    ],
    // Every attempt of a call carries the same idempotency key.
    safe_to_retry: true,
};

const CANCEL_TOKEN: Route = Route {
    method: "PATCH",
    path: "/customer-token/v1/tokens/{customerToken}/status",
    parameters: &[CUSTOMER_TOKEN],
    // Cancelling a cancelled token changes nothing.
    safe_to_retry: true,
};

impl Operation {
    /// The facade's name of the operation, such as `create_order`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReadToken => "read_token",
            Self::CreateOrder => "create_order",
            Self::CancelToken => "cancel_token",
        }
    }
    /// Klarna's `operationId`, such as `createOrder`.
    pub fn operation_id(self) -> &'static str {
        match self {
            Self::ReadToken => "readCustomerToken",
            Self::CreateOrder => "createOrder",
            Self::CancelToken => "patchCustomerToken",
        }
    }

    /// Every operation the facade implements.
    pub const ALL: [Operation; 3] = [Self::ReadToken, Self::CreateOrder, Self::CancelToken];

    /// The operation with this `operationId`, if the facade implements it.
    pub fn from_operation_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.operation_id() == id)
    }

    /// The operation with this facade name (see [`as_str`](Self::as_str)).
    #[cfg_attr(not(feature = "sandbox"), allow(dead_code))]
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|op| op.as_str() == name)
    }

    const fn route(self) -> &'static Route {
        match self {
            Self::ReadToken => &READ_TOKEN,
            Self::CreateOrder => &CREATE_ORDER,
            Self::CancelToken => &CANCEL_TOKEN,
        }
    }

    /// Whether the retry loop may send a failed attempt again. An operation
    /// that is not safe to retry says so in its route, and the loop then
    /// makes one attempt whatever the retry policy.
    pub(crate) const fn is_safe_to_retry(self) -> bool {
        self.route().safe_to_retry
    }

    /// The HTTP method the facade sends, such as `POST`.
    #[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
    pub(crate) fn http_method(self) -> &'static str {
        self.route().method
    }

    /// The path template the facade sends to, with `{name}` for each path
    /// parameter.
    #[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
    pub(crate) fn path_template(self) -> &'static str {
        self.route().path
    }

    /// The parameters the facade sends (the drift guard below checks them
    /// against the description).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn parameters(self) -> &'static [Parameter] {
        self.route().parameters
    }

    /// The path template's text before and after its customer token
    /// (`/customer-token/v1/tokens/` and `/order` for create-order).
    #[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
    pub(crate) fn around_token(self) -> Option<(&'static str, &'static str)> {
        let template = self.path_template();
        let at = template.find(CUSTOMER_TOKEN_SEGMENT)?;
        Some((
            &template[..at],
            &template[at + CUSTOMER_TOKEN_SEGMENT.len()..],
        ))
    }

    /// The raw (still percent-encoded) value of each path parameter, by
    /// name, when `path` has this operation's template: as many segments,
    /// the literal ones equal, each parameter's segment not empty. The
    /// method is not looked at.
    #[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
    pub(crate) fn match_path(self, path: &str) -> Option<PathParameters<'_>> {
        let mut template = self.path_template().split('/');
        let mut given = path.split('/');
        let mut values = PathParameters { values: Vec::new() };
        loop {
            match (template.next(), given.next()) {
                (None, None) => return Some(values),
                (Some(expected), Some(segment)) => {
                    match expected.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                        Some(name) if !segment.is_empty() => values.values.push((name, segment)),
                        Some(_) => return None,
                        None if expected == segment => {}
                        None => return None,
                    }
                }
                _ => return None,
            }
        }
    }
}

/// The path parameters of a matched request, as sent (percent-encoded).
#[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
#[derive(Debug)]
pub(crate) struct PathParameters<'a> {
    values: Vec<(&'static str, &'a str)>,
}

#[cfg_attr(not(any(feature = "sandbox", test)), allow(dead_code))]
impl<'a> PathParameters<'a> {
    /// The raw value of the parameter with this name.
    pub(crate) fn get(&self, name: &str) -> Option<&'a str> {
        self.values
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, value)| *value)
    }

    /// The raw value of the customer token, the one parameter every
    /// operation's path has.
    pub(crate) fn customer_token(&self) -> Option<&'a str> {
        self.get(CUSTOMER_TOKEN.name)
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    /// An operation as the description declares it: method, path and
    /// parameters as `location:name` (header names lowercased) → required.
    type Declared = (String, String, BTreeMap<String, bool>);

    fn key(location: &str, name: &str) -> String {
        if location == "header" {
            format!("header:{}", name.to_ascii_lowercase())
        } else {
            format!("{location}:{name}")
        }
    }

    /// A parameter, with a `$ref` into `#/components/parameters/` followed.
    fn resolve<'a>(doc: &'a Value, parameter: &'a Value) -> &'a Value {
        match parameter.get("$ref").and_then(Value::as_str) {
            Some(reference) => {
                let name = reference
                    .strip_prefix("#/components/parameters/")
                    .unwrap_or_else(|| panic!("unexpected reference {reference}"));
                &doc["components"]["parameters"][name]
            }
            None => parameter,
        }
    }

    /// Every operation of the vendored description, by `operationId`, read
    /// through the one loader the build script uses (whatever encoding the
    /// build reads, this test reads).
    fn declared() -> BTreeMap<String, Declared> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/openapi/customer-token-v1.yaml"
        );
        let doc = klarna_customer_token_codegen::normalize::load_file(std::path::Path::new(path))
            .unwrap_or_else(|e| panic!("the vendored description cannot be read: {e}"));
        let mut operations = BTreeMap::new();
        let paths = doc["paths"].as_object().expect("paths");
        for (path, item) in paths {
            let item = item.as_object().expect("a path item");
            let shared = item.get("parameters").and_then(Value::as_array);
            for (method, op) in item {
                let Some(id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let own = op.get("parameters").and_then(Value::as_array);
                let mut parameters = BTreeMap::new();
                for p in shared.into_iter().chain(own).flatten() {
                    let p = resolve(&doc, p);
                    let location = p["in"].as_str().expect("in");
                    let name = p["name"].as_str().expect("name");
                    let required = p.get("required").and_then(Value::as_bool) == Some(true);
                    parameters.insert(key(location, name), required);
                }
                operations.insert(
                    id.to_owned(),
                    (method.to_ascii_uppercase(), path.clone(), parameters),
                );
            }
        }
        operations
    }

    fn table() -> BTreeMap<String, Declared> {
        Operation::ALL
            .into_iter()
            .map(|op| {
                let parameters = op
                    .parameters()
                    .iter()
                    .map(|p| {
                        let location = match p.location {
                            Location::Path => "path",
                            Location::Header => "header",
                        };
                        (key(location, p.name), p.required)
                    })
                    .collect();
                (
                    op.operation_id().to_owned(),
                    (
                        op.http_method().to_owned(),
                        op.path_template().to_owned(),
                        parameters,
                    ),
                )
            })
            .collect()
    }

    #[test]
    fn the_route_table_is_the_vendored_description_s() {
        // Every operation, method, path and parameter (with its
        // required-ness), both ways: nothing missing, nothing extra. The
        // mark tells update-spec's verdict that this names differences.
        let declared = declared();
        assert_eq!(
            table(),
            declared,
            "[drift guard] the route table (left) differs from the vendored description (right)"
        );
        for op in Operation::ALL {
            assert_eq!(Operation::from_operation_id(op.operation_id()), Some(op));
            assert_eq!(Operation::from_name(op.as_str()), Some(op));
        }
    }

    #[test]
    fn no_two_operations_share_a_path_template() {
        // The sandbox's router relies on it: a path names one operation,
        // and a 405 names that operation's method.
        let templates: std::collections::BTreeSet<&str> =
            Operation::ALL.iter().map(|op| op.path_template()).collect();
        assert_eq!(templates.len(), Operation::ALL.len());
    }

    #[test]
    fn the_idempotency_header_is_the_one_the_crate_names() {
        let header = CREATE_ORDER
            .parameters
            .iter()
            .find(|p| p.location == Location::Header)
            .expect("a header parameter");
        assert_eq!(
            header.name.to_ascii_lowercase(),
            crate::headers::IDEMPOTENCY_KEY
        );
    }

    #[test]
    fn a_path_matches_a_template_segment_by_segment() {
        let prefix = "/customer-token/v1/tokens";
        let path = format!("{prefix}/a%20b/order");
        let matched = Operation::CreateOrder.match_path(&path).expect("matches");
        assert_eq!(matched.customer_token(), Some("a%20b"));
        assert_eq!(matched.get("other"), None);
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
            assert!(op.match_path(&path).is_none(), "{op} {path}");
        }
        assert!(
            Operation::ReadToken
                .match_path(&format!("{prefix}/t"))
                .is_some()
        );
        for op in Operation::ALL {
            let (before, after) = op.around_token().expect("a token segment");
            assert_eq!(
                format!("{before}{{{}}}{after}", CUSTOMER_TOKEN.name),
                op.path_template()
            );
        }
    }
}
