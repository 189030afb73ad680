//! The one scrub every server-supplied value goes through before it can be
//! shown: in `Display`, `Debug`, a log event or a span field.
//!
//! A server (or a proxy in front of it) may echo the customer token or the
//! credentials anywhere: in a body, in a header, inside a JSON string with
//! `\u` escapes. [`Scrubber::scrub`] finds every occurrence, ignoring ASCII
//! case, both in the text as received and in the text after JSON unescaping
//! (up to [`DECODE_LEVELS`] levels, for values escaped twice), and replaces
//! the stretch of the original text it came from: the token by its redacted
//! form (`…9e00`), a credential (the password, the username, an API key, the
//! base64 of `user:pass`) by `<redacted>`.
//!
//! What is shown is also bounded: at most [`MAX_SHOWN_BYTES`] of the source
//! text, ending with `…` when it was cut. Only a window of the source a
//! little longer than that is ever copied, whatever the size of the value.

use std::ops::Range;

use secrecy::{ExposeSecret as _, SecretString};

/// The most bytes of one server-supplied value that are shown.
pub(crate) const MAX_SHOWN_BYTES: usize = 1024;

/// How many levels of JSON escaping are undone when looking for secrets.
pub(crate) const DECODE_LEVELS: usize = 3;

/// Secrets shorter than this are not looked for: hiding every `ab` in a
/// message would hide the message, not a secret.
const MIN_SECRET_LEN: usize = 4;

/// What a credential is replaced by.
const REDACTED: &str = "<redacted>";

