//! The docker provider (bollard).
