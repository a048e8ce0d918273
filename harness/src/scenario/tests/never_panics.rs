//! Whatever the text, the loader returns (never panics), and every error it reports points
//! at a line and column that exist in that text.

use std::path::Path;

use proptest::prelude::*;

use super::FILE;
use crate::scenario::{parse, render_all};

/// Every scenario under `scenarios/`, read once: a scenario added there is mutated too.
fn shipped() -> &'static [String] {
    static SHIPPED: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    SHIPPED.get_or_init(|| {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        let texts: Vec<String> = crate::scenario::discover(&dir)
            .iter()
            .map(|s| std::fs::read_to_string(&s.file).unwrap())
            .collect();
        assert!(
            texts.len() >= 10,
            "found {} scenarios under {}",
            texts.len(),
            dir.display()
        );
        texts
    })
}

/// Lines as YAML counts them (`\n`, `\r\n`, lone `\r`), each as its number of characters.
/// Written out again here rather than borrowed from the loader, so that both must agree.
fn line_lengths(text: &str) -> Vec<usize> {
    text.replace("\r\n", "\n")
        .replace('\r', "\n")
        .split('\n')
        .map(|line| line.chars().count())
        .collect()
}

fn assert_within(text: &str, line: usize, column: usize, what: &str) -> Result<(), TestCaseError> {
    let lengths = line_lengths(text);
    prop_assert!(
        (1..=lengths.len()).contains(&line),
        "{what}: line {line} outside 1..={}",
        lengths.len()
    );
    let max = lengths[line - 1] + 1;
    prop_assert!(
        (1..=max).contains(&column),
        "{what}: column {column} outside 1..={max} on line {line}"
    );
    Ok(())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    match parse(Path::new(FILE), text) {
        Ok(loaded) => {
            prop_assert_eq!(loaded.step_lines.len(), loaded.scenario.steps.len());
            for &line in &loaded.step_lines {
                assert_within(text, line, 1, "step line")?;
            }
        }
        Err(diagnostics) => {
            prop_assert!(!diagnostics.is_empty());
            for d in &diagnostics {
                assert_within(text, d.line, d.column, &d.message)?;
                prop_assert!(!d.message.is_empty());
            }
            let rendered = render_all(&diagnostics, text);
            let first = rendered.lines().next().unwrap_or_default();
            let header = format!(
                "error: {FILE}:{}:{}: ",
                diagnostics[0].line, diagnostics[0].column
            );
            prop_assert!(
                first.starts_with(&header),
                "{first:?} does not start with {header:?}"
            );
        }
    }
    Ok(())
}

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Indent(usize),
    Dedent(usize),
    ReplaceChar(usize, char),
    InsertChar(usize, char),
    DeleteChar(usize),
}

/// Characters that mean something to YAML, plus a few that do not.
fn yaml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        prop::sample::select(vec![
            ':', '-', ' ', '\n', '\t', '#', '[', ']', '{', '}', ',', '"', '\'', '&', '*', '!', '|',
            '>', '%', '@', '`', '?', '\r', '\u{feff}', '\u{85}', '\0',
        ]),
        any::<char>(),
        prop::char::range('a', 'z'),
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<usize>().prop_map(Mutation::DeleteLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Indent),
        any::<usize>().prop_map(Mutation::Dedent),
        (any::<usize>(), yaml_char()).prop_map(|(i, c)| Mutation::ReplaceChar(i, c)),
        (any::<usize>(), yaml_char()).prop_map(|(i, c)| Mutation::InsertChar(i, c)),
        any::<usize>().prop_map(Mutation::DeleteChar),
    ]
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split('\n').map(str::to_owned).collect();
    let n = lines.len();
    let mut chars: Vec<char> = text.chars().collect();
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match *mutation {
        Mutation::DeleteLine(i) => {
            lines.remove(at(i, n));
        }
        Mutation::DuplicateLine(i) => {
            let i = at(i, n);
            lines.insert(i, lines[i].clone());
        }
        Mutation::SwapLines(a, b) => lines.swap(at(a, n), at(b, n)),
        Mutation::Indent(i) => lines[at(i, n)].insert(0, ' '),
        Mutation::Dedent(i) => {
            let line = &mut lines[at(i, n)];
            if line.starts_with(' ') {
                line.remove(0);
            }
        }
        Mutation::ReplaceChar(i, c) => {
            if !chars.is_empty() {
                let i = at(i, chars.len());
                chars[i] = c;
            }
            return chars.into_iter().collect();
        }
        Mutation::InsertChar(i, c) => {
            chars.insert(at(i, chars.len() + 1), c);
            return chars.into_iter().collect();
        }
        Mutation::DeleteChar(i) => {
            if !chars.is_empty() {
                chars.remove(at(i, chars.len()));
            }
            return chars.into_iter().collect();
        }
    }
    lines.join("\n")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn yaml_like_text(text in prop::collection::vec(yaml_char(), 0..300)) {
        let text: String = text.into_iter().collect();
        check(&text)?;
    }

    #[test]
    fn mutated_shipped_scenarios(
        file in 0..shipped().len(),
        mutations in prop::collection::vec(mutation(), 1..6),
    ) {
        let text = mutations.iter().fold(shipped()[file].clone(), |text, m| apply(&text, m));
        check(&text)?;
    }
}

#[test]
fn the_shipped_scenarios_themselves_pass_the_property() {
    for text in shipped() {
        let loaded =
            parse(Path::new(FILE), text).unwrap_or_else(|d| panic!("{}", render_all(&d, text)));
        assert!(!loaded.step_lines.is_empty());
    }
}
