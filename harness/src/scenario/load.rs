//! Reading a scenario file: YAML into the typed model, then validation, with every problem
//! reported as a positioned [`Diagnostic`].

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserialize, IntoDeserializer};

use super::diagnostic::{position_of_offset, render_all, Diagnostic};
use super::model::{Scenario, Step};
use super::parse_error::diagnose;
use super::source_map::{FieldPath, Position, SourceMap};
use super::validate::validate;
use crate::error::{Error, Result};

/// A scenario as read from its file, with what the runner needs to point back into it.
#[derive(Clone, Debug)]
pub struct LoadedScenario {
    pub scenario: Scenario,
    /// The file as it was named.
    pub path: PathBuf,
    /// The file's text.
    pub source: String,
    /// The 1-based line of every step, in step order.
    pub step_lines: Vec<usize>,
}

impl LoadedScenario {
    /// The line of step `index` (0-based), for "step 7 (line 31)".
    pub fn step_line(&self, index: usize) -> Option<usize> {
        self.step_lines.get(index).copied()
    }
}

/// Reads, parses and validates the scenario at `path`. Relative paths inside it
/// (`product.archive`, the static inventory's files) are resolved against its directory.
pub fn load(path: &Path) -> Result<LoadedScenario> {
    // A scenario that cannot be read is the user's input, not the machine's failure.
    let bytes = std::fs::read(path).map_err(|e| Error::Invalid {
        rendered: format!("error: {}: cannot read the scenario: {e}", path.display()),
    })?;
    let source = match String::from_utf8(bytes) {
        Ok(source) => source,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let lossy = String::from_utf8_lossy(e.as_bytes()).into_owned();
            let at = position_of_offset(&lossy, valid);
            let diagnostic = Diagnostic::new(path, at, "the file is not valid UTF-8");
            return Err(Error::Invalid {
                rendered: diagnostic.render(&lossy),
            });
        }
    };
    let mut loaded = parse(path, &source).map_err(|d| invalid(&d, &source))?;
    let base = path.parent().unwrap_or(Path::new(""));
    resolve_paths(&mut loaded.scenario, base);
    Ok(loaded)
}

/// Parses and validates scenario text; `name_for_errors` is how errors name the file.
/// Relative paths inside it are left as written.
pub fn load_str(name_for_errors: &str, text: &str) -> Result<LoadedScenario> {
    parse(Path::new(name_for_errors), text).map_err(|d| invalid(&d, text))
}

/// Like [`load_str`], with the problems as structured diagnostics, in file order.
pub fn parse(file: &Path, text: &str) -> Result<LoadedScenario, Vec<Diagnostic>> {
    let (scenario, map) = match (parse_typed(text), SourceMap::parse(text)) {
        (Ok(scenario), Ok(map)) => (scenario, map),
        (Ok(_), Err(error)) => return Err(vec![diagnose(file, text, &error, None, None)]),
        (Err(failed), Ok(map)) => {
            let (error, field) = *failed;
            // A bare keyword that needs a value is the cause of whatever the parser saw next.
            let bare = bare_keywords(&map, file);
            if bare.is_empty() {
                return Err(vec![diagnose(file, text, &error, field, Some(&map))]);
            }
            return Err(bare);
        }
        (Err(failed), Err(_)) => {
            let (error, field) = *failed;
            return Err(vec![diagnose(file, text, &error, field, None)]);
        }
    };

    let mut diagnostics = bare_keywords(&map, file);
    if diagnostics.is_empty() {
        diagnostics = validate(&scenario, &map, file);
    }
    let steps = FieldPath::root().key("steps");
    let step_lines: Vec<usize> = (0..scenario.steps.len())
        .filter_map(|i| map.value(&steps.index(i)).map(|at| at.line))
        .collect();
    if diagnostics.is_empty() && step_lines.len() != scenario.steps.len() {
        let at = map.value(&steps).unwrap_or(Position::START);
        diagnostics.push(
            Diagnostic::new(file, at, "the steps could not be matched to their lines")
                .field(&steps),
        );
    }
    if !diagnostics.is_empty() {
        diagnostics.sort_by_key(Diagnostic::position);
        return Err(diagnostics);
    }
    Ok(LoadedScenario {
        scenario,
        path: file.to_owned(),
        source: text.to_owned(),
        step_lines,
    })
}

