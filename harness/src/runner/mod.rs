//! The runner: provisions the topology, runs the scenario's steps in order, tears down.

mod context;
pub mod kept;
mod providers;
pub mod run;

pub use context::{Reveals, RunContext};
