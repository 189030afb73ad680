//! A pass over progenitor's output that takes out three costs of every
//! request that the facade would otherwise pay:
//!
//! - **The URL.** progenitor formats the base URL and each percent-encoded
//!   parameter into a string (`format!("{}/customer-token/v1/tokens/{}",
//!   self.baseurl, encode_path(&customer_token.to_string()))`), which
//!   reqwest then parses whole: scheme, host (through IDNA) and path. The
//!   rewritten method asks the client's inner value for the URL instead
//!   (`self.inner.url(0, &[customer_token, "order"])`), which appends the
//!   path's remaining segments, each percent-encoded as a path segment, to
//!   the URL of its literal prefix (`customer-token/v1/tokens`). The pass
//!   lists those prefixes in `PATH_PREFIXES`, which the client parses onto
//!   its base URL once, when it is built.
//! - **Header names given as strings.** `header_map.append("Klarna-Idempotency-Key", …)`
//!   parses and lowercases the name, and allocates it, at every request;
//!   the rewritten statement names a constant `HeaderName` (HTTP/1.1 sends
//!   names in lower case either way).
//! - **The `api-version` header.** progenitor sends the description's
//!   version in a header that Klarna's API does not know; the statement that
//!   adds it is dropped (the facade's request tests check the exact header
//!   names sent).
//! - **What the method's future holds, and the way to the transport.** A
//!   local that is borrowed is kept in an `async fn`'s state until its scope
//!   ends, across every later `.await`. progenitor's method borrows the
//!   request for the `pre` hook and the result for the `post` hook, so its
//!   state holds the request (264 bytes) while `exec` runs, beside `exec`'s
//!   own future. The facade defines neither hook (progenitor's defaults do
//!   nothing), so the two calls are dropped, and the statements that build
//!   the request (URL, header map, headers) go into one block whose value is
//!   the request, so their locals end before the first `.await`. The method
//!   takes one more parameter, `call: &'a mut crate::transport::CallScope`,
//!   and sends with `self.inner.execute(request, call)` in place of
//!   `self.exec(request, &info)`: the call's settings and tally reach the
//!   transport as an argument, not through a task-local value swapped in and
//!   out at every poll.
//!
//! Only the exact shapes described here are rewritten: a path whose
//! parameters fill whole segments, each a `&str` parameter of the method.
//! Anything else is left as progenitor wrote it, which is correct, only
//! slower; [`Leaned`] says what was rewritten, and the codegen tests check
//! that every operation of the vendored description is.

use std::collections::BTreeSet;

use syn::punctuated::Punctuated;
use syn::{Expr, FnArg, ImplItem, Item, Lit, Pat, Stmt, Type};

/// What the pass rewrote: the names of the generated methods.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Leaned {
    /// Methods whose URL is built from segments.
    pub urls: BTreeSet<String>,
    /// Methods that no longer add the `api-version` header.
    pub api_version: BTreeSet<String>,
    /// Methods whose header names are constants.
    pub header_names: BTreeSet<String>,
    /// Methods that build their request in one block and call neither the
    /// `pre` nor the `post` hook.
    pub straight: BTreeSet<String>,
    /// Methods whose body is sent as the bytes it already holds.
    pub prebuilt_bodies: BTreeSet<String>,
    /// The literal path prefixes, in the order of `PATH_PREFIXES`.
    pub prefixes: Vec<Vec<String>>,
}

/// Rewrites the methods of the generated `Client`, and adds the table of
/// path prefixes (`PATH_PREFIXES: &[&[&str]]`, empty when no URL was
/// rewritten).
///
/// # Errors
/// When the table does not parse, which its plain segments rule out.
pub fn lean(file: &mut syn::File) -> Result<Leaned, String> {
    let done = lean_methods(file);
    let table: Vec<String> = done
        .prefixes
        .iter()
        .map(|prefix| format!("&[{}]", quoted(prefix).join(", ")))
        .collect();
    let item = format!(
        "/// The literal prefix of each rewritten request path, as segments.\n\
         pub(crate) const PATH_PREFIXES: &[&[&str]] = &[{}];",
        table.join(", ")
    );
    let item = syn::parse_str::<Item>(&item)
        .map_err(|e| format!("internal: the path prefix table does not parse: {e}"))?;
    file.items.push(item);
    Ok(done)
}

