//! The runner: provisions the topology, runs the scenario's steps in order, tears down. It sits
//! above the steps and checks, which reach hosts through [`crate::context::RunContext`].

pub mod analyze;
pub mod check;
pub mod collect;
mod environment;
pub mod kept;
pub mod providers;
pub mod reporting;
pub mod run;
pub mod site;