/// The typed parse, failing with the parser's error and the path of the field it was reading.
fn parse_typed(text: &str) -> Result<Scenario, Box<(serde_saphyr::Error, Option<FieldPath>)>> {
    let options = serde_saphyr::options! {
        with_snippet: false,
        strict_booleans: true,
    };
    let mut field = None;
    serde_saphyr::with_deserializer_from_str_with_options(text, options, |deserializer| {
        serde_path_to_error::deserialize(deserializer).map_err(|e| {
            field = Some(field_path(e.path()));
            e.into_inner()
        })
    })
    .map_err(|error| Box::new((error, field)))
}

fn field_path(path: &serde_path_to_error::Path) -> FieldPath {
    use serde_path_to_error::Segment as S;
    path.iter()
        .fold(FieldPath::root(), |field, segment| match segment {
            S::Seq { index } => field.index(*index),
            S::Map { key } => field.key(key.clone()),
            S::Enum { variant } => field.key(variant.clone()),
            S::Unknown => field.key("?"),
        })
}

fn invalid(diagnostics: &[Diagnostic], source: &str) -> Error {
    Error::Invalid {
        rendered: render_all(diagnostics, source),
    }
}

/// Steps written as a bare keyword (`- checkpoint`) although they take a value. The parser
/// reads such a keyword as the tag of an enum and takes the *next* list item as its value,
/// so `- checkpoint` followed by `- preflight` would silently become `checkpoint: preflight`.
fn bare_keywords(map: &SourceMap, file: &Path) -> Vec<Diagnostic> {
    let steps = FieldPath::root().key("steps");
    let count = map.len(&steps).unwrap_or(0);
    (0..count)
        .filter_map(|i| {
            let item = steps.index(i);
            let keyword = map.scalar(&item)?;
            (probe_step(keyword) == Keyword::NeedsValue).then(|| {
                let at = map.value(&item).unwrap_or(Position::START);
                Diagnostic::new(file, at, format!("step `{keyword}` needs a value"))
                    .field(&item)
                    .note(format!("write it as `- {keyword}: …`"))
            })
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Keyword {
    Unit,
    NeedsValue,
    Unknown,
}

/// What `keyword` is to the model's `Step`, asked of the model itself so that a new step
/// needs no change here.
fn probe_step(keyword: &str) -> Keyword {
    let deserializer: de::value::StrDeserializer<'_, ProbeError> = keyword.into_deserializer();
    match Step::deserialize(deserializer) {
        Ok(_) => Keyword::Unit,
        Err(ProbeError { unknown: true }) => Keyword::Unknown,
        Err(ProbeError { unknown: false }) => Keyword::NeedsValue,
    }
}

#[derive(Debug)]
struct ProbeError {
    unknown: bool,
}

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.unknown {
            "unknown step"
        } else {
            "step needs a value"
        })
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(_: T) -> Self {
        ProbeError { unknown: false }
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        ProbeError { unknown: true }
    }
}

/// Makes the scenario's relative paths relative to `base` (the scenario file's directory).
fn resolve_paths(scenario: &mut Scenario, base: &Path) {
    let resolve = |path: &mut PathBuf| {
        if path.is_relative() {
            *path = base.join(&*path);
        }
    };
    resolve(&mut scenario.product.archive);
    if let Some(inventory) = &mut scenario.inventory {
        resolve(&mut inventory.ha_env_file);
        resolve(&mut inventory.ssh_key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Segment;

    #[test]
    fn the_model_tells_unit_steps_from_steps_with_a_value() {
        assert_eq!(probe_step("preflight"), Keyword::Unit);
        assert_eq!(probe_step("write-markers"), Keyword::Unit);
        assert_eq!(probe_step("checkpoint"), Keyword::NeedsValue);
        assert_eq!(probe_step("join-node"), Keyword::NeedsValue);
        assert_eq!(probe_step("reboot"), Keyword::Unknown);
    }

    #[test]
    fn segments_of_the_parser_path_become_a_field_path() {
        let path = FieldPath::root().key("steps").index(3).key("fault");
        assert_eq!(path.to_string(), "steps[3].fault");
        assert!(matches!(path.segments()[1], Segment::Index(3)));
    }
}
