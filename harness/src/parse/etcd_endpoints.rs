//! `etcdctl endpoint status -w json` and `endpoint health -w json`, as the etcd check and
//! move-etcd-leader read them.

use serde::Deserialize;

/// One entry of `endpoint status -w json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EndpointStatus {
    #[serde(rename = "Endpoint")]
    pub endpoint: String,
    #[serde(rename = "Status")]
    pub status: StatusBody,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StatusBody {
    pub header: StatusHeader,
    pub leader: u64,
    #[serde(default)]
    pub version: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct StatusHeader {
    pub member_id: u64,
}

/// One entry of `endpoint health -w json`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct EndpointHealth {
    pub endpoint: String,
    pub health: bool,
    #[serde(default)]
    pub error: Option<String>,
}

/// etcdctl prints the JSON of the endpoints that answered, then fails for the others: the
/// output is read whatever the exit status.
pub fn parse_json<T: for<'de> Deserialize<'de>>(
    what: &str,
    output: &str,
) -> Result<Vec<T>, String> {
    let start = output
        .find('[')
        .ok_or_else(|| format!("{what}: no JSON in the output"))?;
    let mut de = serde_json::Deserializer::from_str(&output[start..]).into_iter::<Vec<T>>();
    match de.next() {
        Some(Ok(v)) => Ok(v),
        Some(Err(e)) => Err(format!("{what}: not the JSON etcdctl prints: {e}")),
        None => Err(format!("{what}: no JSON in the output")),
    }
}
