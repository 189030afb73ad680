//! Reading the batch file: every line checked before anything is sent.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use klarna_customer_token::notification::NotificationSigner;
use klarna_customer_token::{CustomerToken, IdempotencyKey, OrderRequest};
use serde_json::value::RawValue;

use crate::commands::{MAX_ORDER_FILE, clean, decode_order, read_capped};

/// The largest batch file read.
const MAX_BATCH_FILE: u64 = 4 * 1024 * 1024 * 1024;
/// The longest `charge_id` taken.
const MAX_CHARGE_ID: usize = 1024;
/// The fields of a batch line.
const FIELDS: [&str; 4] = ["token", "order", "charge_id", "attempt"];

/// The fields of one line, by name, as written.
type Fields<'a> = BTreeMap<String, &'a RawValue>;

/// One line of the batch file, checked.
#[derive(Debug)]
pub(super) struct Charge {
    pub(super) line: usize,
    pub(super) token: CustomerToken,
    pub(super) order: OrderRequest,
    pub(super) charge_id: String,
    pub(super) attempt: u32,
}

/// Reads and checks every line; any violation means nothing is sent.
pub(super) fn load(path: &Path, strict: bool) -> Result<Vec<Charge>, Vec<String>> {
    let bytes = read_capped(path, MAX_BATCH_FILE).map_err(|e| vec![e])?;
    let mut charges = Vec::new();
    let mut violations = Vec::new();
    // Each valid charge_id, with the line it is first on.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (index, raw_line) in bytes.split(|b| *b == b'\n').enumerate() {
        if raw_line.trim_ascii().is_empty() {
            continue;
        }
        let mut line = Line {
            number: index + 1,
            violations: &mut violations,
        };
        if let Some(charge) = line.check(raw_line, strict, &mut seen) {
            charges.push(charge);
        }
    }
    if violations.is_empty() {
        Ok(charges)
    } else {
        Err(violations)
    }
}

/// One line being checked: what is wrong with it goes to `violations`,
/// each prefixed with the line's number.
struct Line<'v> {
    number: usize,
    violations: &'v mut Vec<String>,
}

