//! The runner: provisions the topology, runs the scenario's steps in order, tears down.

mod context;

pub use context::RunContext;
