//! Commands on hosts over SSH (russh): one session per host, reused; every operation has a deadline.

/// The per-run SSH key pair (ed25519).
pub struct RunKey {
    pub private_openssh: String,
    pub public_openssh: String,
}
