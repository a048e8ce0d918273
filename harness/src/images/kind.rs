use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::topology::Role;

/// Which host image: one per role of the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageKind {
    Node,
    Lb,
    Deployer,
    Dns,
}

impl ImageKind {
    /// The name of the kind's recipe folder under `vms/` and of its image repository.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageKind::Node => "node",
            ImageKind::Lb => "lb",
            ImageKind::Deployer => "deployer",
            ImageKind::Dns => "dns",
        }
    }

    pub fn all() -> [ImageKind; 4] {
        [
            ImageKind::Node,
            ImageKind::Lb,
            ImageKind::Deployer,
            ImageKind::Dns,
        ]
    }
}

impl fmt::Display for ImageKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ImageKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ImageKind::all()
            .into_iter()
            .find(|kind| kind.as_str() == s)
            .ok_or_else(|| format!("unknown image kind `{s}` (expected node, lb, deployer or dns)"))
    }
}

impl From<Role> for ImageKind {
    fn from(role: Role) -> Self {
        match role {
            Role::Node => ImageKind::Node,
            Role::Lb => ImageKind::Lb,
            Role::Deployer => ImageKind::Deployer,
            Role::Dns => ImageKind::Dns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in ImageKind::all() {
            assert_eq!(kind.as_str().parse::<ImageKind>(), Ok(kind));
        }
        assert!("qemu".parse::<ImageKind>().is_err());
    }

    #[test]
    fn every_role_has_its_image() {
        for role in [Role::Node, Role::Lb, Role::Deployer, Role::Dns] {
            assert_eq!(ImageKind::from(role).as_str(), role.as_str());
        }
    }
}
