//! What never enters a bundle: the secrets the run knows by value (registered with the run's
//! [`crate::secrets::Secrets`]), and the ones recognised by their shape wherever they appear
//! in collected text: PEM private keys, kubeconfig credentials, bootstrap tokens, and values
//! of keys named like passwords, tokens or secrets.

use std::sync::LazyLock;

use regex::Regex;

static PEM_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?s)-----BEGIN ([A-Z ]*)PRIVATE KEY-----.*?-----END ([A-Z ]*)PRIVATE KEY-----")
        .expect("a valid pattern")
});
static KUBECONFIG_CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?m)((?:client-key-data|client-certificate-data|token|password)\s*:\s*)\S+")
        .expect("a valid pattern")
});
static BOOTSTRAP_TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\b[a-z0-9]{6}\.[a-z0-9]{16}\b").expect("a valid pattern"));
static NAMED_SECRET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)("?[a-z_\-]*(?:password|passwd|secret|token|api_key|apikey|certificate[_-]key)[a-z_\-]*"?\s*[:=]\s*)("[^"\n]*"|[^\s,}"'\\]+)"#,
    )
    .expect("a valid pattern")
});
static SECRET_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)password|passwd|secret|token|api_?key|certificate[_-]key|private[_-]key")
        .expect("a valid pattern")
});

/// A JSON document scrubbed value by value: each string as text, and every string under a key
/// named like a secret replaced whole. It stays JSON whatever a secret looked like.
pub fn scrub_json(value: &mut serde_json::Value, known: &crate::secrets::Secrets) {
    use serde_json::Value;
    match value {
        Value::String(s) => *s = scrub(s, known),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, known)),
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if SECRET_NAME.is_match(key) && v.is_string() {
                    *v = Value::String("[secret]".into());
                } else {
                    scrub_json(v, known);
                }
            }
        }
        _ => {}
    }
}

/// Collected text: a JSON document (kubectl's, etcdctl's) scrubbed as JSON, anything else as
/// text.
pub fn scrub_output(text: &str, known: &crate::secrets::Secrets) -> String {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        if let Ok(mut value) = serde_json::from_str::<serde_json::Value>(text) {
            scrub_json(&mut value, known);
            return serde_json::to_string_pretty(&value).expect("JSON serializes");
        }
    }
    scrub(text, known)
}

/// `text` with every secret it carries replaced by a label.
pub fn scrub(text: &str, known: &crate::secrets::Secrets) -> String {
    let text = known.redact(text);
    let text = PEM_KEY.replace_all(&text, "[private-key]");
    let text = KUBECONFIG_CREDENTIAL.replace_all(&text, "${1}[credential]");
    let text = BOOTSTRAP_TOKEN.replace_all(&text, "[token]");
    NAMED_SECRET.replace_all(&text, "${1}[secret]").into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secrets::Secrets;

    #[test]
    fn secrets_known_and_secrets_by_shape_are_gone() {
        let known = Secrets::default();
        known.register("kibana-canary-91f3", "kibana-password");
        let text = "\
kibana: kibana-canary-91f3
-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAA
-----END OPENSSH PRIVATE KEY-----
    client-key-data: LS0tLS1CRUdJTiBSU0E=
kubeadm join lb:6443 --token abcdef.0123456789abcdef
{\"db_password\": \"hunter2-canary\", \"user\": \"acura\"}
API_TOKEN=s3cr3t-canary
nameserver 10.0.0.2
";
        let out = scrub(text, &known);
        for gone in [
            "kibana-canary-91f3",
            "b3BlbnNzaC1rZXktdjEAAAAA",
            "LS0tLS1CRUdJTiBSU0E=",
            "abcdef.0123456789abcdef",
            "hunter2-canary",
            "s3cr3t-canary",
        ] {
            assert!(!out.contains(gone), "{gone} left in:\n{out}");
        }
        assert!(out.contains("nameserver 10.0.0.2"), "{out}");
        assert!(out.contains("\"user\": \"acura\""), "{out}");
    }

    #[test]
    fn json_stays_json_whatever_its_strings_hold() {
        let known = Secrets::default();
        let conf = "stream {}\n# kibana password=canary-8e2f41b7c0\nserver 10.0.0.1:443;\n";
        let doc = serde_json::json!({
            "lb_conf": conf,
            "items": [{"db_password": "hunter2-canary", "name": "restapi"}],
        });
        let text = serde_json::to_string_pretty(&doc).unwrap();
        // As plain text, the value of `password=` must not run past its line.
        let as_text = scrub(&text, &known);
        assert!(!as_text.contains("canary-8e2f41b7c0"), "{as_text}");
        let out = scrub_output(&text, &known);
        let back: serde_json::Value = serde_json::from_str(&out).expect("still JSON");
        assert!(
            !out.contains("canary-8e2f41b7c0") && !out.contains("hunter2-canary"),
            "{out}"
        );
        assert!(back["lb_conf"]
            .as_str()
            .unwrap()
            .contains("server 10.0.0.1:443;"));
        assert_eq!(back["items"][0]["name"], "restapi");
    }
}
