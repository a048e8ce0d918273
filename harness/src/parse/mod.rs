//! Pure parsers of the procedure commands' output (kubeadm, etcdctl, kubectl, nginx, nc, DNS).
//!
//! One command per file, each a `parse` function from the captured text to typed facts, and
//! one error type, [`ParseError`], naming the command, what was expected and the line that was
//! found instead. Secrets a command prints (join tokens, certificate keys) come back as types
//! whose `Debug` hides them, and never appear in a `ParseError`.

mod error;
mod table;

pub mod etcd_endpoints;
pub mod etcd_v2;
pub mod get_nodes;
pub mod get_pods;
pub mod join_command;
pub mod member_list;
pub mod member_remove;
pub mod nc;
pub mod nginx_conf;
pub mod nginx_syntax;
pub mod nslookup;
pub mod resolv_conf;
pub mod upload_certs;

pub use error::{Found, ParseError};
