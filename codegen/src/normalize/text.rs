//! The text of a description: decoding its bytes, the control characters
//! the YAML reader refuses (in two steps, around parsing), and prose in
//! plain ASCII.

use serde_json::Value;

use super::Unusable;

/// Decodes a file's bytes as text: UTF-8 when valid, otherwise Windows-1252
/// (how mis-encoded descriptions are usually produced), so that a stray
/// byte in a description never makes the whole file unreadable.
pub fn decode_text(bytes: &[u8]) -> String {
    // Valid UTF-8 stays as it is; only the bytes that are not valid UTF-8
    // are read as Windows-1252.
    let mut out = String::with_capacity(bytes.len());
    let mut rest = bytes;
    loop {
        match std::str::from_utf8(rest) {
            Ok(text) => {
                out.push_str(text);
                return out;
            }
            Err(e) => {
                let (valid, after) = rest.split_at(e.valid_up_to());
                out.push_str(std::str::from_utf8(valid).unwrap_or_default());
                let bad = e.error_len().unwrap_or(after.len());
                out.extend(after[..bad].iter().map(|&b| windows_1252(b)));
                rest = &after[bad..];
            }
        }
    }
}

fn windows_1252(byte: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8d}', 'Ž',
        '\u{8f}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9d}',
        'ž', 'Ÿ',
    ];
    match byte {
        0x80..=0x9f => HIGH[usize::from(byte - 0x80)],
        other => char::from(other),
    }
}

/// The first code point of the placeholders `shield_controls` writes: a
/// control character `c` (U+0000 to U+009F) becomes `PLACEHOLDER_BASE + c`,
/// in Supplementary Private Use Area-A, which the YAML reader accepts and
/// no description uses.
const PLACEHOLDER_BASE: u32 = 0xF_0000;

/// Whether a control character is one the YAML reader refuses in a file:
/// every C0 control except tab, LF and CR, U+007F, and every C1 control.
fn refused_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{9f}')
}

/// The control character a placeholder stands for.
fn placeholder_of(c: char) -> Option<char> {
    let code = u32::from(c).checked_sub(PLACEHOLDER_BASE)?;
    char::from_u32(code).filter(|&control| refused_control(control))
}

/// Step one of text cleaning, before parsing: swaps every control character
/// the YAML reader refuses for a placeholder (see `PLACEHOLDER_BASE`).
/// A leading byte-order mark is dropped.
pub fn shield_controls(text: &str) -> String {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    text.chars()
        .map(|c| {
            if refused_control(c) {
                char::from_u32(PLACEHOLDER_BASE + u32::from(c)).unwrap_or(c)
            } else {
                c
            }
        })
        .collect()
}

/// A control character or placeholder, as it stood in the file: a refused
/// control is read through its placeholder, and a control written as an
/// escape (`"\u0018"` in JSON, `"\x18"` in YAML) as itself.
fn control_in(c: char) -> Option<char> {
    placeholder_of(c).or(Some(c).filter(|&c| refused_control(c)))
}

