//! What an error of the YAML parser or of the typed model means to the author of a scenario.

use std::path::Path;

use serde_saphyr::{Error as YamlError, MessageFormatter, UserMessageFormatter};

use super::diagnostic::{source_lines, token_at, Diagnostic};
use super::source_map::{FieldPath, Position, Segment, SourceMap};
use super::suggest;

/// One diagnostic for `error`, found at `field` (from `serde_path_to_error`, when known).
/// `map` is the document's source map when the text is well-formed YAML.
pub(crate) fn diagnose(
    file: &Path,
    source: &str,
    error: &YamlError,
    field: Option<FieldPath>,
    map: Option<&SourceMap>,
) -> Diagnostic {
    let error = original(error);
    let at = error
        .location()
        .and_then(Position::from_location)
        .unwrap_or(Position::START);
    // A path through a node the parser could not read as a key says nothing useful.
    let field = field
        .filter(|f| {
            !f.segments().iter().any(|s| *s == Segment::Key("?".into())) || is_duplicate(error)
        })
        .unwrap_or_default();
    let found = token_at(source, at);
    let here = |message: String| Diagnostic::new(file, at, message).field(&field);

    match error {
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => {
            let suggestion = suggest::closest(variant, expected.iter().copied());
            let d = here(format!("unknown {} `{variant}`", variant_kind(&field)))
                .suggestion(suggestion);
            // A folded plain scalar (`preflight - configure-lb`) means a line below is misplaced.
            let continues =
                variant.contains(char::is_whitespace) && !found.contains(variant.as_str());
            if continues {
                d.note(
                    "this plain value continues onto the next line: \
                     is that line indented too far, or is a `- ` missing?",
                )
            } else if suggestion.is_none() {
                d.note(format!("expected one of {}", list(expected)))
            } else {
                d
            }
        }
        YamlError::SerdeUnknownField {
            field: key,
            expected,
            ..
        } => {
            let suggestion = suggest::closest(key, expected.iter().copied());
            let d = here(format!("unknown key `{key}`")).suggestion(suggestion);
            match (suggestion, expected.is_empty()) {
                (Some(_), _) => d,
                (None, true) => d.note("no keys are allowed here"),
                (None, false) => d.note(format!("expected one of {}", list(expected))),
            }
        }
        YamlError::SerdeMissingField { field: key, .. } => {
            // The parser reports where the mapping ended; the mapping's own key is clearer.
            let owner = map.and_then(|map| match field.segments() {
                [] => map.value(&field),
                _ => map.entry(&field),
            });
            let message = format!("missing required key `{key}`");
            Diagnostic::new(file, owner.unwrap_or(at), message).field(&field)
        }
        YamlError::DuplicateMappingKey { key, .. } => {
            let message = match key {
                Some(key) => format!("duplicate key `{key}`"),
                None => "duplicate key".to_owned(),
            };
            Diagnostic::new(file, at, message)
                .field(replace_unknown_leaf(field.clone(), key.as_deref()))
                .note("each key may appear once in a mapping")
        }
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        } => here(format!("expected {expected}, found {unexpected}")),
        YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => here(format!("invalid value {unexpected}: expected {expected}")),
        YamlError::InvalidScalar { ty, .. } => {
            here(format!("expected {}, found `{found}`", describe_type(ty)))
        }
        YamlError::InvalidBooleanStrict { .. } => {
            here(format!("expected `true` or `false`, found `{found}`"))
        }
        YamlError::NullIntoString { .. } => here("missing value: expected a string".to_owned()),
        YamlError::Unexpected { expected, .. } => {
            here(format!("expected {}", describe_expected(expected)))
        }
        YamlError::UnexpectedValueForUnitEnumVariant { .. } => {
            let keyword = last_key(&field).unwrap_or_default();
            here(format!("`{keyword}` takes no value")).note(format!("write it as `- {keyword}`"))
        }
        YamlError::ExpectedMappingEndAfterEnumVariantValue { .. } => Diagnostic::new(
            file,
            at,
            "a step has exactly one keyword, this is a second one",
        )
        .field(field.parent())
        .note("start a new step with `- `, or indent this key under the step's keyword"),
        YamlError::MultipleDocuments { .. } => {
            Diagnostic::new(file, at, "a second YAML document starts here")
                .note("a scenario file holds exactly one document")
        }
        YamlError::Eof { .. } if is_blank(source) => {
            Diagnostic::new(file, Position::START, "the file is empty")
                .note("a scenario needs at least `name`, `product` and `steps`")
        }
        YamlError::Eof { .. } => here("unexpected end of file".to_owned()),
        YamlError::UnknownAnchor { .. } => {
            here("alias refers to an anchor that is not defined before it".to_owned())
        }
        other => {
            let text = UserMessageFormatter.format_message(other);
            let d = here(lowercase_first(&text));
            match syntax_hint(&text) {
                Some(hint) => d.note(hint),
                None => d,
            }
        }
    }
}

