//! The operations of the Customer Token API and their routes: method, path
//! template and parameters. This is the one route table: the client and
//! the sandbox crate read it through [`Operation::http_method`] and
//! [`Operation::path_template`], and a unit test below checks it against
//! the vendored API description.

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
#[cfg_attr(not(test), allow(dead_code))]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Location {
    /// A `{name}` segment of the path template.
    Path,
    /// A request header.
    Header,
}

/// A parameter an operation sends.
#[cfg_attr(not(test), allow(dead_code))]
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

    /// The HTTP method the operation is sent with, such as `POST`.
    ///
    /// ```
    /// use klarna_customer_token::Operation;
    ///
    /// assert_eq!(Operation::CancelToken.http_method(), "PATCH");
    /// ```
    pub fn http_method(self) -> &'static str {
        self.route().method
    }

    /// The path the operation is sent to, as Klarna's API description
    /// writes it: `{customerToken}` stands for the token's segment.
    ///
    /// ```
    /// use klarna_customer_token::Operation;
    ///
    /// assert_eq!(
    ///     Operation::CreateOrder.path_template(),
    ///     "/customer-token/v1/tokens/{customerToken}/order"
    /// );
    /// ```
    pub fn path_template(self) -> &'static str {
        self.route().path
    }

    /// The parameters the facade sends (the drift guard below checks them
    /// against the description).
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn parameters(self) -> &'static [Parameter] {
        self.route().parameters
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
        }
    }

    #[test]
    fn no_two_operations_share_a_path_template() {
        // The sandbox crate's router relies on it: a path names one
        // operation, and a 405 names that operation's method.
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
}
