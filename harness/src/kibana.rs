//! Searching the product's logs through Kibana's console proxy (NodePort 30081, behind basic
//! auth), the way an operator would look for a record: by a field's exact value.

use std::net::Ipv4Addr;
use std::time::Duration;

use serde_json::{json, Value};

use crate::scenario::Credentials;

pub const PORT: u16 = 30081;
pub const INDEX: &str = "logstash-*";

#[derive(Debug, thiserror::Error)]
pub enum KibanaError {
    #[error("kibana at {node}:{PORT}: {reason}")]
    Request { node: Ipv4Addr, reason: String },
    #[error("kibana at {node}:{PORT} answered HTTP {status}: {body}")]
    Status {
        node: Ipv4Addr,
        status: u16,
        body: String,
    },
}

/// The `_source` of every record whose `field` equals `value`.
pub async fn find(
    node: Ipv4Addr,
    credentials: &Credentials,
    field: &str,
    value: &str,
) -> Result<Vec<Value>, KibanaError> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| KibanaError::Request {
            node,
            reason: e.to_string(),
        })?;
    let url = format!("http://{node}:{PORT}/api/console/proxy?path={INDEX}%2F_search&method=POST");
    let query = json!({ "query": { "match_phrase": { field: value } }, "size": 10 });
    let response = client
        .post(url)
        .basic_auth(&credentials.user, Some(&credentials.password))
        .header("kbn-xsrf", "true")
        .json(&query)
        .send()
        .await
        .map_err(|e| KibanaError::Request {
            node,
            reason: e.to_string(),
        })?;
    let status = response.status().as_u16();
    let body = response.text().await.unwrap_or_default();
    if status != 200 {
        return Err(KibanaError::Status {
            node,
            status,
            body: body.chars().take(200).collect(),
        });
    }
    let doc: Value = serde_json::from_str(&body).map_err(|e| KibanaError::Request {
        node,
        reason: format!("not JSON ({e})"),
    })?;
    Ok(doc["hits"]["hits"]
        .as_array()
        .map(|hits| hits.iter().map(|h| h["_source"].clone()).collect())
        .unwrap_or_default())
}
