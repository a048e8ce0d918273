//! C27 `kubeadm init phase upload-certs --upload-certs`: the certificate key a joining
//! control-plane node decrypts the cluster certificates with (`master_cert_key` in C28).
//! kubeadm prints it alone on the last line.

use std::fmt;

use super::error::{numbered_lines, ParseError};

const COMMAND: &str = "kubeadm init phase upload-certs";
const EXPECTED: &str = "the certificate key (64 hex digits) on the last line";

/// A secret: its `Debug` shows only that it exists.
#[derive(Clone, PartialEq, Eq)]
pub struct CertificateKey(String);

impl CertificateKey {
    /// A key as kubeadm prints it: 32 bytes in hex.
    pub fn parse(text: &str) -> Option<CertificateKey> {
        (text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| CertificateKey(text.to_ascii_lowercase()))
    }

    /// The key itself, for the command line of C28. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CertificateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CertificateKey([certificate-key])")
    }
}

pub fn parse(output: &str) -> Result<CertificateKey, ParseError> {
    let Some((number, line)) = numbered_lines(output).last() else {
        return Err(ParseError::end(COMMAND, EXPECTED));
    };
    let line = line.trim();
    CertificateKey::parse(line).ok_or_else(|| {
        // A single word is probably a damaged key; a sentence is kubeadm talking.
        if line.contains(' ') {
            ParseError::at(COMMAND, EXPECTED, number, line)
        } else {
            ParseError::withheld(COMMAND, EXPECTED, number)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::error::Found;
    use proptest::prelude::*;

    const OUTPUT: &str = include_str!("../../../fixtures/outputs/kubeadm/upload-certs.txt");
    const KEY: &str = "3f4d27d1eefadbdf736b52053c76d60893dc42a1ba7c06d06df0eb47a88418b1";

    #[test]
    fn the_key_is_the_last_line() {
        assert_eq!(parse(OUTPUT).unwrap().expose(), KEY);
    }

    #[test]
    fn with_verbose_logging_and_crlf() {
        let out = include_str!("../../../fixtures/outputs/kubeadm/upload-certs-verbose.txt");
        assert_eq!(
            parse(&out.replace('\n', "\r\n")).unwrap().expose(),
            "b2bf5b8b8b4c7fcd4e5df9b7b1b8e3f6d2c9a6e0a4b7c1d3e5f7a9b1c3d5e7f9"
        );
    }

    #[test]
    fn a_missing_key_names_kubeadms_last_words() {
        let cut = OUTPUT.replace(KEY, "");
        let e = parse(&cut).unwrap_err();
        assert_eq!(
            e.found,
            Found::Line {
                number: 2,
                text: "[upload-certs] Using certificate key:".into()
            }
        );
        assert_eq!(parse("").unwrap_err().found, Found::EndOfOutput);
    }

    #[test]
    fn a_damaged_key_is_rejected_without_being_shown() {
        let e = parse(&OUTPUT.replace(KEY, &KEY[..63])).unwrap_err();
        assert_eq!(e.found, Found::Withheld { number: 3 });
        let e = parse(&OUTPUT.replace(KEY, &KEY.replace('f', "g"))).unwrap_err();
        assert!(!e.to_string().contains(&KEY[..20]), "{e}");
    }

    #[test]
    fn debug_does_not_show_the_key() {
        let key = parse(OUTPUT).unwrap();
        assert!(!format!("{key:?}").contains(&KEY[..8]));
    }

    proptest! {
        #[test]
        fn any_key_after_any_log_lines_is_found(
            key in "[0-9a-fA-F]{64}",
            log in prop::collection::vec("\\[upload-certs\\] [ -~]{0,60}", 0..5),
        ) {
            let out = format!("{}\n{key}\n\n", log.join("\n"));
            let parsed = parse(&out).unwrap();
            prop_assert_eq!(parsed.expose(), key.to_ascii_lowercase());
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = parse(&text);
        }
    }
}