impl Line<'_> {
    /// `line N: PATH: MESSAGE`, or `line N: MESSAGE` for the whole line.
    fn bad(&mut self, path: &str, message: String) {
        if path.is_empty() {
            self.violations
                .push(format!("line {}: {message}", self.number));
        } else {
            self.violations
                .push(format!("line {}: {path}: {message}", self.number));
        }
    }

    /// The line's charge, or `None` when anything on it is wrong.
    fn check(
        &mut self,
        raw_line: &[u8],
        strict: bool,
        seen: &mut HashMap<String, usize>,
    ) -> Option<Charge> {
        if raw_line.len() as u64 > MAX_ORDER_FILE {
            self.bad("", format!("longer than {MAX_ORDER_FILE} bytes"));
            return None;
        }
        let fields: Fields = match serde_json::from_slice(raw_line) {
            Ok(fields) => fields,
            Err(e) => {
                self.bad("", format!("not a JSON object: {e}"));
                return None;
            }
        };
        for name in fields.keys() {
            if !FIELDS.contains(&name.as_str()) {
                self.bad(
                    &clean(name),
                    "is not a field of a batch line (token, order, charge_id, attempt)".into(),
                );
            }
        }
        let token = self.token(&fields);
        let charge_id = self.charge_id(&fields);
        let attempt = self.attempt(&fields);
        let order = self.order(&fields, strict);
        if let Some(id) = &charge_id {
            if let Some(first) = seen.get(id) {
                self.bad(
                    "charge_id",
                    format!("{:?} is also on line {first}", clean(id)),
                );
                return None;
            }
            seen.insert(id.clone(), self.number);
        }
        Some(Charge {
            line: self.number,
            token: token?,
            order: order?,
            charge_id: charge_id?,
            attempt: attempt?,
        })
    }

    /// A field that must be there, as its raw JSON.
    fn field<'a>(&mut self, fields: &Fields<'a>, name: &str) -> Option<&'a RawValue> {
        let raw = fields.get(name).copied();
        if raw.is_none() {
            self.bad(name, "missing".into());
        }
        raw
    }

    /// A field that must be a JSON string.
    fn string(&mut self, fields: &Fields, name: &str) -> Option<String> {
        let raw = self.field(fields, name)?;
        match serde_json::from_str::<String>(raw.get()) {
            Ok(s) => Some(s),
            Err(_) => {
                self.bad(name, "must be a string".into());
                None
            }
        }
    }

    fn token(&mut self, fields: &Fields) -> Option<CustomerToken> {
        match CustomerToken::new(self.string(fields, "token")?) {
            Ok(token) => Some(token),
            Err(e) => {
                self.bad("token", e.message().to_owned());
                None
            }
        }
    }

    fn charge_id(&mut self, fields: &Fields) -> Option<String> {
        let id = self.string(fields, "charge_id")?;
        if id.is_empty() || id.chars().count() > MAX_CHARGE_ID {
            self.bad(
                "charge_id",
                format!("must be 1 to {MAX_CHARGE_ID} characters"),
            );
            None
        } else if id.chars().any(char::is_control) {
            self.bad("charge_id", "must not hold control characters".into());
            None
        } else {
            Some(id)
        }
    }

    fn attempt(&mut self, fields: &Fields) -> Option<u32> {
        let raw = self.field(fields, "attempt")?;
        match serde_json::from_str::<u32>(raw.get()) {
            Ok(n) if n >= 1 => Some(n),
            _ => {
                self.bad(
                    "attempt",
                    format!("must be a whole number from 1 to {}", u32::MAX),
                );
                None
            }
        }
    }

    /// The order, validated; each violation's path is relative to the line.
    fn order(&mut self, fields: &Fields, strict: bool) -> Option<OrderRequest> {
        let raw = self.field(fields, "order")?;
        match decode_order(raw.get().as_bytes(), strict) {
            Ok(order) => Some(order),
            Err(found) => {
                for v in found {
                    // `path: message`, the path relative to the order.
                    let joined = if v.starts_with(':') {
                        format!("order{v}")
                    } else {
                        format!("order.{v}")
                    };
                    self.bad("", joined);
                }
                None
            }
        }
    }
}

/// Sets each charge's `merchant_urls.notification` to `base` signed for
/// the key of its attempt. An order without `merchant_urls` (Klarna needs
/// its confirmation URL) or with a notification URL of its own is refused,
/// by line: nothing is replaced silently.
pub(super) fn sign_notifications(
    charges: &mut [Charge],
    signer: &NotificationSigner,
    base: &str,
    namespace: &str,
) -> Result<(), Vec<String>> {
    let mut violations = Vec::new();
    for charge in charges.iter_mut() {
        let key = IdempotencyKey::for_charge(namespace, &charge.charge_id, charge.attempt);
        let line = charge.line;
        let mut order: serde_json::Value = match serde_json::from_slice(&charge.order.to_json()) {
            Ok(order) => order,
            Err(e) => {
                violations.push(format!("line {line}: order: {e}"));
                continue;
            }
        };
        let Some(urls) = order
            .get_mut("merchant_urls")
            .and_then(serde_json::Value::as_object_mut)
        else {
            violations.push(format!(
                "line {line}: order.merchant_urls: needed for --notification-url (with its \
                 confirmation URL)"
            ));
            continue;
        };
        if urls.contains_key("notification") {
            violations.push(format!(
                "line {line}: order.merchant_urls.notification: already set; \
                 --notification-url would replace it"
            ));
            continue;
        }
        let url = match signer.url(base, &key) {
            Ok(url) => url,
            Err(e) => {
                violations.push(format!("--notification-url: {e}"));
                break;
            }
        };
        urls.insert("notification".to_owned(), serde_json::Value::String(url));
        match serde_json::to_vec(&order)
            .map_err(|e| e.to_string())
            .and_then(|json| OrderRequest::from_json(&json).map_err(|e| e.to_string()))
        {
            Ok(signed) => charge.order = signed,
            Err(e) => violations.push(format!("line {line}: order: {e}")),
        }
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}
