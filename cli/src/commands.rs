//! `read`, `cancel`, `order` and `validate`.

use std::io::{BufRead as _, Read as _, Write as _};
use std::path::Path;

use klarna_customer_token::{
    CreatedOrder, CustomerToken, Error, IdempotencyKey, OrderRequest, TokenDetails,
};
use serde_json::json;

use crate::args::Args;
use crate::config;
use crate::output::{Exit, exit_for, print_failure, print_json};

/// The largest order file read (Klarna refuses bodies over 1 MB anyway).
pub(crate) const MAX_ORDER_FILE: u64 = 16 * 1024 * 1024;

/// Text from the server or a file, safe to put on a terminal: control
/// characters are shown escaped.
pub(crate) fn clean(text: &str) -> String {
    if !text.chars().any(char::is_control) {
        return text.to_owned();
    }
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn usage_error(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Invalid
}

fn config_error(message: &str) -> Exit {
    eprintln!("error: {message}");
    Exit::Config
}

/// The token as the user passed it, checked.
fn token(raw: &str) -> Result<CustomerToken, Exit> {
    CustomerToken::new(raw).map_err(|e| usage_error(&e.to_string()))
}

/// Reads an order file, at most [`MAX_ORDER_FILE`] bytes.
pub(crate) fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if bytes.len() as u64 > cap {
        return Err(format!("{}: larger than {cap} bytes", path.display()));
    }
    Ok(bytes)
}

/// Decodes and validates an order: every violation, each with its path.
pub(crate) fn decode_order(bytes: &[u8], strict: bool) -> Result<OrderRequest, Vec<String>> {
    let decoded = if strict {
        OrderRequest::from_json_strict(bytes)
    } else {
        OrderRequest::from_json(bytes)
    };
    let violations = match decoded {
        Ok(order) => match order.validate() {
            Ok(()) => return Ok(order),
            Err(errors) => errors,
        },
        Err(e) => match e.validation() {
            Some(errors) => errors.clone(),
            None => return Err(vec![format!(": {e}")]),
        },
    };
    Err(violations
        .iter()
        .map(|v| format!("{}: {}", v.path(), v.message()))
        .collect())
}

fn totals_json(order: &OrderRequest) -> serde_json::Value {
    json!({
        "purchase_currency": order.purchase_currency(),
        "order_amount": order.order_amount(),
        "order_tax_amount": order.order_tax_amount(),
        "order_lines": order.order_lines().len(),
        "unknown_fields": order.unknown_fields(),
    })
}

fn print_totals(order: &OrderRequest) {
    let lines = order.order_lines().len();
    println!("currency:         {}", clean(order.purchase_currency()));
    println!("order_amount:     {} (minor units)", order.order_amount());
    println!(
        "order_tax_amount: {} (minor units)",
        order.order_tax_amount()
    );
    println!(
        "order_lines:      {lines} line{}",
        if lines == 1 { "" } else { "s" }
    );
    let unknown = order.unknown_fields();
    if !unknown.is_empty() {
        println!("sent as given:    {}", unknown.join(", "));
    }
}

/// Reads a file and validates it as an order, printing every violation.
fn load_order(path: &Path, strict: bool, json: bool) -> Result<OrderRequest, Exit> {
    let bytes = read_capped(path, MAX_ORDER_FILE).map_err(|e| usage_error(&e))?;
    decode_order(&bytes, strict).map_err(|violations| {
        if json {
            print_json(&json!({ "valid": false, "violations": violations }));
        } else {
            eprintln!(
                "{}: {} violation{}:",
                path.display(),
                violations.len(),
                if violations.len() == 1 { "" } else { "s" }
            );
            for v in &violations {
                eprintln!("  {v}");
            }
        }
        Exit::Invalid
    })
}

/// `validate ORDER.json`: offline.
pub(crate) fn validate(args: &Args, path: &Path) -> Exit {
    match load_order(path, args.strict, args.json) {
        Ok(order) => {
            if args.json {
                print_json(&json!({ "valid": true, "totals": totals_json(&order) }));
            } else {
                println!("{}: valid", path.display());
                print_totals(&order);
            }
            Exit::Success
        }
        Err(exit) => exit,
    }
}

fn details_json(raw_token: &str, details: &TokenDetails) -> serde_json::Value {
    json!({
        "token": raw_token,
        "status": details.status().as_str(),
        "payment_method_type": details.payment_method_type().as_str(),
        "card": details.card().map(|c| json!({
            "brand": c.brand(),
            "masked_number": c.masked_number(),
            "expiry_date": c.expiry_date(),
        })),
        "direct_debit": details.direct_debit().map(|d| json!({
            "masked_number": d.masked_number(),
        })),
    })
}

/// `read TOKEN`.
pub(crate) async fn read(args: &Args, raw_token: &str) -> Exit {
    let token = match token(raw_token) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let client = match config::client(args, None) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    match client.read_token(&token).await {
        Ok(details) => {
            if args.json {
                print_json(&details_json(raw_token, &details));
            } else {
                // The user passed the token: it is shown as given.
                println!("token:          {raw_token}");
                println!("status:         {}", clean(details.status().as_str()));
                println!(
                    "payment method: {}",
                    clean(details.payment_method_type().as_str())
                );
                if let Some(card) = details.card() {
                    println!(
                        "card:           {} {}, expires {}",
                        clean(card.brand()),
                        clean(card.masked_number()),
                        clean(card.expiry_date())
                    );
                }
                if let Some(debit) = details.direct_debit() {
                    println!("direct debit:   {}", clean(debit.masked_number()));
                }
            }
            Exit::Success
        }
        Err(e) => {
            print_failure(&e, args.json);
            exit_for(&e)
        }
    }
}

