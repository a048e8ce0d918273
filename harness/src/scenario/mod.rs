//! Scenario files: the typed model and its loader.

pub mod model;

pub use model::*;