fn quoted(segments: &[String]) -> Vec<String> {
    segments.iter().map(|s| format!("{s:?}")).collect()
}

fn lean_methods(file: &mut syn::File) -> Leaned {
    let mut done = Leaned::default();
    for item in &mut file.items {
        let Item::Impl(block) = item else { continue };
        if block.trait_.is_some() || !is_type(&block.self_ty, "Client") {
            continue;
        }
        for item in &mut block.items {
            let ImplItem::Fn(method) = item else { continue };
            let name = method.sig.ident.to_string();
            let strs = str_params(&method.sig);
            let prebuilt = prebuilt_params(&method.sig);
            let before = method.block.stmts.len();
            method.block.stmts.retain(|stmt| !adds_api_version(stmt));
            let removed = before - method.block.stmts.len();
            if removed > 0 {
                done.api_version.insert(name.clone());
            }
            for stmt in &mut method.block.stmts {
                if constant_header_name(stmt) {
                    done.header_names.insert(name.clone());
                }
                let Stmt::Local(local) = stmt else { continue };
                let Some(init) = &mut local.init else {
                    continue;
                };
                if binds(&local.pat, "url") {
                    if let Some(url) = url_from_segments(&init.expr, &strs, &mut done.prefixes) {
                        *init.expr = url;
                        done.urls.insert(name.clone());
                    }
                } else if binds(&local.pat, "header_map") && removed > 0 {
                    shrink_capacity(&mut init.expr, removed);
                } else if binds(&local.pat, "request") && prebuilt_body(&mut init.expr, &prebuilt) {
                    done.prebuilt_bodies.insert(name.clone());
                }
            }
            if has_lifetime(&method.sig, "a") && straighten(&mut method.block.stmts) {
                take_call(&mut method.sig);
                done.straight.insert(name);
            }
        }
    }
    done
}

