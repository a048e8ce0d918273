//! The product through the LB, from the harness: port 80 redirects to https; 443 and 4443
//! complete a TLS handshake with a certificate whose SANs hold the LB address and every node
//! IP; the UI answers; the Kubernetes API's `/healthz` and the registry's `/v2/` answer.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::delivery::Deliveries;
use super::observation::{CheckName, Findings, Observation, Verdict};
use super::scope::Scope;
use super::tls::{self, Certificate};
use crate::topology::Topology;

pub const DEADLINE: Duration = Duration::from_secs(30);
/// The longest the check waits for one answer (on a machine at full speed).
pub const REQUEST: Duration = Duration::from_secs(10);
/// The shortest: a client's patience. An answer still missing waits ten times the slowest
/// answer the check got, at least this long and at most [`REQUEST`]. It is longer than the
/// `proxy_connect_timeout` the remedy for a hanging upstream sets (5 s), so an LB that moves
/// on to the next node in time is seen to answer.
pub const PATIENCE: Duration = Duration::from_secs(6);
const TLS_PORTS: [u16; 2] = [443, 4443];
const REGISTRY_HEADER: &str = "docker-distribution-api-version";

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Redirect {
    pub status: Option<u16>,
    pub location: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsEndpoint {
    pub handshake: bool,
    pub subject: Option<String>,
    pub sans: Vec<String>,
    /// Addresses the certificate must name and does not.
    pub missing_sans: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpAnswer {
    pub status: Option<u16>,
    /// What identifies the service: `/healthz`'s body, the registry's API version header.
    pub says: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpsFindings {
    /// `http://lb/`, not followed.
    pub redirect: Redirect,
    /// Port → the certificate it presented.
    pub tls: BTreeMap<u16, TlsEndpoint>,
    /// URL (with the LB's name) → what answered.
    pub answers: BTreeMap<String, HttpAnswer>,
    /// URL → why there was no answer.
    pub measured: BTreeMap<String, String>,
}

/// What the harness got back, before judging it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Responses {
    pub redirect: Option<Result<Redirect, String>>,
    pub tls: BTreeMap<u16, Result<Certificate, String>>,
    pub ui: Option<Result<HttpAnswer, String>>,
    pub initial_config: Option<Result<HttpAnswer, String>>,
    pub healthz: Option<Result<HttpAnswer, String>>,
    /// The scheme the registry answered on, and its answer.
    pub registry: Option<(&'static str, Result<HttpAnswer, String>)>,
}

pub(crate) async fn run(scope: &Scope<'_>) -> Observation {
    let Some(lb) = scope.topology.lb() else {
        return Observation::unfinished(CheckName::Https, "no LB in the topology".into(), None);
    };
    // One request on a real machine; on a slow provider the product answers as slowly.
    let request = scope.ctx.paced(REQUEST);
    let limits = (scope.ctx.paced(PATIENCE), request);
    let answers = Deliveries::default();
    let sent = Instant::now();
    let answers = &answers;
    let client = match reqwest::Client::builder()
        .no_proxy()
        .danger_accept_invalid_certs(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(request)
        .build()
    {
        Ok(c) => c,
        Err(e) => {
            return Observation::unfinished(CheckName::Https, format!("http client: {e}"), None)
        }
    };
    scope.seen.set(format!(
        "asking {} on 80, 443, 4443, 6443 and 15000",
        lb.name
    ));
    let ip = lb.address;
    let get = |url: String| {
        let client = &client;
        async move {
            let response = answers
                .bounded(limits, sent, client.get(&url).send())
                .await
                .map_err(|w| format!("no answer within {w}"))?
                .map_err(|e| error_text(&e))?;
            let status = response.status().as_u16();
            let header = response
                .headers()
                .get(REGISTRY_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let body = response.text().await.unwrap_or_default();
            Ok::<_, String>((status, header, location, body))
        }
    };
    let redirect = async {
        get(format!("http://{ip}/"))
            .await
            .map(|(status, _, location, _)| Redirect {
                status: Some(status),
                location,
            })
    };
    let certificates = futures::future::join_all(TLS_PORTS.map(|port| async move {
        let handshake = tls::handshake(SocketAddr::from((ip, port)), request);
        let result = answers
            .bounded(limits, sent, handshake)
            .await
            .unwrap_or_else(|w| Err(format!("no handshake within {w}")));
        (port, result)
    }));
    let plain = |url: String| {
        let get = &get;
        async move {
            get(url).await.map(|(status, _, _, _)| HttpAnswer {
                status: Some(status),
                says: None,
            })
        }
    };
    let healthz = async {
        get(format!("https://{ip}:6443/healthz"))
            .await
            .map(|(status, _, _, body)| HttpAnswer {
                status: Some(status),
                says: Some(body.trim().chars().take(80).collect()),
            })
    };
    let registry = async {
        let answer =
            |(status, header, _, _): (u16, Option<String>, Option<String>, String)| HttpAnswer {
                status: Some(status),
                says: header,
            };
        // The registry's scheme is the product's choice; plain http when TLS is not spoken.
        match get(format!("https://{ip}:15000/v2/")).await {
            Ok(r) => ("https", Ok(answer(r))),
            Err(tls_error) => match get(format!("http://{ip}:15000/v2/")).await {
                Ok(r) => ("http", Ok(answer(r))),
                Err(e) => ("https", Err(format!("{tls_error}; over http: {e}"))),
            },
        }
    };
    let (redirect, certificates, ui, initial_config, healthz, registry) = futures::join!(
        redirect,
        certificates,
        plain(format!("https://{ip}/")),
        plain(format!("https://{ip}:4443/")),
        healthz,
        registry
    );
    let responses = Responses {
        redirect: Some(redirect),
        tls: certificates.into_iter().collect(),
        ui: Some(ui),
        initial_config: Some(initial_config),
        healthz: Some(healthz),
        registry: Some(registry),
    };
    evaluate(scope.topology, ip, responses)
}

/// reqwest's error with its causes ("error sending request: … connection refused").
fn error_text(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

pub(crate) fn evaluate(topology: &Topology, lb: Ipv4Addr, r: Responses) -> Observation {
    let name = topology
        .name_of(lb)
        .map(|n| n.to_string())
        .unwrap_or_else(|| lb.to_string());
    let mut f = HttpsFindings::default();
    let mut reasons = Vec::new();

    let redirect_url = format!("http://{name}/");
    match r.redirect {
        Some(Ok(redirect)) => {
            let is_redirect = redirect
                .status
                .is_some_and(|s| [301, 302, 303, 307, 308].contains(&s));
            let to_https = redirect
                .location
                .as_deref()
                .is_some_and(|l| l.starts_with("https://"));
            if !is_redirect || !to_https {
                reasons.push(format!(
                    "{redirect_url}: {} with Location {}, expected a redirect to https",
                    redirect
                        .status
                        .map_or("no status".into(), |s| s.to_string()),
                    redirect.location.as_deref().unwrap_or("(none)")
                ));
            }
            f.redirect = redirect;
        }
        Some(Err(e)) => {
            reasons.push(format!("{redirect_url}: no answer"));
            f.measured.insert(redirect_url, e);
        }
        None => {}
    }

    let mut required: Vec<String> = topology
        .nodes()
        .map(|h| h.address.to_string())
        .chain([lb.to_string()])
        .collect();
    required.sort();
    for (port, result) in r.tls {
        let url = format!("https://{name}:{port}/");
        let endpoint = match result {
            Ok(cert) => {
                let ips: Vec<String> = cert.ip_addresses.iter().map(|ip| ip.to_string()).collect();
                let missing: Vec<String> = required
                    .iter()
                    .filter(|a| !ips.contains(a))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    reasons.push(format!(
                        "{name}:{port}: certificate SANs lack {}",
                        missing.join(", ")
                    ));
                }
                TlsEndpoint {
                    handshake: true,
                    subject: Some(cert.subject.clone()),
                    sans: cert.sans(),
                    missing_sans: missing,
                }
            }
            Err(e) => {
                reasons.push(format!("{name}:{port}: no TLS handshake"));
                f.measured.insert(url, e);
                TlsEndpoint::default()
            }
        };
        f.tls.insert(port, endpoint);
    }

    let mut answer = |url: String,
                      result: Option<Result<HttpAnswer, String>>,
                      ok: &dyn Fn(&HttpAnswer) -> Option<String>| {
        match result {
            Some(Ok(a)) => {
                if let Some(why) = ok(&a) {
                    reasons.push(format!("{url}: {why}"));
                }
                f.answers.insert(url, a);
            }
            Some(Err(e)) => {
                reasons.push(format!("{url}: no answer"));
                f.measured.insert(url.clone(), e);
                f.answers.insert(url, HttpAnswer::default());
            }
            None => {}
        }
    };
    let status_is = |want: &'static [u16]| {
        move |a: &HttpAnswer| match a.status {
            Some(s) if want.contains(&s) => None,
            Some(s) => Some(format!("answered {s}, expected {}", list(want))),
            None => Some("no status".into()),
        }
    };
    answer(format!("https://{name}/"), r.ui, &status_is(&[200]));
    // The initial-configuration UI may send a browser on (a redirect) but must not fail.
    answer(
        format!("https://{name}:4443/"),
        r.initial_config,
        &|a: &HttpAnswer| match a.status {
            Some(s) if s < 400 => None,
            Some(s) => Some(format!("answered {s}")),
            None => Some("no status".into()),
        },
    );
    answer(
        format!("https://{name}:6443/healthz"),
        r.healthz,
        &|a: &HttpAnswer| {
            if a.status == Some(200) && a.says.as_deref() == Some("ok") {
                None
            } else {
                Some(format!(
                    "answered {} {:?}, expected 200 \"ok\"",
                    a.status.map_or("no status".into(), |s| s.to_string()),
                    a.says.as_deref().unwrap_or_default()
                ))
            }
        },
    );
    if let Some((scheme, result)) = r.registry {
        // A registry with authentication answers 401 to an anonymous `/v2/`: still a registry.
        answer(
            format!("{scheme}://{name}:15000/v2/"),
            Some(result),
            &|a: &HttpAnswer| {
                let status_ok = matches!(a.status, Some(200) | Some(401));
                let api = a.says.as_deref() == Some("registry/2.0");
                match (status_ok, api) {
                    (true, true) => None,
                    (_, false) => {
                        Some("no Docker-Distribution-API-Version: registry/2.0 header".into())
                    }
                    (false, true) => Some(format!("answered {}", a.status.unwrap_or_default())),
                }
            },
        );
    }
    Observation::new(
        CheckName::Https,
        Findings::Https(f),
        Verdict::from_reasons(reasons),
    )
}

fn list(codes: &[u16]) -> String {
    codes
        .iter()
        .map(u16::to_string)
        .collect::<Vec<_>>()
        .join(" or ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::topology;

    const LB: &str = "10.213.7.10";

    fn certificate(ips: &[&str]) -> Certificate {
        Certificate {
            subject: "O=Hystax BV, L=Amsterdam, ST=Amsterdam, C=NL".into(),
            dns_names: vec!["localhost".into()],
            ip_addresses: ips.iter().map(|i| i.parse().unwrap()).collect(),
        }
    }

    fn ok(status: u16, says: Option<&str>) -> Option<Result<HttpAnswer, String>> {
        Some(Ok(HttpAnswer {
            status: Some(status),
            says: says.map(str::to_owned),
        }))
    }

    fn healthy() -> Responses {
        let all = ["10.213.7.11", "10.213.7.12", "10.213.7.13", LB];
        Responses {
            redirect: Some(Ok(Redirect {
                status: Some(308),
                location: Some(format!("https://{LB}/")),
            })),
            tls: [(443, Ok(certificate(&all))), (4443, Ok(certificate(&all)))].into(),
            ui: ok(200, None),
            initial_config: ok(200, None),
            healthz: ok(200, Some("ok")),
            registry: Some(("http", ok(200, Some("registry/2.0")).unwrap())),
        }
    }

    #[test]
    fn the_healthy_product_passes_and_its_snapshot_names_no_address() {
        let o = evaluate(&topology(), LB.parse().unwrap(), healthy());
        assert!(o.passed(), "{:?}", o.verdict);
        let n = crate::golden::Normalizer::new(&topology()).normalize(&o.snapshot_value());
        assert_eq!(n["redirect"]["location"], "https://lb/");
        assert_eq!(
            n["tls"]["443"]["sans"],
            serde_json::json!([
                "DNS:localhost",
                "IP:lb",
                "IP:node-1",
                "IP:node-2",
                "IP:node-3"
            ])
        );
        assert!(n["answers"].get("http://lb:15000/v2/").is_some());
    }

    #[test]
    fn a_missing_san_a_plain_200_on_80_and_a_sick_api_fail() {
        let mut r = healthy();
        r.tls
            .insert(443, Ok(certificate(&["10.213.7.11", "10.213.7.12", LB])));
        r.redirect = Some(Ok(Redirect {
            status: Some(200),
            location: None,
        }));
        r.healthz = ok(500, Some("[-]etcd failed: reason withheld"));
        let o = evaluate(&topology(), LB.parse().unwrap(), r);
        assert_eq!(
            o.verdict.reasons,
            vec![
                "http://lb/: 200 with Location (none), expected a redirect to https",
                "lb:443: certificate SANs lack 10.213.7.13",
                "https://lb:6443/healthz: answered 500 \"[-]etcd failed: reason withheld\", expected 200 \"ok\"",
            ]
        );
    }

    #[test]
    fn no_answer_and_no_handshake_are_failures_with_the_error_kept_aside() {
        let mut r = healthy();
        r.tls.insert(
            4443,
            Err("connect: Connection refused (os error 111)".into()),
        );
        r.ui = Some(Err("error sending request: operation timed out".into()));
        r.registry = Some((
            "https",
            Ok(HttpAnswer {
                status: Some(404),
                says: None,
            }),
        ));
        let o = evaluate(&topology(), LB.parse().unwrap(), r);
        assert_eq!(
            o.verdict.reasons,
            vec![
                "lb:4443: no TLS handshake",
                "https://lb/: no answer",
                "https://lb:15000/v2/: no Docker-Distribution-API-Version: registry/2.0 header",
            ]
        );
        let Some(Findings::Https(f)) = &o.findings else {
            panic!()
        };
        assert_eq!(
            f.measured["https://lb/"],
            "error sending request: operation timed out"
        );
    }
}
