//! Bounds on what is parsed, checked before the YAML reader sees a byte.
//!
//! A YAML reader can be exhausted by a few kilobytes: anchors and aliases
//! expand a small file into gigabytes ("billion laughs"), and deep nesting
//! costs the reader time out of proportion to its size. Neither Klarna's
//! published descriptions nor ours use anchors, aliases or more than a
//! dozen levels of nesting, so a description that does is refused before
//! parsing, by one linear pass over its text (`prescan`), and a file larger
//! than `MAX_BYTES` is not read at all.
//!
//! The pass follows the lexical rules of the YAML reader (libyaml, through
//! `serde_norway`) closely enough to know where a token starts: an `&` or
//! `*` there is an anchor or an alias, while one inside a quoted scalar, a
//! block scalar (`|`, `>`), a plain scalar (`Terms & conditions`, `^a*$`)
//! or a comment is text. Nesting counts the open flow collections (`[`,
//! `{`) and the open block collections (each deeper indentation of a
//! mapping key, each `- ` entry, including `- - -` on one line).

use super::Unusable;

/// The largest description read, in bytes: Klarna's file is about 20 KB,
/// ours about 21 KB; 1 MiB leaves room for fifty times that while keeping
/// what the reader builds from it small.
pub const MAX_BYTES: usize = 1024 * 1024;

/// The deepest nesting accepted: the descriptions we know reach about a
/// dozen levels (path, operation, responses, content, schema, properties).
pub const MAX_DEPTH: usize = 64;

/// Refuses, before any parsing, a text larger than `MAX_BYTES`, holding a
/// YAML anchor or alias, or nested deeper than `MAX_DEPTH`. One linear pass;
/// the error names the line and column.
pub fn prescan(text: &str) -> Result<(), Unusable> {
    if text.len() > MAX_BYTES {
        return Err(too_large(text.len()));
    }
    let mut scan = Scan::default();
    for (number, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        scan.line(line.as_bytes()).map_err(|(column, what)| {
            Unusable(format!(
                "{what} (line {}, column {})",
                number + 1,
                column + 1
            ))
        })?;
    }
    Ok(())
}

pub(super) fn too_large(len: usize) -> Unusable {
    Unusable(format!(
        "it is larger than {MAX_BYTES} bytes ({len} bytes); descriptions of this API are about 20 KB"
    ))
}

/// A block scalar (`|` or `>`) whose content lines are being skipped.
#[derive(Clone, Copy)]
struct BlockScalar {
    /// The indentation of the collection holding it (-1 at the top level).
    parent: isize,
    /// Its content's indentation, once known.
    indent: Option<usize>,
    /// The largest indentation of the blank lines before its content.
    blank_indent: usize,
}

#[derive(Default)]
struct Scan {
    /// Open flow collections.
    flow: usize,
    /// The columns of the open block collections.
    blocks: Vec<usize>,
    /// Inside a quoted scalar opened with this quote, across lines.
    quoted: Option<u8>,
    /// Inside a block scalar.
    block_scalar: Option<BlockScalar>,
    /// Inside a plain scalar that may continue on the next line.
    plain: bool,
    /// The next non-blank byte starts a token (carried across lines in flow
    /// collections).
    token_start: bool,
}

