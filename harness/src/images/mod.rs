//! Image recipes under vms/, built with mmdebstrap and docker import; tags carry the recipe hash.