/// Step two of text cleaning, after parsing. In prose (`description`,
/// `summary`, `title`, and every string under an `x-` extension)
/// U+0018/U+0019 become the typographic quotes U+2018/U+2019 they stand
/// for, and every other control character is removed. Anywhere else (a
/// name, an enum value, a pattern, a default, an example) a control
/// character makes the description unusable: the error names the JSON
/// pointer of the value.
pub fn resolve_controls(doc: &mut Value) -> Result<(), Unusable> {
    resolve_in(doc, &mut String::from("#"), Context::Structure)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Context {
    /// Keys and values that describe the API.
    Structure,
    /// Under an `x-` extension: every string is prose.
    Extension,
    /// Under `example`, `examples`, `default`, `enum` or `const`: data.
    Data,
}

fn resolve_in(value: &mut Value, pointer: &mut String, context: Context) -> Result<(), Unusable> {
    match value {
        Value::String(text) => {
            if context == Context::Extension {
                *text = prose_without_controls(text);
                Ok(())
            } else {
                refuse_controls(text, pointer)
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                let len = pointer.len();
                pointer.push_str(&format!("/{i}"));
                resolve_in(item, pointer, context)?;
                pointer.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            let entries = std::mem::take(map);
            for (key, mut v) in entries {
                let len = pointer.len();
                pointer.push('/');
                pointer.push_str(&key.replace('~', "~0").replace('/', "~1"));
                // The key itself is a name (or a status, a media type).
                if context != Context::Extension {
                    refuse_controls(&key, pointer)?;
                }
                let inner = if context != Context::Structure {
                    context
                } else if key.starts_with("x-") {
                    Context::Extension
                } else if DATA_KEYS.contains(&key.as_str()) {
                    Context::Data
                } else {
                    Context::Structure
                };
                match &mut v {
                    Value::String(text)
                        if context == Context::Structure && TEXT_KEYS.contains(&key.as_str()) =>
                    {
                        *text = prose_without_controls(text);
                    }
                    _ => resolve_in(&mut v, pointer, inner)?,
                }
                pointer.truncate(len);
                map.insert(key, v);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Prose with its control characters resolved: U+0018/U+0019 as the
/// quotes they stand for, the others removed.
fn prose_without_controls(text: &str) -> String {
    text.chars()
        .filter_map(|c| match control_in(c) {
            Some('\u{18}') => Some('\u{2018}'),
            Some('\u{19}') => Some('\u{2019}'),
            Some(_) => None,
            None => Some(c),
        })
        .collect()
}

fn refuse_controls(text: &str, pointer: &str) -> Result<(), Unusable> {
    match text.chars().find_map(control_in) {
        Some(control) => Err(Unusable(format!(
            "the control character U+{:04X} stands in a value that is not prose, at {pointer}",
            u32::from(control)
        ))),
        None => Ok(()),
    }
}

/// Keys whose values are prose.
pub(super) const TEXT_KEYS: &[&str] = &["description", "summary", "title"];

/// Keys whose values are data, never prose, whatever keys they hold.
pub(super) const DATA_KEYS: &[&str] = &["example", "examples", "default", "enum", "const"];

/// Rewrites prose to plain ASCII: typographic and mis-encoded characters
/// become their ASCII equivalents, anything else non-ASCII is dropped.
/// Returns how many texts changed.
pub(super) fn clean_texts(value: &mut Value) -> usize {
    let mut changed = 0;
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if TEXT_KEYS.contains(&key.as_str())
                    && let Value::String(text) = v
                {
                    let clean = ascii_text(text);
                    if clean != *text {
                        *text = clean;
                        changed += 1;
                    }
                } else if !DATA_KEYS.contains(&key.as_str()) {
                    changed += clean_texts(v);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                changed += clean_texts(v);
            }
        }
        _ => {}
    }
    changed
}

/// Mis-encodings of UTF-8 read as Windows-1252, and their meaning.
/// Longer sequences come first, so that a prefix never wins.
const MOJIBAKE: &[(&str, &str)] = &[
    ("â€™", "'"),
    ("â€˜", "'"),
    ("â€œ", "\""),
    ("â€\u{9d}", "\""),
    ("â€“", "-"),
    ("â€”", "-"),
    ("â€¦", "..."),
    ("â€", "\""),
    ("Â ", " "),
    ("Â", ""),
];

/// A text in plain ASCII.
pub fn ascii_text(text: &str) -> String {
    let mut text = text.to_owned();
    for (bad, good) in MOJIBAKE {
        if text.contains(bad) {
            text = text.replace(bad, good);
        }
    }
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            c if c.is_ascii() => out.push(c),
            '‘' | '’' | '‚' | '′' => out.push('\''),
            '“' | '”' | '„' | '″' => out.push('"'),
            '–' | '—' | '−' => out.push('-'),
            '…' => out.push_str("..."),
            '\u{a0}' | '\u{2002}'..='\u{200a}' => out.push(' '),
            '€' => out.push_str("EUR"),
            '×' => out.push('x'),
            _ => {}
        }
    }
    out
}