fn is_duplicate(error: &YamlError) -> bool {
    matches!(error, YamlError::DuplicateMappingKey { .. })
}

/// Nothing but whitespace and comments.
fn is_blank(source: &str) -> bool {
    source_lines(source)
        .iter()
        .map(|line| line.trim_start_matches('\u{feff}').trim())
        .all(|line| line.is_empty() || line.starts_with('#'))
}

/// Errors raised through an alias are wrapped; what went wrong is the inner one.
fn original(error: &YamlError) -> &YamlError {
    match error {
        YamlError::AliasError { error, .. } => original(error),
        YamlError::WithSnippet { error, .. } => original(error),
        other => other,
    }
}

/// What kind of name the enum at `field` holds, for "unknown step `…`", "unknown provider `…`".
fn variant_kind(field: &FieldPath) -> String {
    match field.segments() {
        [Segment::Key(steps), Segment::Index(_)] if steps == "steps" => "step".to_owned(),
        [.., Segment::Key(key)] => key.replace('_', " "),
        _ => "value".to_owned(),
    }
}

fn last_key(field: &FieldPath) -> Option<&str> {
    field.segments().iter().rev().find_map(|s| match s {
        Segment::Key(key) => Some(key.as_str()),
        Segment::Index(_) => None,
    })
}

/// `serde_path_to_error` cannot name the key of a duplicate entry (`steps[0].expect.?`).
fn replace_unknown_leaf(field: FieldPath, key: Option<&str>) -> FieldPath {
    match (field.last(), key) {
        (Some(Segment::Key(leaf)), Some(key)) if leaf == "?" => field.parent().key(key),
        _ => field,
    }
}

fn list(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn describe_type(ty: &str) -> &'static str {
    match ty {
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number, 0 or more",
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "a whole number",
        "f32" | "f64" => "a number",
        "bool" => "`true` or `false`",
        "char" => "a single character",
        _ => "a value of another type",
    }
}

fn describe_expected(expected: &str) -> String {
    match expected {
        "sequence start" => "a list".to_owned(),
        "mapping start" => "a mapping (`key: value`)".to_owned(),
        "string scalar" | "string" => "a string".to_owned(),
        other => other.to_owned(),
    }
}

/// Advice for the parser's classic messages, which name a symptom rather than the cause.
fn syntax_hint(message: &str) -> Option<&'static str> {
    if message.contains("tabs") {
        Some("indent with spaces: YAML does not allow tabs for indentation")
    } else if message.contains("mapping values are not allowed") {
        Some("check this line's indentation against the line above, or quote a value that contains `: `")
    } else if message.contains("did not find expected") || message.contains("block") {
        Some("check the indentation of this line and the lines above")
    } else {
        None
    }
}

fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) if !chars.clone().next().is_some_and(char::is_uppercase) => {
            first.to_lowercase().chain(chars).collect()
        }
        _ => text.to_owned(),
    }
}
