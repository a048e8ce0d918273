//! Commands on hosts over SSH (russh): one session per host, reused for every command; every
//! operation has a deadline; host keys are pinned on first contact for the rest of the run.

pub mod host_keys;
mod key;
mod output;
mod session;

pub use host_keys::{HostKeys, PinReason};
pub use key::RunKey;
pub use output::{millis, Output};
pub use session::{shell_quote, HostKeyRefusal, Remote, RemoteError};