/// Drops the `pre` and `post` hook calls (`self.pre(&mut request,
/// &info).await?;`), puts the statements up to `let request = …;` into a
/// block that yields the request, and sends with [`EXECUTE`] in place of
/// `self.exec(request, &info)` (dropping `info` when nothing else reads it).
/// Only when the method has exactly that shape: one `let request`, each
/// hook called once as a statement after it, one `exec` call, plain names
/// bound before the request, and no later statement naming one of them;
/// `false` leaves the method as it was.
fn straighten(stmts: &mut Vec<Stmt>) -> bool {
    let Some(at) = stmts
        .iter()
        .position(|stmt| matches!(stmt, Stmt::Local(l) if binds(&l.pat, "request")))
    else {
        return false;
    };
    let hooks: Vec<usize> = stmts
        .iter()
        .enumerate()
        .filter(|(_, stmt)| calls_hook(stmt))
        .map(|(i, _)| i)
        .collect();
    let (Some(&pre), Some(&post), 2) = (hooks.first(), hooks.last(), hooks.len()) else {
        return false;
    };
    if pre <= at || !calls_hook_named(&stmts[pre], "pre") || !calls_hook_named(&stmts[post], "post")
    {
        return false;
    }
    let execs: Vec<usize> = (0..stmts.len()).filter(|&i| is_exec(&stmts[i])).collect();
    let [exec] = execs[..] else {
        return false;
    };
    // The names bound before the request; any other pattern is refused.
    let mut locals = Vec::new();
    for stmt in &stmts[..at] {
        match stmt {
            Stmt::Local(local) => match &local.pat {
                Pat::Ident(ident) => locals.push(ident.ident.to_string()),
                _ => return false,
            },
            _ => continue,
        }
    }
    let later = &stmts[at + 1..];
    if later.iter().any(|stmt| mentions_any(stmt, &locals)) {
        return false;
    }
    let Stmt::Local(request) = &stmts[at] else {
        return false;
    };
    let Some(init) = &request.init else {
        return false;
    };
    if init.diverge.is_some() {
        return false;
    }
    let mut body: Vec<Stmt> = stmts[..at].to_vec();
    body.push(Stmt::Expr((*init.expr).clone(), None));
    let block = Expr::Block(syn::ExprBlock {
        attrs: Vec::new(),
        label: None,
        block: syn::Block {
            brace_token: Default::default(),
            stmts: body,
        },
    });
    let Ok(Stmt::Local(mut built)) = syn::parse_str::<Stmt>("let request = ();") else {
        return false;
    };
    if let Some(slot) = &mut built.init {
        *slot.expr = block;
    }
    let Ok(execute) = syn::parse_str::<Stmt>(EXECUTE) else {
        return false;
    };
    let info = stmts
        .iter()
        .position(|stmt| matches!(stmt, Stmt::Local(l) if binds(&l.pat, "info")));
    // `info` goes with `exec`, unless something else reads it.
    let info = info.filter(|&i| {
        stmts.iter().enumerate().all(|(j, stmt)| {
            j == i
                || j == exec
                || j == pre
                || j == post
                || !mentions_any(stmt, &["info".to_owned()])
        })
    });
    let mut rest: Vec<Stmt> = Vec::with_capacity(stmts.len());
    rest.push(Stmt::Local(built));
    for (i, stmt) in stmts.drain(..).enumerate().skip(at + 1) {
        if i == exec {
            rest.push(execute.clone());
        } else if i != pre && i != post && Some(i) != info {
            rest.push(stmt);
        }
    }
    *stmts = rest;
    true
}

/// The types whose values hold their JSON already, serialized once:
/// `.json(&body)` of such a parameter becomes `.body(body)` with the
/// content type `.json` sets, and reqwest sends the bytes without a copy.
/// Each converts into a request body (`From<&T> for reqwest::Body`).
const PREBUILT_BODIES: &[&str] = &["OrderJson"];

/// The method's parameters that are references to a [`PREBUILT_BODIES`]
/// type.
fn prebuilt_params(sig: &syn::Signature) -> BTreeSet<String> {
    shared_ref_params(sig, |ty| PREBUILT_BODIES.iter().any(|t| is_type(ty, t)))
}

/// In the request builder's chain (`self.client.post(url)….json(&body)….build()?`),
/// `.json(&body)` of a prebuilt parameter becomes `.header(CONTENT_TYPE,
/// "application/json").body(body)`; whether it did.
fn prebuilt_body(expr: &mut Expr, prebuilt: &BTreeSet<String>) -> bool {
    match expr {
        Expr::Try(tried) => prebuilt_body(&mut tried.expr, prebuilt),
        Expr::MethodCall(call) => {
            let is_json_of_prebuilt = call.method == "json"
                && call.args.len() == 1
                && matches!(call.args.first(), Some(Expr::Reference(r))
                    if r.mutability.is_none()
                        && prebuilt.iter().any(|p| is_local(&r.expr, p)));
            if !is_json_of_prebuilt {
                return prebuilt_body(&mut call.receiver, prebuilt);
            }
            let Some(Expr::Reference(reference)) = call.args.first() else {
                return false;
            };
            let param = quote::ToTokens::to_token_stream(&*reference.expr).to_string();
            let receiver = quote::ToTokens::to_token_stream(&*call.receiver).to_string();
            let rewritten = format!(
                "{receiver}.header(::reqwest::header::CONTENT_TYPE, \
                 ::reqwest::header::HeaderValue::from_static(\"application/json\")).body({param})"
            );
            match syn::parse_str::<Expr>(&rewritten) {
                Ok(new) => {
                    *expr = new;
                    true
                }
                Err(_) => false,
            }
        }
        _ => false,
    }
}

