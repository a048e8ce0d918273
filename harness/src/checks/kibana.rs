//! Searching the log index through Kibana (NodePort 30081, basic auth), the way an operator
//! would: Kibana's console proxy forwards an Elasticsearch `_search` to the index.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::delivery::{Backoff, Deliveries, Window};
use crate::scenario::Credentials;
use crate::topology::{Host, HostName};

pub const PORT: u16 = 30081;
/// Where logstash's GELF input writes.
pub const LOG_INDEX: &str = "logstash-*";
/// One search on a machine at full speed.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
/// More hits than one search ever needs: nonces are unique, a record matches once.
const SIZE: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum KibanaError {
    #[error("kibana at {base}: {reason}")]
    Request { base: String, reason: String },
    #[error("kibana at {base} answered {status}: {body}")]
    Status {
        base: String,
        status: u16,
        body: String,
    },
    #[error("kibana at {base}: the search result is not JSON: {reason}")]
    Body { base: String, reason: String },
}

pub struct Kibana {
    client: reqwest::Client,
    base: String,
    credentials: Credentials,
}

impl Kibana {
    /// `pace`: the provider's, by which one search may take longer than on a machine at full
    /// speed.
    pub fn new(
        address: Ipv4Addr,
        credentials: &Credentials,
        pace: u32,
    ) -> Result<Kibana, KibanaError> {
        let base = format!("http://{address}:{PORT}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(REQUEST_TIMEOUT * pace)
            .build()
            .map_err(|e| KibanaError::Request {
                base: base.clone(),
                reason: e.to_string(),
            })?;
        Ok(Kibana {
            client,
            base,
            credentials: credentials.clone(),
        })
    }

    /// Which of `nonces` some record in the log index carries.
    pub async fn find(&self, nonces: &[String]) -> Result<BTreeSet<String>, KibanaError> {
        let request = |e: reqwest::Error| KibanaError::Request {
            base: self.base.clone(),
            reason: e.to_string(),
        };
        let response = self
            .client
            .post(search_url(&self.base))
            .basic_auth(&self.credentials.user, Some(&self.credentials.password))
            .header("kbn-xsrf", "acura-ha")
            .json(&search_body(nonces))
            .send()
            .await
            .map_err(request)?;
        let status = response.status();
        let text = response.text().await.map_err(request)?;
        if !status.is_success() {
            return Err(KibanaError::Status {
                base: self.base.clone(),
                status: status.as_u16(),
                body: gist(&text),
            });
        }
        let value: Value = serde_json::from_str(&text).map_err(|e| KibanaError::Body {
            base: self.base.clone(),
            reason: e.to_string(),
        })?;
        Ok(found_in(&value, nonces))
    }
}

/// The Kibanas of the live nodes, asked in turn: when one does not answer, the next one is.
pub struct Kibanas {
    each: Vec<(HostName, Kibana)>,
    turn: usize,
}

/// What a search for records, until each was found or a window passed, saw.
#[derive(Debug)]
pub struct Delivered {
    /// Each nonce found, with the time from its sending to the search that found it.
    pub found: BTreeMap<String, Duration>,
    /// The node whose Kibana answered last, when one did.
    pub answered_by: Option<HostName>,
    /// Every distinct error a Kibana gave, in the order seen.
    pub errors: Vec<String>,
    /// The delivery window as it stood when the search ended: how long a record missing
    /// was waited for.
    pub window: Window,
}

impl Kibanas {
    /// A Kibana on each of `nodes`, its searches paced by `pace`.
    pub fn on(nodes: &[&Host], credentials: &Credentials, pace: u32) -> Kibanas {
        let each = nodes
            .iter()
            .filter_map(|h| {
                Some((
                    h.name.clone(),
                    Kibana::new(h.address, credentials, pace).ok()?,
                ))
            })
            .collect();
        Kibanas { each, turn: 0 }
    }

    pub fn is_empty(&self) -> bool {
        self.each.is_empty()
    }