/// Asks on stderr, reads one line from stdin: only `yes` (or `y`) confirms.
fn confirm(question: &str) -> bool {
    eprint!("{question} ");
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    match std::io::stdin().lock().take(1024).read_line(&mut answer) {
        Ok(_) => matches!(answer.trim().to_ascii_lowercase().as_str(), "yes" | "y"),
        Err(_) => false,
    }
}

/// `cancel TOKEN`.
pub(crate) async fn cancel(args: &Args, raw_token: &str) -> Exit {
    let token = match token(raw_token) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let client = match config::client(args, None) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if !args.yes {
        eprintln!(
            "Cancelling customer token {raw_token} cannot be undone: it can never be charged \
             again, and the customer must sign up anew."
        );
        if !confirm("Type yes to cancel it:") {
            eprintln!("not cancelled");
            return Exit::Invalid;
        }
    }
    match client.cancel_token(&token).await {
        Ok(()) => {
            if args.json {
                print_json(&json!({ "token": raw_token, "cancelled": true }));
            } else {
                println!("cancelled customer token {raw_token} (this cannot be undone)");
            }
            Exit::Success
        }
        Err(e) => {
            print_failure(&e, args.json);
            exit_for(&e)
        }
    }
}

/// The key `--key` gave, and `true`; or a new random one, and `false`.
fn order_key(given: Option<&str>) -> Result<(IdempotencyKey, bool), Exit> {
    match given {
        Some(raw) => match IdempotencyKey::new(raw) {
            Ok(key) => Ok((key, true)),
            Err(e) => Err(usage_error(&e.to_string())),
        },
        None => match IdempotencyKey::random() {
            Ok(key) => Ok((key, false)),
            Err(e) => Err(config_error(&e.to_string())),
        },
    }
}

/// Without `--yes`: the order, its totals and key, and how to send it.
fn print_unsent(
    args: &Args,
    raw_token: &str,
    order: &OrderRequest,
    key: &IdempotencyKey,
    given: bool,
) {
    if args.json {
        print_json(&json!({
            "sent": false,
            "token": raw_token,
            "idempotency_key": key.as_str(),
            "totals": totals_json(order),
        }));
        return;
    }
    println!("order for token {raw_token}: valid");
    print_totals(order);
    println!("key:              {key}");
    println!();
    if given {
        println!("not sent: add --yes to create this order with this key");
    } else {
        println!(
            "not sent: add --yes to create it. This key is new on each run; to send \
             the same charge again, pass --key {key}"
        );
    }
}

fn print_created(json: bool, created: &CreatedOrder) {
    if json {
        print_json(&json!({ "sent": true, "order": created }));
        return;
    }
    println!("created order {}", clean(created.order_id()));
    println!(
        "fraud status:     {}",
        clean(created.fraud_status().as_str())
    );
    if let Some(url) = created.redirect_url() {
        println!("redirect url:     {}", clean(url));
    }
    println!("key:              {}", created.idempotency_key());
    println!("attempts:         {}", created.attempts());
}

/// The order was not created, or may have been: what happened, and how to
/// reconcile when that is the question.
fn order_failed(
    args: &Args,
    raw_token: &str,
    path: &Path,
    key: &IdempotencyKey,
    e: &Error,
) -> Exit {
    print_failure(e, args.json);
    if !args.json && e.idempotency_key().is_some() && exit_for(e) == Exit::MayHaveBeenCreated {
        eprintln!(
            "to reconcile, within 24 hours: klarna-token order {raw_token} --file {} \
             --key {key} --yes",
            path.display()
        );
    }
    exit_for(e)
}

/// `order TOKEN --file ORDER.json [--key KEY] [--yes]`.
pub(crate) async fn order(args: &Args, raw_token: &str, path: &Path, key: Option<&str>) -> Exit {
    let token = match token(raw_token) {
        Ok(t) => t,
        Err(exit) => return exit,
    };
    let (key, given) = match order_key(key) {
        Ok(key) => key,
        Err(exit) => return exit,
    };
    let order = match load_order(path, args.strict, args.json) {
        Ok(order) => order,
        Err(exit) => return exit,
    };
    if !args.yes {
        print_unsent(args, raw_token, &order, &key, given);
        return Exit::Success;
    }
    let client = match config::client(args, args.rate_limit) {
        Ok(c) => c,
        Err(e) => return config_error(&e),
    };
    if !args.json {
        eprintln!("sending the order with key {key} ...");
    }
    match client
        .create_order(&token, &order)
        .with_idempotency_key(key.clone())
        .await
    {
        Ok(created) => {
            print_created(args.json, &created);
            Exit::Success
        }
        Err(e) => order_failed(args, raw_token, path, &key, &e),
    }
}
