//! The one scrub every server-supplied value goes through before it can be
//! shown: in `Display`, `Debug`, a log event or a span field.
//!
//! A server (or a proxy in front of it) may echo the customer token or the
//! credentials anywhere and in any encoding: in a body, in a header, inside
//! a JSON string with `\u` escapes, percent-encoded (`%73`, `%2F` or `%2f`,
//! `+` for a space), as HTML character references (`&#115;`, `&#x73;`,
//! `&amp;`), or as base64. [`Scrubber::scrub`] finds every occurrence,
//! ignoring ASCII case:
//!
//! - in the text as received, and in every view of it that undoing JSON
//!   escapes, percent-encoding or HTML references gives, up to
//!   [`DECODE_LEVELS`] layers deep in any order (a value percent-encoded
//!   inside a JSON string is found, as is one escaped twice);
//! - as itself and as its base64 ([`encoded_forms`]: standard and URL-safe
//!   alphabets, padded or not), for the token as well as for the
//!   credentials, whose forms (the base64 of `user:pass` among them) the
//!   client works out once when it is built;
//!
//! and replaces the stretch of the original text it came from: the token
//! by its redacted form (`…9e00`), a credential (the password, the
//! username, an API key, a proxy's user and password) by `<redacted>`.
//!
//! What is shown is also bounded: at most [`MAX_SHOWN_BYTES`] of the source
//! text, ending with `…` when it was cut. Only a window of the source a
//! little longer than that is ever copied, whatever the size of the value,
//! and at most [`MAX_VIEWS`] decoded views of it are searched, so the work
//! per value is bounded too.

use std::collections::HashSet;
use std::ops::Range;

use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};

/// The most bytes of one server-supplied value that are shown.
pub(crate) const MAX_SHOWN_BYTES: usize = 1024;

/// How many layers of encoding (JSON escapes, percent-encoding, HTML
/// character references, in any order) are undone when looking for
/// secrets.
pub(crate) const DECODE_LEVELS: usize = 3;

/// The most decoded views of one value that are searched: the three
/// decodings over [`DECODE_LEVELS`] layers make at most 3 + 9 + 27.
pub(crate) const MAX_VIEWS: usize = 39;

/// The longest stretch of source text one byte of a secret takes in one
/// layer of encoding: `\u0073` is 6, `%73` is 3 (a 4-byte character is 12
/// for its 4 bytes), `&#x00073;` is at most 11 (numeric references are read
/// with at most 7 digits).
const MAX_ESCAPE_BYTES: usize = 12;

/// Secrets shorter than this are not looked for: hiding every `ab` in a
/// message would hide the message, not a secret.
const MIN_SECRET_LEN: usize = 4;

/// What a credential is replaced by.
const REDACTED: &str = "<redacted>";

/// The characters a body preview shows at most.
const PREVIEW_CHARS: usize = 200;

/// `secret` and its base64, in the standard and the URL-safe alphabet,
/// padded and unpadded: the forms in which a server could echo it that no
/// decoding of the text undoes. Duplicates are left out.
pub(crate) fn encoded_forms(secret: &str) -> Vec<String> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let mut forms = vec![secret.to_owned()];
    if secret.is_empty() {
        return forms;
    }
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        let form = engine.encode(secret);
        if !forms.contains(&form) {
            forms.push(form);
        }
    }
    forms
}

/// A URL as the crate shows it: without user information, query or
/// fragment, any of which may carry a secret. Text that does not parse as
/// a URL is cut before its first `?` or `#`, and anything before an `@`
/// in what would be its authority is dropped.
pub(crate) fn shown_url(url: &str) -> String {
    if let Ok(mut parsed) = url::Url::parse(url) {
        // A URL that cannot have user information has none to drop.
        let _ = parsed.set_username("");
        let _ = parsed.set_password(None);
        parsed.set_query(None);
        parsed.set_fragment(None);
        return parsed.into();
    }
    let cut = url.find(['?', '#']).map_or(url, |at| &url[..at]);
    let (scheme, rest) = match cut.find("://") {
        Some(at) => cut.split_at(at + 3),
        None => ("", cut),
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{scheme}{}", &rest[at + 1..]),
        None => cut.to_owned(),
    }
}

/// The secrets of one call and what replaces each.
pub(crate) struct Scrubber<'a> {
    token: &'a str,
    token_redacted: &'a str,
    secrets: &'a [SecretString],
}

impl<'a> Scrubber<'a> {
    pub(crate) fn new(
        token: &'a str,
        token_redacted: &'a str,
        secrets: &'a [SecretString],
    ) -> Self {
        Self {
            token,
            token_redacted,
            secrets,
        }
    }

