//! Comparing two structures: operations, responses and schemas, each
//! difference in words.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::Value;

use super::{Api, Operation, Property, Schema, Values};

/// One structural difference between two APIs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Difference {
    /// Where: `operation createOrder`, `order_line`, `order_line.tax_rate`.
    pub place: String,
    /// What, in words.
    pub what: String,
}

impl fmt::Display for Difference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.place, self.what)
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None => "none".to_owned(),
        Some(Value::String(s)) => format!("{s:?}"),
        Some(v) => v.to_string(),
    }
}

fn list(values: &BTreeSet<String>) -> String {
    values.iter().cloned().collect::<Vec<_>>().join(", ")
}

/// Compares operations. `a` and `b` name the two sides in the messages,
/// such as `"description"` and `"facade"`, or `"vendored"` and `"new"`.
pub fn compare_operations(
    a: &BTreeMap<String, Operation>,
    b: &BTreeMap<String, Operation>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (id, op) in a {
        let place = format!("operation {id}");
        let Some(other) = b.get(id) else {
            out.push(Difference {
                place,
                what: format!("only in the {a_name} ({} {})", op.method, op.path),
            });
            continue;
        };
        if op.method != other.method || op.path != other.path {
            out.push(Difference {
                place: place.clone(),
                what: format!(
                    "{} {} in the {a_name}, {} {} in the {b_name}",
                    op.method, op.path, other.method, other.path
                ),
            });
        }
        for (param, required) in &op.parameters {
            match other.parameters.get(param) {
                None => out.push(Difference {
                    place: place.clone(),
                    what: format!("parameter {param} only in the {a_name}"),
                }),
                Some(r) if r != required => out.push(Difference {
                    place: place.clone(),
                    what: format!(
                        "parameter {param} {} in the {a_name}, {} in the {b_name}",
                        required_word(*required),
                        required_word(*r)
                    ),
                }),
                Some(_) => {}
            }
        }
        for param in other.parameters.keys() {
            if !op.parameters.contains_key(param) {
                out.push(Difference {
                    place: place.clone(),
                    what: format!("parameter {param} only in the {b_name}"),
                });
            }
        }
    }
    for (id, op) in b {
        if !a.contains_key(id) {
            out.push(Difference {
                place: format!("operation {id}"),
                what: format!("only in the {b_name} ({} {})", op.method, op.path),
            });
        }
    }
    out.sort();
    out
}

fn required_word(required: bool) -> &'static str {
    if required { "required" } else { "optional" }
}

/// Compares schemas. `a` and `b` name the two sides in the messages.
pub fn compare_schemas(
    a: &BTreeMap<String, Schema>,
    b: &BTreeMap<String, Schema>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (name, schema) in a {
        let Some(other) = b.get(name) else {
            out.push(Difference {
                place: name.clone(),
                what: format!("schema only in the {a_name}"),
            });
            continue;
        };
        for (field, p) in &schema.properties {
            let place = format!("{name}.{field}");
            let Some(q) = other.properties.get(field) else {
                out.push(Difference {
                    place,
                    what: format!("field only in the {a_name}"),
                });
                continue;
            };
            compare_property(p, q, &place, a_name, b_name, &mut out);
        }
        for field in other.properties.keys() {
            if !schema.properties.contains_key(field) {
                out.push(Difference {
                    place: format!("{name}.{field}"),
                    what: format!("field only in the {b_name}"),
                });
            }
        }
    }
    for name in b.keys() {
        if !a.contains_key(name) {
            out.push(Difference {
                place: name.clone(),
                what: format!("schema only in the {b_name}"),
            });
        }
    }
    out.sort();
    out
}

fn compare_property(
    p: &Property,
    q: &Property,
    place: &str,
    a_name: &str,
    b_name: &str,
    out: &mut Vec<Difference>,
) {
    let mut push = |what: String| {
        out.push(Difference {
            place: place.to_owned(),
            what,
        })
    };
    if p.required != q.required {
        push(format!(
            "{} in the {a_name}, {} in the {b_name}",
            required_word(p.required),
            required_word(q.required)
        ));
    }
    if p.kind != q.kind {
        push(format!(
            "{} in the {a_name}, {} in the {b_name}",
            p.kind, q.kind
        ));
    }
    let keys: BTreeSet<&String> = p.constraints.keys().chain(q.constraints.keys()).collect();
    for key in keys {
        let (x, y) = (p.constraints.get(key), q.constraints.get(key));
        if x != y {
            push(format!(
                "{key} {} in the {a_name}, {} in the {b_name}",
                show(x),
                show(y)
            ));
        }
    }
    compare_values(
        p.values.as_ref(),
        q.values.as_ref(),
        a_name,
        b_name,
        &mut push,
    );
}