/// The characters a body preview shows at most.
const PREVIEW_CHARS: usize = 200;

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

    /// Every secret with its replacement, lowercased for matching.
    fn needles(&self) -> Vec<(String, &str)> {
        let mut needles = Vec::with_capacity(self.secrets.len() + 1);
        if self.token.len() >= MIN_SECRET_LEN {
            needles.push((self.token.to_ascii_lowercase(), self.token_redacted));
        }
        for secret in self.secrets {
            let secret = secret.expose_secret();
            if secret.len() >= MIN_SECRET_LEN {
                needles.push((secret.to_ascii_lowercase(), REDACTED));
            }
        }
        needles
    }

    /// The longest stretch of source text one secret can occupy, escaped
    /// [`DECODE_LEVELS`] times (a `\u` escape is 6 bytes, one more per
    /// extra level, for a byte of the secret).
    fn margin(&self, needles: &[(String, &str)]) -> usize {
        let longest = needles.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
        longest.saturating_mul(6 + DECODE_LEVELS) + 16
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
        let text = &window[..looked_at];
        let masks = masks(text, &needles);
        let mut out = apply(text, &masks, shown_end);
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

/// The byte ranges of `text` that hold a secret, with what replaces each;
/// sorted, not overlapping.
fn masks<'r>(text: &str, needles: &[(String, &'r str)]) -> Vec<(Range<usize>, &'r str)> {
    let mut found: Vec<(Range<usize>, &'r str)> = Vec::new();
    if needles.is_empty() {
        return found;
    }
    // The text as received.
    find(&text.to_ascii_lowercase(), None, needles, &mut found);
    // The text after each level of JSON unescaping, with a map from each
    // byte of the decoded text back to where it came from.
    let mut view: Option<(String, Vec<usize>)> = None;
    for _ in 0..DECODE_LEVELS {
        let source = view.as_ref().map_or(text, |(s, _)| s.as_str());
        if !source.contains('\\') {
            break;
        }
        let (decoded, origin) = json_unescape(source);
        let origin = match &view {
            // Compose with the previous level's map, back to `text`.
            Some((_, previous)) => origin.iter().map(|&i| previous[i]).collect(),
            None => origin,
        };
        find(
            &decoded.to_ascii_lowercase(),
            Some(&origin),
            needles,
            &mut found,
        );
        view = Some((decoded, origin));
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

/// Undoes one level of JSON string escaping (`\"`, `\\`, `\/`, `\b`, `\f`,
/// `\n`, `\r`, `\t`, `\uXXXX` with surrogate pairs) anywhere in `text`.
/// Returns the decoded text and, for each of its bytes plus one past the
/// end, the offset in `text` where the character it belongs to starts.
fn json_unescape(text: &str) -> (String, Vec<usize>) {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut origin = Vec::with_capacity(text.len() + 1);
    let mut i = 0;
    let push = |out: &mut String, origin: &mut Vec<usize>, c: char, from: usize| {
        out.push(c);
        origin.extend(std::iter::repeat_n(from, c.len_utf8()));
    };
    while i < bytes.len() {
        if bytes[i] == b'\\'
            && let Some((c, len)) = escape_at(bytes, i)
        {
            push(&mut out, &mut origin, c, i);
            i += len;
            continue;
        }
        // Copy one character as it is.
        let c = text[i..].chars().next().unwrap_or('\u{FFFD}');
        push(&mut out, &mut origin, c, i);
        i += c.len_utf8().max(1);
    }
    origin.push(text.len());
    (out, origin)
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
mod tests {
    use super::*;

    const TOKEN: &str = "0b1d9815-165e-42e2-8867-35bc03789e00";

    fn secrets() -> Vec<SecretString> {
        vec![
            SecretString::from("SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA=="),
            SecretString::from("shared-secret"),
            SecretString::from("K123456_abcd12345"),
        ]
    }

    fn escaped(text: &str) -> String {
        text.chars()
            .map(|c| format!("\\u{:04x}", c as u32))
            .collect()
    }

    #[test]
    fn every_form_is_replaced() {
        let secrets = secrets();
        let s = Scrubber::new(TOKEN, "…9e00", &secrets);
        let inputs = [
            format!("token {TOKEN} end"),
            format!("token {} end", TOKEN.to_uppercase()),
            format!("token {} end", escaped(TOKEN)),
            format!("pw {} end", escaped("shared-secret")),
            // Escaped twice, and partly.
            format!("pw {} end", escaped("shared-secret").replace('\\', "\\\\")),
            "pw shared-s\\u0065cret end".to_owned(),
            "auth SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA== end".to_owned(),
            "auth SzEyMzQ1Nl9hYmNkMTIzNDU6c2hhcmVkLXNlY3JldA\\u003d\\u003d end".to_owned(),
            "user K123456\\u005fabcd12345 end".to_owned(),
        ];
        for input in inputs {
            let out = s.scrub(&input);
            let lower = out.to_ascii_lowercase();
            for secret in [
                TOKEN,
                "shared-secret",
                "k123456_abcd12345",
                "6c2hhcmvklxnly3jlda",
            ] {
                assert!(
                    !lower.contains(&secret.to_ascii_lowercase()),
                    "{input} -> {out}"
                );
            }
            assert!(out.ends_with(" end"), "{input} -> {out}");
            assert!(out.contains("…9e00") || out.contains(REDACTED), "{out}");
        }
    }

    #[test]
    fn text_without_secrets_is_unchanged() {
        let secrets = secrets();
        let s = Scrubber::new(TOKEN, "…9e00", &secrets);
        for text in ["", "plain", "a \\u0041 \\n \\", "ü€😀 \\ud83d\\ude00"] {
            assert_eq!(s.scrub(text), text);
        }
    }

    #[test]
    fn long_values_are_cut_and_a_secret_at_the_cut_is_hidden_whole() {
        let secrets = secrets();
        let s = Scrubber::new(TOKEN, "…9e00", &secrets);
        for offset in MAX_SHOWN_BYTES - 40..MAX_SHOWN_BYTES + 5 {
            let text = format!(
                "{}{}{}",
                "x".repeat(offset),
                escaped("shared-secret"),
                "y".repeat(5000)
            );
            let out = s.scrub(&text);
            assert!(out.ends_with('…'), "{offset}");
            assert!(
                out.len() <= MAX_SHOWN_BYTES + REDACTED.len() + 3,
                "{offset}"
            );
            // No prefix of the escaped secret is left at the cut.
            assert!(!out.contains("\\u0073\\u0068"), "{offset}: {out}");
        }
    }

    #[test]
    fn preview_is_short_single_line_and_bounded() {
        let secrets = secrets();
        let s = Scrubber::new(TOKEN, "…9e00", &secrets);
        let body = format!(
            "<html>\n  <p>{TOKEN}</p>\n{}</html>",
            "word ".repeat(100_000)
        );
        let out = s.preview(body.as_bytes());
        assert!(out.starts_with("<html> <p>…9e00</p> word"), "{out}");
        assert!(out.chars().count() <= PREVIEW_CHARS + 1);
        assert!(out.ends_with('…'));
        assert!(!out.contains('\n'));
    }

    #[test]
    fn no_secrets_means_no_work() {
        let s = Scrubber::new("", "…", &[]);
        assert_eq!(s.scrub("abc"), "abc");
    }
}
