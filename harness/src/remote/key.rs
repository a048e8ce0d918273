//! The per-run SSH key: generated fresh for every run, injected into every host at provisioning.
//! The deploy host gets the private half too, so its ansible reaches the nodes as the procedure
//! requires.

use std::sync::Arc;

use russh::keys::ssh_key::private::{Ed25519Keypair, KeypairData};
use russh::keys::ssh_key::LineEnding;
use russh::keys::PrivateKey;

use crate::error::{Error, Result};

#[derive(Clone)]
pub struct RunKey {
    key: Arc<PrivateKey>,
    pub private_openssh: String,
    pub public_openssh: String,
}

impl RunKey {
    pub fn generate(comment: &str) -> Result<RunKey> {
        let seed: [u8; 32] = rand::random();
        let pair = Ed25519Keypair::from_seed(&seed);
        let key = PrivateKey::new(KeypairData::Ed25519(pair), comment)
            .map_err(|e| Error::infra(format!("cannot make the run's ssh key: {e}")))?;
        Self::from_key(key)
    }

    /// A key from an OpenSSH private key file (static inventories bring their own).
    pub fn from_openssh(text: &str) -> Result<RunKey> {
        let key = PrivateKey::from_openssh(text)
            .map_err(|e| Error::infra(format!("cannot read the ssh private key: {e}")))?;
        Self::from_key(key)
    }

    fn from_key(key: PrivateKey) -> Result<RunKey> {
        let private_openssh = key
            .to_openssh(LineEnding::LF)
            .map_err(|e| Error::infra(format!("cannot encode the ssh key: {e}")))?
            .to_string();
        let public_openssh = key
            .public_key()
            .to_openssh()
            .map_err(|e| Error::infra(format!("cannot encode the ssh public key: {e}")))?;
        Ok(RunKey {
            key: Arc::new(key),
            private_openssh,
            public_openssh,
        })
    }

    pub(crate) fn private_key(&self) -> Arc<PrivateKey> {
        self.key.clone()
    }
}

impl std::fmt::Debug for RunKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private half never reaches a log.
        f.debug_struct("RunKey")
            .field("public", &self.public_openssh)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_are_distinct_and_roundtrip() {
        let a = RunKey::generate("acura-ha").unwrap();
        let b = RunKey::generate("acura-ha").unwrap();
        assert_ne!(a.public_openssh, b.public_openssh);
        assert!(a.public_openssh.starts_with("ssh-ed25519 "));
        let again = RunKey::from_openssh(&a.private_openssh).unwrap();
        assert_eq!(again.public_openssh, a.public_openssh);
        assert!(!format!("{a:?}").contains("PRIVATE"));
    }
}
