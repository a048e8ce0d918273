//! The process exit codes of `acura-ha`. They are part of the tool's interface: scripts and CI
//! jobs branch on them, so they never change meaning.

/// Every step ran and every check passed.
pub const PASSED: i32 = 0;
/// A check, an expectation or a procedure command failed: the product (or the environment it
/// was installed in) does not behave as the procedure says.
pub const CHECK_FAILED: i32 = 1;
/// The scenario, the command line or another input is invalid; nothing was started.
pub const INVALID_INPUT: i32 = 2;
/// The harness could not build or reach the topology (docker, images, SSH): the result says
/// nothing about the product.
pub const INFRASTRUCTURE: i32 = 3;
/// Interrupted by the user (Ctrl-C); everything the run created was released.
pub const INTERRUPTED: i32 = 130;
