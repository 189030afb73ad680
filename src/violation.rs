//! What is wrong with an input: [`Violation`] and [`ValidationErrors`].
//!
//! A leaf: it depends on nothing else of the crate, so that every value type
//! can report its problems without depending on the crate's error.

use std::fmt;

/// One rule an input breaks, with the JSON path of the field, such as
/// `order_lines[3].total_tax_amount`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Violation {
    path: String,
    message: String,
}

impl Violation {
    /// The 0-based JSON path of the field, such as `order_lines[3].total_tax_amount`.
    /// Empty when the problem concerns the document as a whole.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// What is wrong, in words.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every violation found in an input, reported together.
///
/// ```
/// use klarna_customer_token::{OrderLine, OrderRequest};
///
/// let err = OrderRequest::builder()
///     .purchase_currency("EURO")
///     .line(OrderLine::builder("Plan").quantity(1).unit_price(1000).build()?)
///     .order_amount(999)
///     .build()
///     .unwrap_err();
/// let problems = err.validation().unwrap();
/// let paths: Vec<&str> = problems.iter().map(|v| v.path()).collect();
/// assert_eq!(paths, ["purchase_currency", "order_amount"]);
/// # Ok::<(), klarna_customer_token::Error>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ValidationErrors {
    violations: Vec<Violation>,
}

impl ValidationErrors {
    /// The violations, in the order of the fields.
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.violations.iter()
    }
    /// How many violations there are.
    pub fn len(&self) -> usize {
        self.violations.len()
    }
    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.violations.is_empty()
    }
    /// The violation at `path`, if there is one.
    pub fn at(&self, path: &str) -> Option<&Violation> {
        self.violations.iter().find(|v| v.path == path)
    }

    pub(crate) fn single(path: &str, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.push(path, message);
        errors
    }

    pub(crate) fn push(&mut self, path: &str, message: impl Into<String>) {
        self.violations.push(Violation {
            path: path.to_owned(),
            message: message.into(),
        });
    }

    /// Moves the violations of `other` for which `keep` holds to the end.
    pub(crate) fn append_where(&mut self, other: Self, mut keep: impl FnMut(&Violation) -> bool) {
        self.violations
            .extend(other.violations.into_iter().filter(|v| keep(v)));
    }

    /// Sorts the violations, stably, by `key`.
    pub(crate) fn sort_by_key<K: Ord>(&mut self, key: impl FnMut(&Violation) -> K) {
        self.violations.sort_by_key(key);
    }

    /// A decoder's error, at the path it names.
    pub(crate) fn from_deserialize(e: &serde_path_to_error::Error<serde_json::Error>) -> Self {
        Self::single(&json_path(e.path()), without_values(&e.inner().to_string()))
    }

    /// `Ok` when there are none.
    pub(crate) fn into_result(self) -> Result<(), Self> {
        if self.violations.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl<'a> IntoIterator for &'a ValidationErrors {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.violations.as_slice() {
            [] => f.write_str("no violations"),
            [one] => write!(f, "{one}"),
            all => {
                write!(f, "{} violations: ", all.len())?;
                for (i, v) in all.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{v}")?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ValidationErrors {}

/// A decoder's message without the values it quotes: they may be personal
/// data or megabytes long. Field names (in backticks) are kept.
pub(crate) fn without_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(256));
    let mut in_quotes = false;
    let mut escaped = false;
    for c in message.chars() {
        if in_quotes {
            match (escaped, c) {
                (false, '\\') => escaped = true,
                (false, '"') => {
                    in_quotes = false;
                    out.push_str("…\"");
                }
                _ => escaped = false,
            }
        } else {
            out.push(c);
            if c == '"' {
                in_quotes = true;
            }
        }
    }
    truncate_chars(&out, 300)
}

/// `text` cut after `max` characters, marked with `…` when cut.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}

/// A decoder's path as the crate writes paths: `order_lines[3].name`, and
/// the empty string for the document itself (`serde_path_to_error` writes
/// `.`).
pub(crate) fn json_path(path: &serde_path_to_error::Path) -> String {
    let path = path.to_string();
    if path == "." { String::new() } else { path }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decoder_messages_lose_their_values() {
        assert_eq!(
            without_values(
                r#"invalid type: string "Adam \"A\" Andersson", expected i64 at line 1"#
            ),
            r#"invalid type: string "…", expected i64 at line 1"#
        );
        assert_eq!(
            without_values("unknown field `usage`, expected one of `a`, `b`"),
            "unknown field `usage`, expected one of `a`, `b`"
        );
        assert!(without_values(&"x".repeat(10_000)).chars().count() <= 301);
    }
}
