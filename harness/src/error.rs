//! The error type at the library's boundary, and how each kind maps onto an exit code.

use std::path::PathBuf;

use crate::exit_code;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The scenario or another input file is invalid. `rendered` already carries the
    /// file, line, column and a source snippet.
    #[error("{rendered}")]
    Invalid { rendered: String },
    #[error("{tool} not found: {hint}")]
    MissingTool { tool: String, hint: String },
    #[error("infrastructure: {0}")]
    Infrastructure(String),
    #[error("{0}")]
    CheckFailed(String),
    #[error("interrupted")]
    Interrupted,
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } => exit_code::INVALID_INPUT,
            Error::MissingTool { .. } | Error::Infrastructure(_) | Error::Io { .. } => {
                exit_code::INFRASTRUCTURE
            }
            Error::CheckFailed(_) => exit_code::CHECK_FAILED,
            Error::Interrupted => exit_code::INTERRUPTED,
        }
    }

    pub fn infra(msg: impl Into<String>) -> Self {
        Error::Infrastructure(msg.into())
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