/// Compares the enum values of two properties.
fn compare_values(
    p: Option<&Values>,
    q: Option<&Values>,
    a_name: &str,
    b_name: &str,
    push: &mut impl FnMut(String),
) {
    match (p, q) {
        (None, None) => {}
        (Some(Values::Closed(x)), Some(Values::Closed(y)))
        | (Some(Values::Open(x)), Some(Values::Open(y))) => {
            let only = |from: &BTreeSet<String>, other: &BTreeSet<String>, side: &str| {
                let values: BTreeSet<String> = from.difference(other).cloned().collect();
                (!values.is_empty())
                    .then(|| format!("enum values only in the {side}: {}", list(&values)))
            };
            only(x, y, a_name).into_iter().for_each(&mut *push);
            only(y, x, b_name).into_iter().for_each(&mut *push);
        }
        // An open enum on one side, a closed one on the other: every value
        // of the closed side must be known to the open side.
        (Some(Values::Closed(closed)), Some(Values::Open(open))) => {
            push(format!(
                "closed enum in the {a_name}, open enum in the {b_name}"
            ));
            unknown_to(closed, open, b_name, push);
        }
        (Some(Values::Open(open)), Some(Values::Closed(closed))) => {
            push(format!(
                "open enum in the {a_name}, closed enum in the {b_name}"
            ));
            unknown_to(closed, open, a_name, push);
        }
        // A plain string on one side and an open enum on the other accept
        // the same strings.
        (None, Some(Values::Open(_))) | (Some(Values::Open(_)), None) => {}
        (None, Some(Values::Closed(values))) => {
            push(format!("enum only in the {b_name}: {}", list(values)));
        }
        (Some(Values::Closed(values)), None) => {
            push(format!("enum only in the {a_name}: {}", list(values)));
        }
    }
}

/// The values of a closed enum that the open enum on side `open_side`
/// does not know, if any.
fn unknown_to(
    closed: &BTreeSet<String>,
    open: &BTreeSet<String>,
    open_side: &str,
    push: &mut impl FnMut(String),
) {
    let unknown: BTreeSet<String> = closed.difference(open).cloned().collect();
    if !unknown.is_empty() {
        push(format!(
            "enum values unknown to the {open_side}: {}",
            list(&unknown)
        ));
    }
}

/// Compares the responses of the operations both sides have: statuses
/// added or removed, and the body each status declares.
pub fn compare_responses(
    a: &BTreeMap<String, BTreeMap<String, String>>,
    b: &BTreeMap<String, BTreeMap<String, String>>,
    a_name: &str,
    b_name: &str,
) -> Vec<Difference> {
    let mut out = Vec::new();
    for (id, statuses) in a {
        let Some(others) = b.get(id) else { continue };
        let place = format!("operation {id}");
        for (status, body) in statuses {
            match others.get(status) {
                None => out.push(Difference {
                    place: place.clone(),
                    what: format!("response {status} only in the {a_name} ({body})"),
                }),
                Some(other) if other != body => out.push(Difference {
                    place: place.clone(),
                    what: format!(
                        "response {status}: {body} in the {a_name}, {other} in the {b_name}"
                    ),
                }),
                Some(_) => {}
            }
        }
        for (status, body) in others {
            if !statuses.contains_key(status) {
                out.push(Difference {
                    place: place.clone(),
                    what: format!("response {status} only in the {b_name} ({body})"),
                });
            }
        }
    }
    out.sort();
    out
}

/// The human-readable changes from one description to another: version,
/// servers, operations, responses and schemas.
pub fn diff(old: &Api, new: &Api) -> Vec<Difference> {
    let mut out = Vec::new();
    if old.version != new.version {
        out.push(Difference {
            place: "info.version".to_owned(),
            what: format!(
                "{:?} in the vendored, {:?} in the new",
                old.version, new.version
            ),
        });
    }
    for (servers, others, side) in [
        (&old.servers, &new.servers, "vendored"),
        (&new.servers, &old.servers, "new"),
    ] {
        out.extend(servers.difference(others).map(|url| Difference {
            place: "servers".to_owned(),
            what: format!("{url} only in the {side}"),
        }));
    }
    out.extend(compare_operations(
        &old.operations,
        &new.operations,
        "vendored",
        "new",
    ));
    out.extend(compare_responses(
        &old.responses,
        &new.responses,
        "vendored",
        "new",
    ));
    out.extend(compare_schemas(
        &old.schemas,
        &new.schemas,
        "vendored",
        "new",
    ));
    out
}
