//! C19 `etcdctl get /overlay_list` on the app configuration etcd (v2 API). The product stores
//! the overlay list comma-separated; the guide's C20 writes `[a, b]`, and a JSON list is what a
//! script would write: all three read as the same list. A missing key is an answer, not an error.

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "etcdctl get (v2)";
const EXPECTED: &str = "the key's value on one line";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GetResult {
    Found(Vec<String>),
    /// etcd's error 100, `Key not found (/missing)`.
    NotFound {
        key: String,
    },
}

pub fn parse_get(output: &str) -> Result<GetResult, ParseError> {
    let mut value = None;
    for (number, line) in numbered_lines(output) {
        // stderr of `kubectl exec -ti` without a terminal, when captured together.
        if line.starts_with("Unable to use a TTY") {
            continue;
        }
        if let Some(error) = line.strip_prefix("Error:") {
            return match v2_error(error) {
                Some((100, key)) => Ok(GetResult::NotFound { key }),
                _ => Err(ParseError::at(COMMAND, EXPECTED, number, line)),
            };
        }
        if value.is_some() {
            return Err(ParseError::at(COMMAND, EXPECTED, number, line));
        }
        if line.ends_with(": is a directory") {
            return Err(ParseError::at(
                COMMAND,
                "a key, not a directory",
                number,
                line,
            ));
        }
        let list = parse_list(line).ok_or_else(|| {
            ParseError::at(
                COMMAND,
                "a comma-separated list, [a, b] or a JSON list",
                number,
                line,
            )
        })?;
        value = Some(list);
    }
    value
        .map(GetResult::Found)
        .ok_or_else(|| ParseError::end(COMMAND, EXPECTED))
}

/// `Error:  100: Key not found (/missing) [12]` → `(100, "/missing")`.
fn v2_error(text: &str) -> Option<(u32, String)> {
    let (code, rest) = text.trim().split_once(": ")?;
    let code = code.parse().ok()?;
    let open = rest.rfind(" (")?;
    let close = rest[open..].find(')')? + open;
    Some((code, rest[open + 2..close].to_owned()))
}

/// One stored value as a list: `a,b`, `[a, b]`, `['a', 'b']` or `["a", "b"]`. Empty items are
/// dropped; `None` when a bracket is left open.
pub fn parse_list(value: &str) -> Option<Vec<String>> {
    let value = value.trim();
    if let Ok(serde_json::Value::Array(items)) = serde_json::from_str(value) {
        if let Some(items) = items
            .iter()
            .map(|i| i.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
        {
            return Some(items.into_iter().filter(|i| !i.is_empty()).collect());
        }
    }
    let inner = match (value.strip_prefix('['), value.ends_with(']')) {
        (Some(rest), true) => &rest[..rest.len() - 1],
        (None, false) => value,
        _ => return None,
    };
    Some(
        inner
            .split(',')
            .map(|item| unquote(item.trim()).trim())
            .filter(|item| !item.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

fn unquote(item: &str) -> &str {
    for quote in ['"', '\''] {
        if let Some(inner) = item
            .strip_prefix(quote)
            .and_then(|rest| rest.strip_suffix(quote))
        {
            return inner;
        }
    }
    item
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::error::Found;
    use proptest::prelude::*;

    const DR: [&str; 4] = [
        "overlay/ha.yaml",
        "overlay/golden-image.yml",
        "overlay/distr-dr.yaml",
        "overlay/startup_reconfigure.yaml",
    ];

    fn found(items: &[&str]) -> GetResult {
        GetResult::Found(items.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn the_three_stored_forms() {
        let comma = include_str!("../../../fixtures/outputs/etcdctl/v2-get-comma.txt");
        let bracket = include_str!("../../../fixtures/outputs/etcdctl/v2-get-bracket.txt");
        let json = include_str!("../../../fixtures/outputs/etcdctl/v2-get-json.txt");
        assert_eq!(parse_get(comma).unwrap(), found(&DR));
        assert_eq!(parse_get(bracket).unwrap(), found(&DR));
        let mut migration = DR;
        migration[2] = "overlay/distr-migration.yaml";
        assert_eq!(parse_get(json).unwrap(), found(&migration));
        assert_eq!(
            parse_get("['a.yaml', 'b.yaml']\n").unwrap(),
            found(&["a.yaml", "b.yaml"])
        );
        assert_eq!(parse_get("[]\n").unwrap(), found(&[]));
    }

    #[test]
    fn a_missing_key_is_not_found() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/v2-get-missing.txt");
        assert_eq!(
            parse_get(out).unwrap(),
            GetResult::NotFound {
                key: "/missing".into()
            }
        );
        let tty = format!(
            "Unable to use a TTY - input is not a terminal or the right kind of file\n{out}"
        );
        assert!(matches!(
            parse_get(&tty).unwrap(),
            GetResult::NotFound { .. }
        ));
    }

    #[test]
    fn other_failures_are_errors() {
        let out = include_str!("../../../fixtures/outputs/etcdctl/v2-get-unavailable.txt");
        let e = parse_get(out).unwrap_err();
        assert!(
            matches!(&e.found, Found::Line { number: 1, text } if text.contains("unavailable")),
            "{e}"
        );
        let out = include_str!("../../../fixtures/outputs/etcdctl/v2-get-directory.txt");
        assert!(parse_get(out).unwrap_err().expected.contains("directory"));
        assert!(parse_get("Error:  102: Not a file (/acura) [9]").is_err());
        assert_eq!(parse_get("").unwrap_err().found, Found::EndOfOutput);
        assert!(parse_get("[a, b\n").is_err());
        assert!(parse_get("a\nb\n").is_err());
    }

    proptest! {
        #[test]
        fn every_form_of_a_list_parses_back(items in prop::collection::vec("[a-z][a-z0-9_./-]{0,30}", 0..8)) {
            // An empty value prints nothing, which cannot be told from no answer.
            let comma = if items.is_empty() { "[]".to_owned() } else { items.join(",") };
            let forms = [
                comma,
                format!("[{}]", items.join(", ")),
                serde_json::to_string(&items).unwrap(),
            ];
            for form in forms {
                prop_assert_eq!(parse_get(&format!("{form}\n")).unwrap(), GetResult::Found(items.clone()));
            }
        }

        #[test]
        fn not_found_names_the_key(key in "/[a-z_/]{1,20}", index in any::<u32>()) {
            let out = format!("Error:  100: Key not found ({key}) [{index}]\n");
            prop_assert_eq!(parse_get(&out).unwrap(), GetResult::NotFound { key });
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse_get(&text);
        }

        #[test]
        fn arbitrary_errors_never_panic(text in "Error:[ -~]{0,60}") {
            let _ = parse_get(&text);
        }
    }
}
