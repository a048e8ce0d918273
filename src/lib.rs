//! Support code for the conformance suite (tests/conformance.rs).