    /// Every secret with its replacement, lowercased for matching: the
    /// token in each of its [`encoded_forms`], and the credentials' forms
    /// as the client worked them out.
    fn needles(&self) -> Vec<(String, &str)> {
        let mut needles = Vec::with_capacity(self.secrets.len() + 5);
        if self.token.len() >= MIN_SECRET_LEN {
            for form in encoded_forms(self.token) {
                needles.push((form.to_ascii_lowercase(), self.token_redacted));
            }
        }
        for secret in self.secrets {
            let secret = secret.expose_secret();
            if secret.len() >= MIN_SECRET_LEN {
                needles.push((secret.to_ascii_lowercase(), REDACTED));
            }
        }
        needles
    }

    /// How far past the shown part the text is looked at, so that a secret
    /// that starts in the shown part is found whole: the longest needle
    /// with every byte in the longest escape of one layer, twice over (two
    /// layers of the shorter escapes, such as percent-encoding inside JSON
    /// escapes, fit too).
    fn margin(&self, needles: &[(String, &str)]) -> usize {
        let longest = needles.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        longest.saturating_mul(2 * MAX_ESCAPE_BYTES) + 16
    }

    /// `text` with every secret replaced, cut at [`MAX_SHOWN_BYTES`] (with a
    /// trailing `…` when cut).
    pub(crate) fn scrub(&self, text: &str) -> String {
        self.scrub_window(text, false)
    }

    /// Like [`scrub`](Self::scrub), for a `window` that is the start of a
    /// longer text when `cut_before` is true.
    fn scrub_window(&self, window: &str, cut_before: bool) -> String {
        let needles = self.needles();
        let margin = self.margin(&needles);
        // Look at a little more than is shown, so that a secret that starts
        // in the shown part is found whole.
        let looked_at = floor_char_boundary(window, MAX_SHOWN_BYTES.saturating_add(margin));
        let shown_end = if looked_at < window.len() || cut_before {
            floor_char_boundary(window, MAX_SHOWN_BYTES)
        } else {
            window.len()
        };
        let cut = shown_end < window.len() || cut_before;
        // A signed notification URL's MAC is a secret too.
        let text = crate::notification::signer::hide_signatures(&window[..looked_at]);
        let shown_end = floor_char_boundary(&text, shown_end);
        let masks = masks(&text, &needles);
        let mut out = apply(&text, &masks, shown_end);
        if cut {
            out.push('…');
        }
        out
    }

    /// A short, single-line, secret-free view of a body for messages. Only
    /// a bounded window at the start of the body is copied.
    pub(crate) fn preview(&self, body: &[u8]) -> String {
        let margin = self.margin(&self.needles());
        let window_len = body.len().min(MAX_SHOWN_BYTES.saturating_add(margin));
        let window = String::from_utf8_lossy(&body[..window_len]);
        let text = self.scrub_window(&window, window_len < body.len());
        let mut out = String::new();
        let mut chars = 0usize;
        for word in text.split_whitespace() {
            if !out.is_empty() {
                out.push(' ');
                chars += 1;
            }
            for c in word.chars() {
                if chars == PREVIEW_CHARS {
                    if !out.ends_with('…') {
                        out.push('…');
                    }
                    return out;
                }
                out.push(c);
                chars += 1;
            }
        }
        out
    }
}

