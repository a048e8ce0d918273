//! TLS handshakes with the appliance: its ingress certificate is self-signed, so the chain is
//! not validated, but the handshake is real (the server must prove it holds the certificate's
//! key) and the certificate is kept, so its subject and SANs can be checked.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};

/// What the harness reads from a server certificate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Certificate {
    /// `O=Hystax BV, L=Amsterdam, ST=Amsterdam, C=NL`
    pub subject: String,
    pub dns_names: Vec<String>,
    pub ip_addresses: Vec<IpAddr>,
}

impl Certificate {
    pub fn parse(der: &[u8]) -> Result<Certificate, String> {
        let (_, cert) =
            X509Certificate::from_der(der).map_err(|e| format!("not an X.509 certificate: {e}"))?;
        let mut dns_names = Vec::new();
        let mut ip_addresses = Vec::new();
        let san = cert
            .subject_alternative_name()
            .map_err(|e| format!("unreadable subjectAltName: {e}"))?;
        for name in san.iter().flat_map(|ext| ext.value.general_names.iter()) {
            match name {
                GeneralName::DNSName(d) => dns_names.push((*d).to_owned()),
                GeneralName::IPAddress(bytes) => {
                    if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                        ip_addresses.push(IpAddr::from(v4));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                        ip_addresses.push(IpAddr::from(v6));
                    }
                }
                _ => {}
            }
        }
        Ok(Certificate {
            subject: cert.subject().to_string(),
            dns_names,
            ip_addresses,
        })
    }

    /// `DNS:localhost`, `IP:10.213.7.10`, as openssl prints them.
    pub fn sans(&self) -> Vec<String> {
        self.dns_names
            .iter()
            .map(|d| format!("DNS:{d}"))
            .chain(self.ip_addresses.iter().map(|ip| format!("IP:{ip}")))
            .collect()
    }
}

/// Accepts any certificate chain; still checks the handshake signatures.
#[derive(Debug)]
struct AcceptSelfSigned {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AcceptSelfSigned {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Complete a TLS handshake with `addr` and return the certificate it presented.
pub async fn handshake(addr: SocketAddr, timeout: Duration) -> Result<Certificate, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AcceptSelfSigned { provider }))
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let work = async {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let tls = connector
            .connect(ServerName::IpAddress(addr.ip().into()), tcp)
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        let (_, session) = tls.get_ref();
        let der = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .ok_or_else(|| "the server presented no certificate".to_owned())?;
        Certificate::parse(der.as_ref())
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("no handshake within {}s", timeout.as_secs()))?
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A certificate like the ingress one: no CN, the vendor's subject, SANs localhost, the
    /// node IPs and the LB.
    pub fn ingress_like(ips: &[&str]) -> (rcgen::Certificate, rcgen::KeyPair) {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        for ip in ips {
            params
                .subject_alt_names
                .push(rcgen::SanType::IpAddress(ip.parse().unwrap()));
        }
        let mut dn = rcgen::DistinguishedName::new();
        dn.push(rcgen::DnType::OrganizationName, "Hystax BV");
        dn.push(rcgen::DnType::LocalityName, "Amsterdam");
        dn.push(rcgen::DnType::StateOrProvinceName, "Amsterdam");
        dn.push(rcgen::DnType::CountryName, "NL");
        params.distinguished_name = dn;
        let key = rcgen::KeyPair::generate().unwrap();
        (params.self_signed(&key).unwrap(), key)
    }

    #[test]
    fn subject_and_sans_are_read() {
        let (cert, _) = ingress_like(&["10.213.7.11", "10.213.7.10"]);
        let c = Certificate::parse(cert.der()).unwrap();
        assert_eq!(c.subject, "O=Hystax BV, L=Amsterdam, ST=Amsterdam, C=NL");
        assert_eq!(
            c.sans(),
            vec!["DNS:localhost", "IP:10.213.7.11", "IP:10.213.7.10"]
        );
    }

    #[test]
    fn garbage_is_not_a_certificate() {
        assert!(Certificate::parse(b"not der")
            .unwrap_err()
            .starts_with("not an X.509 certificate"));
    }

    /// A real handshake with a self-signed server: accepted, and its certificate kept.
    #[tokio::test]
    async fn a_self_signed_server_is_accepted_and_recorded() {
        let (cert, key) = ingress_like(&["127.0.0.1"]);
        let key = rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
        let server = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let serve = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let _ = acceptor.accept(tcp).await;
        });
        let c = handshake(addr, Duration::from_secs(5)).await.unwrap();
        assert_eq!(c.sans(), vec!["DNS:localhost", "IP:127.0.0.1"]);
        serve.await.unwrap();
    }

    #[tokio::test]
    async fn nothing_listening_is_a_connect_error() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let err = handshake(
            SocketAddr::from(([127, 0, 0, 1], port)),
            Duration::from_secs(2),
        )
        .await
        .unwrap_err();
        assert!(err.starts_with("connect: "), "{err}");
    }
}