/// Whether the method has the lifetime parameter `'name`, which the
/// parameter [`take_call`] adds borrows for.
fn has_lifetime(sig: &syn::Signature, name: &str) -> bool {
    sig.generics
        .lifetimes()
        .any(|param| param.lifetime.ident == name)
}

/// What the facade's transport is called with in place of the `exec` hook:
/// the request and the call, which the method takes as its last parameter
/// (see [`take_call`]).
const EXECUTE: &str = "let result = self.inner.execute(request, call).await;";

/// `let result = self.exec(request, &info).await;`
fn is_exec(stmt: &Stmt) -> bool {
    let Stmt::Local(local) = stmt else {
        return false;
    };
    if !binds(&local.pat, "result") {
        return false;
    }
    let Some(init) = &local.init else {
        return false;
    };
    let Expr::Await(awaited) = &*init.expr else {
        return false;
    };
    let Expr::MethodCall(call) = &*awaited.base else {
        return false;
    };
    call.method == "exec"
        && is_local(&call.receiver, "self")
        && call.args.len() == 2
        && call
            .args
            .first()
            .is_some_and(|arg| is_local(arg, "request"))
}

/// Adds the method's last parameter, `call: &'a mut
/// crate::transport::CallScope`: the call the request belongs to, lent to the
/// transport for the attempt.
fn take_call(sig: &mut syn::Signature) {
    if let Ok(arg) = syn::parse_str::<FnArg>("call: &'a mut crate::transport::CallScope") {
        sig.inputs.push(arg);
    }
}

/// `self.pre(…).await?;` or `self.post(…).await?;`.
fn calls_hook(stmt: &Stmt) -> bool {
    calls_hook_named(stmt, "pre") || calls_hook_named(stmt, "post")
}

fn calls_hook_named(stmt: &Stmt, hook: &str) -> bool {
    let Stmt::Expr(Expr::Try(tried), Some(_)) = stmt else {
        return false;
    };
    let Expr::Await(awaited) = &*tried.expr else {
        return false;
    };
    let Expr::MethodCall(call) = &*awaited.base else {
        return false;
    };
    call.method == hook && is_local(&call.receiver, "self")
}

/// Whether `stmt` names any of `names` as an identifier (a whole word of
/// its tokens).
fn mentions_any(stmt: &Stmt, names: &[String]) -> bool {
    let tokens = quote::ToTokens::to_token_stream(stmt).to_string();
    tokens
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .any(|word| names.iter().any(|n| n == word))
}

/// `Client` (or a path ending in it).
fn is_type(ty: &Type, name: &str) -> bool {
    matches!(ty, Type::Path(p) if ends_with(&p.path, name))
}

/// A path whose last segment is `name` (`::reqwest::header::HeaderMap::with_capacity`).
fn ends_with(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

/// A function path ending in `name`.
fn calls(func: &Expr, name: &str) -> bool {
    matches!(func, Expr::Path(p) if ends_with(&p.path, name))
}

/// The method's parameters of type `&str` (any lifetime).
fn str_params(sig: &syn::Signature) -> BTreeSet<String> {
    shared_ref_params(sig, |ty| is_type(ty, "str"))
}

/// The names of the method's parameters of type `&T` (any lifetime) where
/// `T` is what `referent` accepts.
fn shared_ref_params(sig: &syn::Signature, referent: impl Fn(&Type) -> bool) -> BTreeSet<String> {
    sig.inputs
        .iter()
        .filter_map(|arg| {
            let FnArg::Typed(arg) = arg else { return None };
            let Type::Reference(reference) = &*arg.ty else {
                return None;
            };
            if reference.mutability.is_some() || !referent(&reference.elem) {
                return None;
            }
            match &*arg.pat {
                Pat::Ident(ident) => Some(ident.ident.to_string()),
                _ => None,
            }
        })
        .collect()
}

/// `let NAME = …` or `let mut NAME = …`.
fn binds(pat: &Pat, name: &str) -> bool {
    matches!(pat, Pat::Ident(ident) if ident.ident == name)
}

/// `header_map.append(…HeaderName::from_static("api-version"), …);`
fn adds_api_version(stmt: &Stmt) -> bool {
    let Stmt::Expr(Expr::MethodCall(call), _) = stmt else {
        return false;
    };
    if call.method != "append" || !is_local(&call.receiver, "header_map") {
        return false;
    }
    let Some(Expr::Call(name)) = call.args.first() else {
        return false;
    };
    calls(&name.func, "from_static")
        && matches!(name.args.first(), Some(Expr::Lit(lit))
            if matches!(&lit.lit, Lit::Str(s) if s.value().eq_ignore_ascii_case("api-version")))
}

/// A plain local variable named `name`.
fn is_local(expr: &Expr, name: &str) -> bool {
    matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(name))
}