type Refusal = (usize, &'static str);

const ANCHOR: &str =
    "it uses a YAML anchor (`&`); descriptions of this API use no anchors or aliases";
const ALIAS: &str =
    "it uses a YAML alias (`*`); descriptions of this API use no anchors or aliases";
const DEEP: &str = "it is nested deeper than 64 levels";

fn blank_or_end(bytes: &[u8], at: usize) -> bool {
    bytes.get(at).is_none_or(|b| matches!(b, b' ' | b'\t'))
}

fn flow_indicator(bytes: &[u8], at: usize) -> bool {
    bytes
        .get(at)
        .is_some_and(|b| matches!(b, b',' | b'[' | b']' | b'{' | b'}'))
}

impl Scan {
    fn top(&self) -> isize {
        self.blocks.last().map_or(-1, |&c| c as isize)
    }

    fn depth_ok(&self, column: usize) -> Result<(), Refusal> {
        if self.flow + self.blocks.len() > MAX_DEPTH {
            Err((column, DEEP))
        } else {
            Ok(())
        }
    }

    /// A block collection (a mapping whose keys start at `column`, or a
    /// sequence whose `-` stands there).
    fn open_block(&mut self, column: usize) -> Result<(), Refusal> {
        if self.flow == 0 && (column as isize) > self.top() {
            self.blocks.push(column);
            self.depth_ok(column)?;
        }
        Ok(())
    }

    fn line(&mut self, bytes: &[u8]) -> Result<(), Refusal> {
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let blank = bytes[indent..].iter().all(|b| matches!(b, b' ' | b'\t'));

        if let Some(mut block) = self.block_scalar {
            if blank {
                block.blank_indent = block.blank_indent.max(indent);
                self.block_scalar = Some(block);
                return Ok(());
            }
            let needed = block.indent.unwrap_or_else(|| {
                let floor = usize::try_from(block.parent + 1).unwrap_or(0).max(1);
                block.blank_indent.max(indent).max(floor)
            });
            if indent >= needed {
                block.indent = Some(needed);
                self.block_scalar = Some(block);
                return Ok(());
            }
            self.block_scalar = None;
        }

        let at;
        if let Some(quote) = self.quoted {
            match close_quote(bytes, 0, quote) {
                Some(after) => {
                    self.quoted = None;
                    self.token_start = true;
                    at = after;
                }
                None => return Ok(()),
            }
        } else {
            if blank {
                return Ok(());
            }
            if bytes[indent] == b'#' {
                // A comment line ends a plain scalar.
                self.plain = false;
                self.token_start = true;
                return Ok(());
            }
            let marker = indent == 0
                && (bytes.starts_with(b"---") || bytes.starts_with(b"..."))
                && blank_or_end(bytes, 3);
            if self.flow == 0 {
                if marker {
                    self.blocks.clear();
                    self.plain = false;
                    self.token_start = true;
                    at = 3;
                } else if bytes[0] == b'%' {
                    return Ok(()); // a directive
                } else if self.plain && (indent as isize) > self.top() {
                    // The plain scalar of the line before goes on.
                    self.token_start = false;
                    at = indent;
                } else {
                    while (indent as isize) < self.top() {
                        self.blocks.pop();
                    }
                    self.plain = false;
                    self.token_start = true;
                    at = indent;
                }
            } else if self.plain {
                at = indent; // a plain scalar in a flow collection goes on
            } else {
                self.token_start = true;
                at = indent;
            }
        }
        self.tokens(bytes, at)
    }

    /// Scans the tokens of a line from `at`.
    fn tokens(&mut self, bytes: &[u8], mut at: usize) -> Result<(), Refusal> {
        // Where the last token of this line began: a mapping key's column.
        let mut token_column = at;
        let mut after_space = true;
        while at < bytes.len() {
            let b = bytes[at];
            if b == b' ' || b == b'\t' {
                after_space = true;
                at += 1;
                continue;
            }
            if b == b'#' && after_space {
                self.plain = false;
                self.token_start = true;
                return Ok(());
            }
            after_space = false;
            if !self.token_start {
                // Inside a plain scalar: only what ends it matters.
                let ends_value = b == b':'
                    && (blank_or_end(bytes, at + 1)
                        || (self.flow > 0 && flow_indicator(bytes, at + 1)));
                if ends_value {
                    self.open_block(token_column)?;
                    self.plain = false;
                    self.token_start = true;
                } else if self.flow > 0 && flow_indicator(bytes, at) {
                    self.plain = false;
                    self.token_start = true;
                    continue; // read as an indicator below
                }
                at += 1;
                continue;
            }
            match b {
                b'&' => return Err((at, ANCHOR)),
                b'*' => return Err((at, ALIAS)),
                b'!' => {
                    // A tag: the node follows it.
                    while at < bytes.len() && !matches!(bytes[at], b' ' | b'\t') {
                        at += 1;
                    }
                    continue;
                }
                b'\'' | b'"' => {
                    token_column = at;
                    self.plain = false;
                    match close_quote(bytes, at + 1, b) {
                        Some(after) => at = after,
                        None => {
                            self.quoted = Some(b);
                            return Ok(());
                        }
                    }
                    continue;
                }
                b'|' | b'>' if self.flow == 0 => {
                    let parent = self.top();
                    let digit = bytes[at + 1..]
                        .iter()
                        .take(2)
                        .find(|d| d.is_ascii_digit())
                        .map(|d| usize::from(d - b'0'));
                    let indent = digit
                        .filter(|&d| d > 0)
                        .map(|d| usize::try_from(parent).map_or(d, |p| p + d));
                    self.block_scalar = Some(BlockScalar {
                        parent,
                        indent,
                        blank_indent: 0,
                    });
                    self.plain = false;
                    return Ok(());
                }
                b'[' | b'{' => {
                    if self.flow == 0 {
                        token_column = at;
                    }
                    self.flow += 1;
                    self.depth_ok(at)?;
                    at += 1;
                    continue;
                }
                b']' | b'}' if self.flow > 0 => {
                    self.flow -= 1;
                    at += 1;
                    continue;
                }
                b',' if self.flow > 0 => {
                    at += 1;
                    continue;
                }
                b'-' if blank_or_end(bytes, at + 1) => {
                    self.open_block(at)?;
                    at += 1;
                    continue;
                }
                b'?' if self.flow > 0 || blank_or_end(bytes, at + 1) => {
                    self.open_block(at)?;
                    at += 1;
                    continue;
                }
                b':' if self.flow > 0 || blank_or_end(bytes, at + 1) => {
                    self.open_block(token_column)?;
                    at += 1;
                    continue;
                }
                _ => {
                    // A plain scalar begins.
                    token_column = at;
                    self.token_start = false;
                    self.plain = true;
                    at += 1;
                }
            }
        }
        Ok(())
    }
}

/// Where a quoted scalar opened with `quote` closes on this line (the index
/// after its closing quote), scanning from `from`.
fn close_quote(bytes: &[u8], from: usize, quote: u8) -> Option<usize> {
    let mut at = from;
    while at < bytes.len() {
        match bytes[at] {
            b'\\' if quote == b'"' => at += 2,
            b'\'' if quote == b'\'' && bytes.get(at + 1) == Some(&b'\'') => at += 2,
            b if b == quote => return Some(at + 1),
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> String {
        prescan(text).expect_err(text).0
    }

    #[test]
    fn text_that_looks_like_an_anchor_or_alias_is_accepted() {
        for text in [
            "a: Terms & conditions *apply*\n",
            "pattern: ^[A-Za-z]*$\n",
            "example: '************4242'\n",
            "example: \"**** & ****\"\n",
            "d: \"it's \\\" *x\"\n",
            "d: 'it''s *x &y'\n",
            "d: |\n  * one\n  * two &x\n\n  *three\nnext: 1\n",
            "- d: >-\n    &a *b\n  e: x\n",
            "d: x # *a comment &b\n",
            "# *alias &anchor\na: 1\n",
            "a: b*c &d\n",
            "url: http://x/*a\n",
            "{\"a\": \"*b\", \"c\": [\"&d\"]}\n",
            "d: \"multi\n  line *x\n  &y\"\n",
            "d: 'multi\n*x\n'\n",
            "d: plain\n  continued *x &y\n",
            "[a*, b&]\n",
        ] {
            assert_eq!(prescan(text), Ok(()), "{text:?}");
            // The YAML reader agrees: valid, and no alias (an alias of an
            // anchor never defined would fail it).
            let parsed: Result<serde_json::Value, _> = serde_norway::from_str(text);
            assert!(parsed.is_ok(), "{text:?}: {parsed:?}");
        }
    }

    #[test]
    fn anchors_and_aliases_are_refused_wherever_a_node_starts() {
        for (text, what) in [
            ("a: &x 1\n", "anchor"),
            ("a: *x\n", "alias"),
            ("- &x 1\n", "anchor"),
            ("- *x\n", "alias"),
            ("- - - *x\n", "alias"),
            ("[*x]\n", "alias"),
            ("[a, *x]\n", "alias"),
            ("{a: *x}\n", "alias"),
            ("{\"a\":*x}\n", "alias"),
            ("{a: [b,\n  *x]}\n", "alias"),
            ("&x a: 1\n", "anchor"),
            ("*x : 1\n", "alias"),
            ("? *x\n: 1\n", "alias"),
            ("a: !!str &x b\n", "anchor"),
            ("a: !tag *x\n", "alias"),
            ("<<: *x\n", "alias"),
            ("a: \"q\"\nb: *x\n", "alias"),
            ("a: 'q\n  r'\nb: *x\n", "alias"),
            ("a: |\n  text\nb: *x\n", "alias"),
            ("- a: |\n    text\n  b: *x\n", "alias"),
            ("a: plain\n# comment\nb: *x\n", "alias"),
            ("--- &x\na: 1\n", "anchor"),
            ("a:\n  - b\n  - &x c\n", "anchor"),
            ("a: [1, 2] # c\nb:\n    *x\n", "alias"),
            ("a: 1\r\nb: *x\r\n", "alias"),
        ] {
            let reason = refused(text);
            assert!(reason.contains(what), "{text:?}: {reason}");
            assert!(reason.contains("line "), "{reason}");
            // The YAML reader reads an alias there too (of an anchor never
            // defined, which it refuses).
            if what == "alias" && !text.contains('!') {
                let parsed: Result<serde_json::Value, _> = serde_norway::from_str(text);
                let error = parsed.expect_err(text).to_string();
                assert!(error.contains("unknown anchor"), "{text:?}: {error}");
            }
        }
    }

    #[test]
    fn nesting_is_bounded_in_flow_and_block_style() {
        let flow = |n: usize| format!("a: {}{}\n", "[".repeat(n), "]".repeat(n));
        assert_eq!(prescan(&flow(MAX_DEPTH - 1)), Ok(()));
        assert!(refused(&flow(MAX_DEPTH + 1)).contains("nested deeper"));
        let maps = |n: usize| {
            (0..n)
                .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                .collect::<String>()
        };
        assert_eq!(prescan(&maps(MAX_DEPTH)), Ok(()));
        assert!(refused(&maps(MAX_DEPTH + 1)).contains("nested deeper"));
        let dashes = |n: usize| format!("{}x\n", "- ".repeat(n));
        assert_eq!(prescan(&dashes(MAX_DEPTH)), Ok(()));
        assert!(refused(&dashes(MAX_DEPTH + 1)).contains("nested deeper"));
        // Mixed: block levels and flow levels add up.
        let mixed = format!("{} {}\n", maps(40).trim_end(), "{".repeat(30));
        assert!(refused(&mixed).contains("nested deeper"));
        // Siblings do not add up.
        let siblings = (0..1000)
            .map(|i| format!("k{i}: [[1]]\n"))
            .collect::<String>();
        assert_eq!(prescan(&siblings), Ok(()));
    }

    #[test]
    fn a_text_over_the_size_limit_is_refused() {
        let text = format!("a: '{}'\n", "x".repeat(MAX_BYTES));
        assert!(refused(&text).contains("larger than"));
    }
}
