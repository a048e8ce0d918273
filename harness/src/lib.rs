//! `acura-ha`: a scenario runner and conformance suite for the highly available Acura install.
//!
//! See ARCHITECTURE.md at the repository root for the bird's-eye view and the code map.

pub mod error;
pub mod exit_code;
pub mod gelf;
pub mod golden;
pub mod images;
pub mod parse;
pub mod procedure;
pub mod provider;
pub mod remote;
pub mod scenario;
pub mod topology;

pub use error::{Error, Result};
