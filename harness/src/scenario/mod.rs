//! Scenario files: the typed model, the loader with its positioned diagnostics, validation
//! against the procedure, and discovery of the scenarios of a directory.

mod diagnostic;
mod discover;
mod load;
pub mod model;
mod parse_error;
mod source_map;
mod suggest;
mod validate;

#[cfg(test)]
mod tests;

pub use diagnostic::{render_all, Diagnostic};
pub use discover::{discover, ScenarioSummary};
pub use load::{load, load_str, parse, LoadedScenario};
pub use model::*;
pub use source_map::{FieldPath, Position, Segment};
pub use validate::{MAX_NODES, MIN_NODES};
