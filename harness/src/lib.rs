//! `acura-ha`: a scenario runner and conformance suite for the highly available Acura install.
//!
//! See ARCHITECTURE.md at the repository root for the bird's-eye view and the code map.

pub mod artifacts;
pub mod bundle;
pub mod check_name;
pub mod checks;
pub mod context;
pub mod diagnosis;
pub mod error;
pub mod events;
pub mod exit_code;
pub mod finding;
pub mod gelf;
pub mod golden;
pub mod images;
pub mod parse;
pub mod procedure;
pub mod provider;
pub mod remote;
pub mod report;
pub mod reporter;
pub mod run_diff;
pub mod run_record;
pub mod runner;
pub mod scenario;
pub mod secrets;
pub mod steps;
pub mod topology;
pub mod wait;

pub use error::{Error, Result};