    /// Searches the log index until every record of `sent` (nonce → when it was sent) is
    /// found, `given_up` (refused on the way), or has waited the delivery window, which
    /// `deliveries` sizes between `floor` and `ceiling` as records arrive (see
    /// [`super::delivery`]); searches back off from tens of milliseconds. `progress` hears how
    /// many were found so far after each search that answered.
    pub async fn await_delivery(
        &mut self,
        sent: &BTreeMap<String, Instant>,
        deliveries: &Deliveries,
        (floor, ceiling): (Duration, Duration),
        given_up: impl Fn(&str) -> bool,
        mut progress: impl FnMut(usize),
    ) -> Delivered {
        let mut delivered = Delivered {
            found: BTreeMap::new(),
            answered_by: None,
            errors: Vec::new(),
            window: deliveries.window(floor, ceiling),
        };
        let mut pauses = Backoff::default();
        while !self.each.is_empty() {
            let waiting: Vec<String> = sent
                .keys()
                .filter(|n| !delivered.found.contains_key(*n) && !given_up(n))
                .cloned()
                .collect();
            if waiting.is_empty() {
                break;
            }
            let (name, kibana) = &self.each[self.turn % self.each.len()];
            match kibana.find(&waiting).await {
                Ok(hits) => {
                    delivered.answered_by = Some(name.clone());
                    for nonce in hits {
                        if let Some(at) = sent.get(&nonce) {
                            let delay = at.elapsed();
                            deliveries.record(delay);
                            delivered.found.insert(nonce, delay);
                        }
                    }
                    progress(delivered.found.len());
                }
                Err(e) => {
                    // The next node's Kibana may answer.
                    self.turn += 1;
                    let e = e.to_string();
                    if !delivered.errors.contains(&e) {
                        delivered.errors.push(e);
                    }
                }
            }
            delivered.window = deliveries.window(floor, ceiling);
            // The youngest record still missing: once it has waited the window, all have.
            let Some(youngest) = waiting
                .iter()
                .filter(|n| !delivered.found.contains_key(*n))
                .filter_map(|n| sent.get(n))
                .map(|at| at.elapsed())
                .min()
            else {
                break;
            };
            let Some(left) = delivered.window.length.checked_sub(youngest) else {
                break;
            };
            tokio::time::sleep(pauses.next().unwrap_or_default().min(left)).await;
        }
        delivered
    }
}

/// An error page's text on one line, tags dropped (nginx's 401 page says "401 Authorization
/// Required" twice in six lines of HTML).
fn gist(body: &str) -> String {
    let mut text = String::new();
    let mut in_tag = false;
    for c in body.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                text.push(' ');
            }
            c if !in_tag => text.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut out = words.join(" ");
    if out.chars().count() > 120 {
        out = out.chars().take(120).collect::<String>() + "…";
    }
    out
}

/// The console proxy URL for a `_search` on the log index.
pub fn search_url(base: &str) -> String {
    format!(
        "{base}/api/console/proxy?path={}%2F_search&method=POST",
        LOG_INDEX.replace('*', "%2A")
    )
}

/// Any field equal to any of the nonces (logstash's GELF input may keep or strip the
/// leading underscore of the field, so the query does not name it).
pub fn search_body(nonces: &[String]) -> Value {
    let query = nonces
        .iter()
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(" OR ");
    json!({"size": SIZE, "query": {"query_string": {"query": query}}})
}

/// The nonces found as a value in some hit's `_source`. A hit that merely matched the query
/// does not count: the record itself must carry the nonce.
pub fn found_in(response: &Value, nonces: &[String]) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let hits = response
        .pointer("/hits/hits")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for hit in hits {
        if let Some(source) = hit.get("_source") {
            collect(source, nonces, &mut found);
        }
    }
    found
}

fn collect(value: &Value, nonces: &[String], found: &mut BTreeSet<String>) {
    match value {
        Value::String(s) => {
            if let Some(n) = nonces.iter().find(|n| *n == s) {
                found.insert(n.clone());
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect(v, nonces, found)),
        Value::Object(map) => map.values().for_each(|v| collect(v, nonces, found)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checks::testing::recorded;

    #[test]
    fn only_records_that_carry_the_nonce_count() {
        let response: Value = serde_json::from_str(recorded!("kibana-search.json")).unwrap();
        let nonces = vec![
            "5f1c0d9a2b7e4c3f8a6d1e0b9c2a7f4e".to_owned(),
            "0aa1bb2cc3dd4ee5ff66778899aabbcc".to_owned(),
            "ffffffffffffffffffffffffffffffff".to_owned(),
        ];
        let found = found_in(&response, &nonces);
        assert_eq!(
            found.into_iter().collect::<Vec<_>>(),
            vec![
                "0aa1bb2cc3dd4ee5ff66778899aabbcc",
                "5f1c0d9a2b7e4c3f8a6d1e0b9c2a7f4e"
            ]
        );
    }

    #[test]
    fn the_search_goes_through_the_console_proxy() {
        assert_eq!(
            search_url("http://10.213.7.11:30081"),
            "http://10.213.7.11:30081/api/console/proxy?path=logstash-%2A%2F_search&method=POST"
        );
        let body = search_body(&["a".into(), "b".into()]);
        assert_eq!(body["query"]["query_string"]["query"], "\"a\" OR \"b\"");
    }

    #[test]
    fn an_error_page_is_told_in_one_line() {
        let page = "<html>\r\n<head><title>401 Authorization Required</title></head>\r\n<body>\r\n<center><h1>401 Authorization Required</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";
        assert_eq!(
            gist(page),
            "401 Authorization Required 401 Authorization Required nginx"
        );
        assert_eq!(gist(&"x ".repeat(200)).chars().count(), 121);
    }

    #[test]
    fn an_empty_or_odd_answer_finds_nothing() {
        assert!(found_in(&json!({}), &["a".into()]).is_empty());
        assert!(found_in(&json!({"hits": {"hits": [{"_id": "a"}]}}), &["a".into()]).is_empty());
    }
}