/// The largest char boundary of `text` at or below `at`.
fn floor_char_boundary(text: &str, at: usize) -> usize {
    if at >= text.len() {
        return text.len();
    }
    let mut at = at;
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// One layer of encoding a view of the text can undo: the decoded text
/// and, for each of its bytes plus one past the end, where in the undecoded
/// text the character it belongs to starts; `None` when the text holds
/// nothing to undo.
type Decoder = fn(&str, bool) -> Option<(String, Vec<usize>)>;

/// JSON escapes, percent-encoding, HTML character references.
const DECODERS: [Decoder; 3] = [json_view, percent_view, html_view];

/// The byte ranges of `text` that hold a secret, with what replaces each;
/// sorted, not overlapping.
fn masks<'r>(text: &str, needles: &[(String, &'r str)]) -> Vec<(Range<usize>, &'r str)> {
    let mut found: Vec<(Range<usize>, &'r str)> = Vec::new();
    if needles.is_empty() {
        return found;
    }
    // A `+` stands for a space in form encoding: read so only when a
    // secret holds a space.
    let plus_is_space = needles.iter().any(|(n, _)| n.contains(' '));
    // The text as received.
    find(&text.to_ascii_lowercase(), None, needles, &mut found);
    // Each view: a decoding of the text, layer by layer, with a map from
    // each of its bytes back to where it came from in `text`. Views already
    // searched (two orders of decoding often agree) are not searched again.
    let mut seen: HashSet<String> = HashSet::from([text.to_owned()]);
    let mut frontier: Vec<(String, Option<Vec<usize>>)> = vec![(text.to_owned(), None)];
    let mut views = 0usize;
    for _ in 0..DECODE_LEVELS {
        let mut next = Vec::new();
        for (source, to_text) in &frontier {
            for decode in DECODERS {
                if views == MAX_VIEWS {
                    break;
                }
                let Some((decoded, origin)) = decode(source, plus_is_space) else {
                    continue;
                };
                if !seen.insert(decoded.clone()) {
                    continue;
                }
                views += 1;
                // Composed with the earlier layers' map, back to `text`.
                let origin: Vec<usize> = match to_text {
                    Some(previous) => origin.iter().map(|&i| previous[i]).collect(),
                    None => origin,
                };
                find(
                    &decoded.to_ascii_lowercase(),
                    Some(&origin),
                    needles,
                    &mut found,
                );
                next.push((decoded, Some(origin)));
            }
        }
        frontier = next;
    }
    found.sort_by_key(|(range, _)| (range.start, std::cmp::Reverse(range.end)));
    let mut merged: Vec<(Range<usize>, &'r str)> = Vec::with_capacity(found.len());
    for (range, with) in found {
        match merged.last_mut() {
            Some((last, last_with)) if range.start < last.end => {
                last.end = last.end.max(range.end);
                if with == REDACTED {
                    *last_with = REDACTED;
                }
            }
            _ => merged.push((range, with)),
        }
    }
    merged
}

/// Adds every occurrence of a needle in `haystack` (lowercased) to `found`,
/// mapped back to the original text through `origin` when given.
fn find<'r>(
    haystack: &str,
    origin: Option<&[usize]>,
    needles: &[(String, &'r str)],
    found: &mut Vec<(Range<usize>, &'r str)>,
) {
    for (needle, with) in needles {
        for (start, matched) in haystack.match_indices(needle.as_str()) {
            let end = start + matched.len();
            let range = match origin {
                Some(origin) => origin[start]..origin[end],
                None => start..end,
            };
            found.push((range, *with));
        }
    }
}

/// `text[..end]` with each masked range replaced; a range that starts
/// before `end` is replaced whole.
fn apply(text: &str, masks: &[(Range<usize>, &str)], end: usize) -> String {
    let mut out = String::with_capacity(end.min(text.len()));
    let mut at = 0;
    for (range, with) in masks {
        if range.start >= end {
            break;
        }
        out.push_str(&text[at..range.start.max(at)]);
        out.push_str(with);
        at = at.max(range.end);
    }
    if at < end {
        out.push_str(&text[at..end]);
    }
    out
}

/// The JSON-unescaped view of `text`, when it holds a backslash.
fn json_view(text: &str, _plus_is_space: bool) -> Option<(String, Vec<usize>)> {
    text.contains('\\').then(|| json_unescape(text))
}

/// Builds a view: the decoded text and its map back to the source.
struct View {
    out: String,
    origin: Vec<usize>,
}

impl View {
    fn with_capacity(len: usize) -> Self {
        Self {
            out: String::with_capacity(len),
            origin: Vec::with_capacity(len + 1),
        }
    }

    /// `c`, decoded from the source text starting at `from`.
    fn push(&mut self, c: char, from: usize) {
        self.out.push(c);
        self.origin.extend(std::iter::repeat_n(from, c.len_utf8()));
    }

    /// The characters of `text` from byte `at`, as they are.
    fn copy_char(&mut self, text: &str, at: usize) -> usize {
        let c = text[at..].chars().next().unwrap_or('\u{FFFD}');
        self.push(c, at);
        c.len_utf8().max(1)
    }

    fn finish(mut self, source_len: usize) -> (String, Vec<usize>) {
        self.origin.push(source_len);
        (self.out, self.origin)
    }
}

/// The percent-decoded view of `text` (`%XX` in either case; a run of
/// escapes that is one UTF-8 character becomes that character; `+` becomes
/// a space when `plus_is_space`), when it holds anything to decode. An
/// escape that is no character is left as it is.
fn percent_view(text: &str, plus_is_space: bool) -> Option<(String, Vec<usize>)> {
    if !(text.contains('%') || plus_is_space && text.contains('+')) {
        return None;
    }
    let bytes = text.as_bytes();
    let mut view = View::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                if let Some((c, len)) = percent_char_at(bytes, i) {
                    view.push(c, i);
                    i += len;
                } else {
                    view.push('%', i);
                    i += 1;
                }
            }
            b'+' if plus_is_space => {
                view.push(' ', i);
                i += 1;
            }
            _ => i += view.copy_char(text, i),
        }
    }
    Some(view.finish(text.len()))
}

/// `text` with its `%XX` escapes decoded (see [`percent_view`]).
pub(crate) fn percent_decoded(text: &str) -> String {
    percent_view(text, false).map_or_else(|| text.to_owned(), |(decoded, _)| decoded)
}

/// The byte of the `%XX` escape at `at`.
fn percent_byte_at(bytes: &[u8], at: usize) -> Option<u8> {
    if bytes.get(at) != Some(&b'%') {
        return None;
    }
    let digits = bytes.get(at + 1..at + 3)?;
    let text = std::str::from_utf8(digits).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// The character the run of `%XX` escapes at `at` spells, and the run's
/// length.
fn percent_char_at(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let first = percent_byte_at(bytes, at)?;
    let len = match first {
        0x00..=0x7F => 1,
        0xC0..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF7 => 4,
        _ => return None,
    };
    let mut utf8 = [0u8; 4];
    utf8[0] = first;
    for (k, slot) in utf8.iter_mut().enumerate().take(len).skip(1) {
        *slot = percent_byte_at(bytes, at + 3 * k)?;
    }
    let c = std::str::from_utf8(&utf8[..len]).ok()?.chars().next()?;
    Some((c, 3 * len))
}

/// The view of `text` with HTML character references decoded (`&#115;`,
/// `&#x73;` with at most 7 digits and the `;` optional, and `&amp;`,
/// `&lt;`, `&gt;`, `&quot;`, `&apos;`), when it holds an `&`.
fn html_view(text: &str, _plus_is_space: bool) -> Option<(String, Vec<usize>)> {
    if !text.contains('&') {
        return None;
    }
    let bytes = text.as_bytes();
    let mut view = View::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'&'
            && let Some((c, len)) = reference_at(text, i)
        {
            view.push(c, i);
            i += len;
            continue;
        }
        i += view.copy_char(text, i);
    }
    Some(view.finish(text.len()))
}

/// The character an HTML reference at `at` (an `&`) stands for, and its
/// length.
fn reference_at(text: &str, at: usize) -> Option<(char, usize)> {
    const NAMED: [(&str, char); 5] = [
        ("&amp;", '&'),
        ("&lt;", '<'),
        ("&gt;", '>'),
        ("&quot;", '"'),
        ("&apos;", '\''),
    ];
    let rest = &text[at..];
    for (name, c) in NAMED {
        if rest
            .get(..name.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(name))
        {
            return Some((c, name.len()));
        }
    }
    let bytes = rest.as_bytes();
    if bytes.get(1) != Some(&b'#') {
        return None;
    }
    let (radix, start) = match bytes.get(2) {
        Some(b'x' | b'X') => (16, 3),
        _ => (10, 2),
    };
    let digits = bytes[start..]
        .iter()
        .take(7)
        .take_while(|b| char::from(**b).is_digit(radix))
        .count();
    if digits == 0 {
        return None;
    }
    let code = u32::from_str_radix(&rest[start..start + digits], radix).ok()?;
    let c = char::from_u32(code)?;
    let mut len = start + digits;
    if bytes.get(len) == Some(&b';') {
        len += 1;
    }
    Some((c, len))
}

/// Undoes one level of JSON string escaping (`\"`, `\\`, `\/`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs) anywhere in `text`.
/// Returns the decoded text and, for each of its bytes plus one past the
/// end, the offset in `text` where the character it belongs to starts.
fn json_unescape(text: &str) -> (String, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut view = View::with_capacity(text.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some((c, len)) = escape_at(bytes, i)
        {
            view.push(c, i);
            i += len;
            continue;
        }
        i += view.copy_char(text, i);
    }
    view.finish(text.len())
}

/// The character an escape at `at` stands for, and the escape's length.
fn escape_at(bytes: &[u8], at: usize) -> Option<(char, usize)> {
    let simple = match bytes.get(at + 1)? {
        b'"' => '"',
        b'\\' => '\\',
        b'/' => '/',
        b'b' => '\u{8}',
        b'f' => '\u{c}',
        b'n' => '\n',
        b'r' => '\r',
        b't' => '\t',
        b'u' => {
            let high = hex4(bytes, at + 2)?;
            if (0xD800..0xDC00).contains(&high)
                && bytes.get(at + 6) == Some(&b'\\')
                && bytes.get(at + 7) == Some(&b'u')
                && let Some(low) = hex4(bytes, at + 8)
                && (0xDC00..0xE000).contains(&low)
            {
                let code = 0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00);
                return Some((char::from_u32(code).unwrap_or('\u{FFFD}'), 12));
            }
            return Some((char::from_u32(high).unwrap_or('\u{FFFD}'), 6));
        }
        _ => return None,
    };
    Some((simple, 2))
}

fn hex4(bytes: &[u8], at: usize) -> Option<u32> {
    let digits = bytes.get(at..at + 4)?;
    let text = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(text, 16).ok()
}

#[cfg(test)]
mod tests;
