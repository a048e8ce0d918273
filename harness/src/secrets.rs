//! Secrets (join tokens, certificate keys, passwords, private keys) never reach logs, reports,
//! artifacts or snapshots. Every secret the run learns is registered here, and every text that
//! leaves the runner passes through [`Secrets::redact`].

use std::sync::RwLock;

#[derive(Default)]
pub struct Secrets {
    known: RwLock<Vec<(String, &'static str)>>,
}

impl Secrets {
    /// Register `value` (replaced by `[<label>]` wherever it appears). Values shorter than
    /// six characters are refused: redacting them would mangle ordinary text.
    pub fn register(&self, value: &str, label: &'static str) {
        let value = value.trim();
        if value.len() < 6 {
            return;
        }
        let mut known = self.known.write().unwrap();
        if !known.iter().any(|(v, _)| v == value) {
            known.push((value.to_owned(), label));
            // Longest first, so a token is replaced before a prefix of it.
            known.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let known = self.known.read().unwrap();
        let mut out = text.to_owned();
        for (value, label) in known.iter() {
            if out.contains(value.as_str()) {
                out = out.replace(value.as_str(), &format!("[{label}]"));
            }
        }
        out
    }

    /// Every registered value, for the test that searches a run's outputs for leaks.
    pub fn values(&self) -> Vec<String> {
        self.known
            .read()
            .unwrap()
            .iter()
            .map(|(v, _)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_values_are_replaced_everywhere() {
        let s = Secrets::default();
        s.register("knsqgq.cr889wp2v2vpcj2x", "token");
        s.register("knsqgq", "token-id");
        s.register("abc", "short");
        let text = "kubeadm join 1.2.3.4:6443 --token knsqgq.cr889wp2v2vpcj2x (id knsqgq) abc";
        assert_eq!(
            s.redact(text),
            "kubeadm join 1.2.3.4:6443 --token [token] (id [token-id]) abc"
        );
    }
}