/// `HeaderMap::with_capacity(N)` becomes `with_capacity(N - removed)`: a
/// map that holds nothing then allocates nothing.
fn shrink_capacity(expr: &mut Expr, removed: usize) {
    let Expr::Call(call) = expr else { return };
    if !calls(&call.func, "with_capacity") {
        return;
    }
    let Some(Expr::Lit(lit)) = call.args.first_mut() else {
        return;
    };
    let Lit::Int(n) = &lit.lit else { return };
    let Ok(count) = n.base10_parse::<usize>() else {
        return;
    };
    let span = n.span();
    let left = count.saturating_sub(removed);
    lit.lit = Lit::Int(syn::LitInt::new(&format!("{left}usize"), span));
}

/// The URL built from segments, for `format!("{}/a/b/{}/c", self.baseurl,
/// encode_path(&p.to_string()))` where `p` is a `&str` parameter; `None`
/// for any other shape. The literal prefix (`a/b`) goes into `prefixes`.
fn url_from_segments(
    expr: &Expr,
    strs: &BTreeSet<String>,
    prefixes: &mut Vec<Vec<String>>,
) -> Option<Expr> {
    let Expr::Macro(mac) = expr else { return None };
    if !mac.mac.path.is_ident("format") {
        return None;
    }
    let args = mac
        .mac
        .parse_body_with(Punctuated::<Expr, syn::Token![,]>::parse_terminated)
        .ok()?;
    let mut args = args.into_iter();
    let Some(Expr::Lit(template)) = args.next() else {
        return None;
    };
    let Lit::Str(template) = &template.lit else {
        return None;
    };
    let template = template.value();
    if !is_self_field(&args.next()?, "baseurl") {
        return None;
    }
    let params: Vec<String> = args
        .map(|arg| encoded_str_param(&arg, strs))
        .collect::<Option<_>>()?;
    let segments = segments(&template, &params)?;
    let split = segments
        .iter()
        .position(|s| matches!(s, Segment::Param(_)))
        .unwrap_or(segments.len());
    let prefix: Vec<String> = segments[..split]
        .iter()
        .map(|s| s.literal().unwrap_or_default().to_owned())
        .collect();
    let rest: Vec<String> = segments[split..].iter().map(Segment::expr).collect();
    let index = match prefixes.iter().position(|p| *p == prefix) {
        Some(index) => index,
        None => {
            prefixes.push(prefix);
            prefixes.len() - 1
        }
    };
    syn::parse_str(&format!(
        "self.inner.url({index}, &[{}]).map_err(Error::InvalidRequest)?",
        rest.join(", ")
    ))
    .ok()
}

/// One segment of a request path.
enum Segment {
    /// Plain text of the template.
    Literal(String),
    /// The name of a `&str` parameter.
    Param(String),
}

