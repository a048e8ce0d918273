//! One problem found in a scenario file, and how it is shown: the file, line and column,
//! the offending line with a gutter and a caret underneath, then any help.

use std::fmt::Write as _;
use std::path::PathBuf;

use serde::Serialize;
use unicode_width::UnicodeWidthChar;

use super::source_map::Position;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// The file as the user named it.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Where in the document, e.g. `steps[3].fault.power_off`; `None` for the document itself
    /// or when the problem is in the YAML syntax.
    pub field: Option<String>,
    /// A lowercase fragment: `unknown step `chekpoint``.
    pub message: String,
    /// A replacement the author probably meant (`checkpoint`).
    pub suggestion: Option<String>,
    /// What is expected instead, or why the problem arises.
    pub note: Option<String>,
}

impl Diagnostic {
    pub(crate) fn new(path: impl Into<PathBuf>, at: Position, message: impl Into<String>) -> Self {
        Diagnostic {
            path: path.into(),
            line: at.line,
            column: at.column,
            field: None,
            message: message.into(),
            suggestion: None,
            note: None,
        }
    }

    pub(crate) fn field(mut self, field: impl ToString) -> Self {
        let field = field.to_string();
        self.field = (!field.is_empty()).then_some(field);
        self
    }

    pub(crate) fn suggestion(mut self, suggestion: Option<&str>) -> Self {
        self.suggestion = suggestion.map(str::to_owned);
        self
    }

    pub(crate) fn note(mut self, note: impl Into<String>) -> Self {
        self.note = Some(note.into());
        self
    }

    pub fn position(&self) -> Position {
        Position {
            line: self.line,
            column: self.column,
        }
    }

    /// The full human message; `source` is the text of the file the diagnostic is about.
    pub fn render(&self, source: &str) -> String {
        let mut out = String::new();
        let _ = write!(
            out,
            "error: {}:{}:{}: {}",
            self.path.display(),
            self.line,
            self.column,
            inline(&self.message)
        );
        let gutter = " ".repeat(self.line.to_string().len());
        let lines = source_lines(source);
        if let Some(text) = self.line.checked_sub(1).and_then(|i| lines.get(i)) {
            let text = if self.line == 1 {
                text.strip_prefix('\u{feff}').unwrap_or(text)
            } else {
                text
            };
            let (shown, offset, width) = underline(text, self.column);
            let _ = write!(out, "\n{gutter} |\n{} | {shown}", self.line);
            let _ = write!(
                out,
                "\n{gutter} | {}{}",
                " ".repeat(offset),
                "^".repeat(width)
            );
            if let Some(field) = &self.field {
                let _ = write!(out, " in {}", inline(field));
            }
        } else if let Some(field) = &self.field {
            let _ = write!(out, "\n{gutter} = in {}", inline(field));
        }
        if self.suggestion.is_some() || self.note.is_some() {
            let _ = write!(out, "\n{gutter} |");
        }
        if let Some(suggestion) = &self.suggestion {
            let _ = write!(
                out,
                "\n{gutter} = help: did you mean `{}`?",
                inline(suggestion)
            );
        }
        if let Some(note) = &self.note {
            let _ = write!(out, "\n{gutter} = note: {}", inline(note));
        }
        out
    }
}

/// Every diagnostic of one file, in the order they appear in it.
pub fn render_all(diagnostics: &[Diagnostic], source: &str) -> String {
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| d.position());
    let blocks: Vec<String> = sorted.iter().map(|d| d.render(source)).collect();
    blocks.join("\n\n")
}

/// The lines of a YAML text, split where YAML breaks lines (`\n`, `\r\n` and a lone `\r`),
/// so that line numbers agree with the parser's. A text ending in a break has an empty last line.
pub(crate) fn source_lines(text: &str) -> Vec<&str> {
    let mut lines = Vec::new();
    let mut start = 0;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\n' => {
                lines.push(&text[start..i]);
                start = i + 1;
            }
            b'\r' => {
                lines.push(&text[start..i]);
                if bytes.get(i + 1) == Some(&b'\n') {
                    i += 1;
                }
                start = i + 1;
            }
            _ => {}
        }
        i += 1;
    }
    lines.push(&text[start..]);
    lines
}

/// The position just after the last character of `text`.
pub(crate) fn end_position(text: &str) -> Position {
    let lines = source_lines(text);
    let last = lines.last().map_or(0, |l| l.chars().count());
    Position {
        line: lines.len(),
        column: last + 1,
    }
}

/// The position of the character at byte offset `offset` of `text`.
pub(crate) fn position_of_offset(text: &str, offset: usize) -> Position {
    let mut end = offset.min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    end_position(&text[..end])
}

/// The text of the token (scalar, key, quoted string, flow collection) starting at `at`.
pub(crate) fn token_at(source: &str, at: Position) -> String {
    let Some(line) = source_lines(source).get(at.line.saturating_sub(1)).copied() else {
        return String::new();
    };
    let chars: Vec<char> = line.chars().collect();
    let start = at.column.saturating_sub(1);
    if start >= chars.len() {
        return String::new();
    }
    let len = token_len(&chars, start);
    chars[start..(start + len).min(chars.len())]
        .iter()
        .collect()
}