impl Segment {
    fn literal(&self) -> Option<&str> {
        match self {
            Self::Literal(text) => Some(text),
            Self::Param(_) => None,
        }
    }
    /// As a Rust expression of type `&str`.
    fn expr(&self) -> String {
        match self {
            Self::Literal(text) => format!("{text:?}"),
            Self::Param(name) => name.clone(),
        }
    }
}

/// The segments of a template `{}/a/b/{}/c` (the base URL first) with the
/// parameters in their places; `None` unless every parameter fills a whole
/// segment and every literal segment is plain.
fn segments(template: &str, params: &[String]) -> Option<Vec<Segment>> {
    let path = template.strip_prefix("{}")?;
    let pieces: Vec<&str> = path.split("{}").collect();
    if pieces.len() != params.len() + 1 || path.contains("{{") || path.contains("}}") {
        return None;
    }
    let mut out = Vec::new();
    for (i, piece) in pieces.iter().enumerate() {
        let last = i == params.len();
        // A parameter stands between two slashes, or at the end.
        let starts_ok = piece.starts_with('/') || (i > 0 && piece.is_empty() && last);
        let ends_ok = last || piece.ends_with('/');
        if !starts_ok || !ends_ok || piece.contains("//") || (last && piece.ends_with('/')) {
            return None;
        }
        for segment in piece.split('/').filter(|s| !s.is_empty()) {
            let plain = segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~'));
            if !plain || segment == "." || segment == ".." {
                return None;
            }
            out.push(Segment::Literal(segment.to_owned()));
        }
        if let Some(param) = params.get(i) {
            out.push(Segment::Param(param.clone()));
        }
    }
    Some(out)
}

/// `header_map.append("Name", value)`, as a statement of the method or of
/// an `if` in it, becomes
/// `header_map.append({ const NAME: HeaderName = HeaderName::from_static("name"); NAME }, value)`
/// when the name is made of letters, digits and hyphens. Says whether it
/// rewrote.
fn constant_header_name(stmt: &mut Stmt) -> bool {
    let expr = match stmt {
        Stmt::Expr(Expr::MethodCall(call), _) => call,
        Stmt::Expr(Expr::If(branch), _) => {
            let mut rewrote = false;
            for stmt in &mut branch.then_branch.stmts {
                rewrote |= constant_header_name(stmt);
            }
            return rewrote;
        }
        _ => return false,
    };
    if expr.method != "append" || !is_local(&expr.receiver, "header_map") {
        return false;
    }
    let Some(Expr::Lit(lit)) = expr.args.first() else {
        return false;
    };
    let Lit::Str(name) = &lit.lit else {
        return false;
    };
    let name = name.value();
    let plain = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !plain {
        return false;
    }
    let constant = format!(
        "{{ const NAME: ::reqwest::header::HeaderName = \
         ::reqwest::header::HeaderName::from_static({:?}); NAME }}",
        name.to_ascii_lowercase()
    );
    match (syn::parse_str::<Expr>(&constant), expr.args.first_mut()) {
        (Ok(constant), Some(first)) => {
            *first = constant;
            true
        }
        _ => false,
    }
}

/// `self.NAME`.
fn is_self_field(expr: &Expr, name: &str) -> bool {
    let Expr::Field(field) = expr else {
        return false;
    };
    is_local(&field.base, "self")
        && matches!(&field.member, syn::Member::Named(ident) if ident == name)
}