/// The line as shown (tabs expanded, control characters escaped), and where and how wide the
/// caret under the token starting at `column` goes, in display columns.
fn underline(text: &str, column: usize) -> (String, usize, usize) {
    let chars: Vec<char> = text.chars().collect();
    let start = column.saturating_sub(1).min(chars.len());
    let len = token_len(&chars, start);
    let mut shown = String::new();
    let mut offset = 0;
    let mut width = 0;
    for (i, &c) in chars.iter().enumerate() {
        let piece = display(c);
        let piece_width: usize = piece.chars().map(|p| p.width().unwrap_or(0)).sum();
        if i < start {
            offset += piece_width;
        } else if i < start + len {
            width += piece_width;
        }
        shown.push_str(&piece);
    }
    (shown, offset, width.max(1))
}

fn display(c: char) -> String {
    match c {
        '\t' => "    ".to_owned(),
        c if c.is_control() => c.escape_default().to_string(),
        c => c.to_string(),
    }
}

/// How many characters the token at `start` spans: a quoted scalar up to its closing quote,
/// a flow collection up to its closing bracket, a plain scalar or key up to where YAML ends it.
fn token_len(chars: &[char], start: usize) -> usize {
    let Some(&first) = chars.get(start) else {
        return 1;
    };
    let rest = &chars[start..];
    match first {
        '"' | '\'' => {
            let mut i = 1;
            while i < rest.len() {
                match rest[i] {
                    '\\' if first == '"' => i += 1,
                    '\'' if first == '\'' && rest.get(i + 1) == Some(&'\'') => i += 1,
                    c if c == first => return i + 1,
                    _ => {}
                }
                i += 1;
            }
            rest.len()
        }
        '[' | '{' => {
            let mut depth = 0usize;
            for (i, &c) in rest.iter().enumerate() {
                match c {
                    '[' | '{' => depth += 1,
                    ']' | '}' => {
                        depth -= 1;
                        if depth == 0 {
                            return i + 1;
                        }
                    }
                    _ => {}
                }
            }
            1
        }
        c if c.is_whitespace() => 1,
        _ => {
            let in_flow = flow_depth(&chars[..start]) > 0;
            let mut end = rest.len();
            for (i, &c) in rest.iter().enumerate() {
                let next = rest.get(i + 1).copied();
                let ends_key = c == ':' && next.is_none_or(char::is_whitespace);
                let starts_comment = c == '#' && i > 0 && rest[i - 1].is_whitespace();
                let ends_flow_item = in_flow && matches!(c, ',' | ']' | '}');
                if ends_key || starts_comment || ends_flow_item {
                    end = i;
                    break;
                }
            }
            let trimmed = rest[..end]
                .iter()
                .rposition(|c| !c.is_whitespace())
                .map_or(0, |i| i + 1);
            trimmed.max(1)
        }
    }
}

/// How many flow collections (`[`, `{`) are open before the caret, ignoring quoted text.
fn flow_depth(before: &[char]) -> usize {
    let mut depth = 0usize;
    let mut quote = None;
    for &c in before {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => depth += 1,
            (None, ']' | '}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    depth
}

/// A message or field on one line: control characters (a newline inside a quoted scalar) are
/// escaped so that the first line stays `error: <path>:<line>:<col>: <message>`.
fn inline(text: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_where_yaml_breaks_them() {
        assert_eq!(source_lines("a\nb\r\nc\rd"), ["a", "b", "c", "d"]);
        assert_eq!(source_lines("a\n"), ["a", ""]);
        assert_eq!(source_lines(""), [""]);
    }

    #[test]
    fn positions_count_characters_not_bytes() {
        let text = "naïve: x\nkey: é";
        assert_eq!(
            position_of_offset(text, text.find('x').unwrap()),
            Position { line: 1, column: 8 }
        );
        assert_eq!(end_position(text), Position { line: 2, column: 7 });
    }

    #[test]
    fn the_caret_covers_the_token() {
        assert_eq!(underline("  - chekpoint: installed", 5).1, 4);
        assert_eq!(underline("  - chekpoint: installed", 5).2, 9);
        assert_eq!(underline("nodes_ready: [node-1, node-9]", 23).2, 6);
        assert_eq!(underline("name: \"a b\" # c", 7).2, 5);
        assert_eq!(underline("description: two words # c", 14).2, 9);
        assert_eq!(underline("short", 9), ("short".into(), 5, 1));
    }

    #[test]
    fn tabs_and_wide_characters_keep_the_caret_aligned() {
        let (shown, offset, width) = underline("\tkey: 名前", 7);
        assert_eq!(shown, "    key: 名前");
        assert_eq!(offset, 9);
        assert_eq!(width, 4);
    }
}