/// The parameter's name, for `encode_path(&p.to_string())` where `p` is a
/// `&str` parameter.
fn encoded_str_param(expr: &Expr, strs: &BTreeSet<String>) -> Option<String> {
    let Expr::Call(call) = expr else { return None };
    let is_encode = matches!(&*call.func, Expr::Path(p) if p.path.is_ident("encode_path"));
    if !is_encode || call.args.len() != 1 {
        return None;
    }
    let Some(Expr::Reference(reference)) = call.args.first() else {
        return None;
    };
    let Expr::MethodCall(to_string) = &*reference.expr else {
        return None;
    };
    if to_string.method != "to_string" || !to_string.args.is_empty() {
        return None;
    }
    let Expr::Path(param) = &*to_string.receiver else {
        return None;
    };
    let name = param.path.get_ident()?.to_string();
    strs.contains(&name).then_some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lean_source(source: &str) -> (String, Leaned) {
        let mut file: syn::File = syn::parse_str(source).expect("parses");
        let done = lean(&mut file).expect("leaned");
        // Without whitespace: the printer breaks long lines where it likes.
        let code = prettyplease::unparse(&file);
        (code.split_whitespace().collect(), done)
    }

    const METHOD: &str = r#"
        impl Client {
            pub async fn create_order<'a>(&'a self, customer_token: &'a str, key: Option<&'a str>) -> R {
                let url = format!("{}/customer-token/v1/tokens/{}/order", self.baseurl, encode_path(&customer_token.to_string()),);
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(2usize);
                header_map.append(::reqwest::header::HeaderName::from_static("api-version"), ::reqwest::header::HeaderValue::from_static(Self::api_version()));
                if let Some(value) = key { header_map.append("Klarna-Idempotency-Key", value.to_string().try_into()?); }
                send(url, header_map)
            }
        }
    "#;

    #[test]
    fn a_str_parameter_path_is_built_from_segments_and_the_version_header_is_dropped() {
        let (code, done) = lean_source(METHOD);
        assert!(
            code.contains(r#".url(0,&[customer_token,"order"]).map_err(Error::InvalidRequest)?;"#),
            "{code}"
        );
        assert!(!code.contains("api-version"), "{code}");
        assert!(code.contains("with_capacity(1usize)"), "{code}");
        assert!(
            code.contains(r#"constNAME:::reqwest::header::HeaderName=::reqwest::header::HeaderName::from_static("klarna-idempotency-key""#)
                && code.contains(r#"NAME},value.to_string().try_into()?,);"#),
            "{code}"
        );
        assert!(
            code.contains(r#"constPATH_PREFIXES:&[&[&str]]=&[&["customer-token","v1","tokens"]];"#),
            "{code}"
        );
        let method = BTreeSet::from(["create_order".to_owned()]);
        assert_eq!(done.urls, method);
        assert_eq!(done.api_version, method);
        assert_eq!(done.header_names, method);
        assert_eq!(done.prefixes, [["customer-token", "v1", "tokens"]]);
    }

    #[test]
    fn other_shapes_are_left_as_they_are() {
        for (template, param_type) in [
            // A parameter sharing its segment with text.
            (r#""{}/tokens/{}.json""#, "&'a str"),
            (r#""{}/tokens/x{}""#, "&'a str"),
            // Not a `&str` parameter.
            (r#""{}/tokens/{}""#, "u64"),
            // An empty segment, a trailing slash, an escaped brace.
            (r#""{}/tokens//{}""#, "&'a str"),
            (r#""{}/tokens/{}/""#, "&'a str"),
            (r#""{}/to{{kens/{}""#, "&'a str"),
            // A literal segment that would need encoding.
            (r#""{}/to ken/{}""#, "&'a str"),
        ] {
            let source = format!(
                "impl Client {{ fn f<'a>(&'a self, p: {param_type}) {{ \
                 let url = format!({template}, self.baseurl, encode_path(&p.to_string()),); }} }}"
            );
            let (code, done) = lean_source(&source);
            assert!(done.urls.is_empty(), "{template}: {code}");
            assert!(code.contains("encode_path"), "{template}: {code}");
        }
    }

    #[test]
    fn trait_impls_and_other_types_are_not_touched() {
        for source in [
            METHOD.replace("impl Client", "impl Other"),
            METHOD.replace("impl Client", "impl Hooks for Client"),
        ] {
            let (code, done) = lean_source(&source);
            assert_eq!(done, Leaned::default());
            // The table is there, empty.
            assert!(
                code.contains("constPATH_PREFIXES:&[&[&str]]=&[];"),
                "{code}"
            );
        }
    }

    const HOOKED: &str = r#"
        impl Client {
            pub async fn read<'a>(&'a self, customer_token: &'a str) -> R {
                let url = format!("{}/tokens/{}", self.baseurl, encode_path(&customer_token.to_string()),);
                let mut header_map = ::reqwest::header::HeaderMap::with_capacity(0usize);
                #[allow(unused_mut)]
                let mut request = self.client.get(url).headers(header_map).build()?;
                let info = OperationInfo { operation_id: "read" };
                self.pre(&mut request, &info).await?;
                let result = self.exec(request, &info).await;
                self.post(&result, &info).await?;
                let response = result?;
                decode(response).await
            }
        }
    "#;

    #[test]
    fn the_request_is_built_in_one_block_and_the_hooks_are_not_called() {
        let (code, done) = lean_source(HOOKED);
        assert!(
            code.contains(
                "letrequest={leturl=self.inner.url(0,&[customer_token]).map_err(Error::InvalidRequest)?;\
                 letmutheader_map=::reqwest::header::HeaderMap::with_capacity(0usize);\
                 self.client.get(url).headers(header_map).build()?};\
                 letresult=self.inner.execute(request,call).await;\
                 letresponse=result?;decode(response).await"
            ),
            "{code}"
        );
        assert!(
            code.contains("customer_token:&'astr,call:&'amutcrate::transport::CallScope,)"),
            "{code}"
        );
        assert!(!code.contains("OperationInfo"), "{code}");
        assert_eq!(done.straight, BTreeSet::from(["read".to_owned()]));
    }

    #[test]
    fn a_method_of_another_shape_keeps_its_hooks() {
        for (from, to) in [
            // A later statement names a local of the block.
            ("decode(response).await", "decode(response, url).await"),
            // No `pre` hook, or one called twice.
            ("self.pre(&mut request, &info).await?;", ""),
            (
                "self.pre(&mut request, &info).await?;",
                "self.pre(&mut request, &info).await?; self.pre(&mut request, &info).await?;",
            ),
            // The hooks in the other order.
            (
                "self.pre(&mut request, &info).await?;",
                "self.post(&result, &info).await?;",
            ),
            // A pattern that is not a plain name.
            ("let url =", "let (url) ="),
            // No `exec` call of the known shape, or no lifetime `'a`.
            (
                "self.exec(request, &info)",
                "self.exec(request.clone(), &info)",
            ),
            (
                "read<'a>(&'a self, customer_token: &'a str)",
                "read(&self, customer_token: &str)",
            ),
        ] {
            let source = HOOKED.replacen(from, to, 1);
            let (code, done) = lean_source(&source);
            assert!(done.straight.is_empty(), "{to}: {code}");
            assert!(code.contains("letmutrequest="), "{to}: {code}");
        }
    }

    #[test]
    fn a_prebuilt_body_is_sent_as_it_is_and_other_bodies_are_serialized() {
        let method = |ty: &str| {
            format!(
                "impl Client {{ pub async fn f<'a>(&'a self, body: &'a {ty}) -> R {{ \
                 let request = self.client.post(url).json(&body).headers(header_map).build()?; \
                 send(request) }} }}"
            )
        };
        let (code, done) = lean_source(&method("crate::order::OrderJson"));
        assert!(
            code.contains(
                ".post(url).header(::reqwest::header::CONTENT_TYPE,\
                 ::reqwest::header::HeaderValue::from_static(\"application/json\"),)\
                 .body(body).headers(header_map).build()?"
            ),
            "{code}"
        );
        assert_eq!(done.prebuilt_bodies, BTreeSet::from(["f".to_owned()]));
        for other in ["crate::token::CancelRequest", "OrderJsonish"] {
            let (code, done) = lean_source(&method(other));
            assert!(code.contains(".json(&body)"), "{other}: {code}");
            assert!(done.prebuilt_bodies.is_empty(), "{other}");
        }
    }
}
