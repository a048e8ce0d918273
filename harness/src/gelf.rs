//! GELF (Graylog Extended Log Format) records as the harness sends them to LB:12201/udp.
//!
//! The log-path check sends small, compressed and chunked records, each carrying a nonce in
//! [`NONCE_FIELD`], and then looks for the nonce through Kibana. Encoding follows GELF 1.1:
//! JSON, optionally gzip or zlib compressed; a payload larger than one datagram is cut into at
//! most 128 chunks, each behind a 12-byte header (`1e 0f`, 8-byte message id, sequence number,
//! sequence count).

use std::collections::BTreeMap;
use std::io::Write;

use flate2::write::{GzEncoder, ZlibEncoder};
use flate2::Compression;
use serde_json::{Map, Value};

pub const VERSION: &str = "1.1";
pub const CHUNK_MAGIC: [u8; 2] = [0x1e, 0x0f];
pub const CHUNK_HEADER_LEN: usize = 12;
pub const MAX_CHUNKS: usize = 128;
/// Graylog's chunk size for paths that may cross a WAN (a datagram that no router fragments).
pub const WAN_CHUNK_SIZE: usize = 1420;
/// Graylog's chunk size for a LAN.
pub const LAN_CHUNK_SIZE: usize = 8154;
/// The additional field that makes a record findable again.
pub const NONCE_FIELD: &str = "_acura_ha_nonce";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Encoding {
    Plain,
    Gzip,
    Zlib,
}

impl Encoding {
    pub const ALL: [Encoding; 3] = [Encoding::Plain, Encoding::Gzip, Encoding::Zlib];

    pub fn as_str(self) -> &'static str {
        match self {
            Encoding::Plain => "plain",
            Encoding::Gzip => "gzip",
            Encoding::Zlib => "zlib",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct GelfMessage {
    pub host: String,
    pub short_message: String,
    pub full_message: Option<String>,
    /// Seconds since the Unix epoch, decimals allowed.
    pub timestamp: Option<f64>,
    /// Syslog severity, 0 (emergency) to 7 (debug); receivers assume 1 when it is absent.
    pub level: Option<u8>,
    /// Additional fields: names start with `_`.
    pub extra: BTreeMap<String, Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum GelfError {
    #[error("host is empty")]
    EmptyHost,
    #[error("short_message is empty")]
    EmptyShortMessage,
    #[error("level {0} is not a syslog severity (0-7)")]
    Level(u8),
    #[error("timestamp {0} is not a non-negative number of seconds")]
    Timestamp(f64),
    #[error("additional field {key:?} {reason}")]
    Field { key: String, reason: &'static str },
    #[error("chunk payload size must be at least one byte")]
    ZeroChunkSize,
    #[error(
        "a payload of {payload} bytes needs {needed} chunks of {chunk_size} bytes, more than the {MAX_CHUNKS} GELF allows"
    )]
    TooManyChunks {
        payload: usize,
        chunk_size: usize,
        needed: usize,
    },
    #[error("compressing the payload: {0}")]
    Compress(#[from] std::io::Error),
}

impl GelfMessage {
    pub fn new(host: impl Into<String>, short_message: impl Into<String>) -> Self {
        GelfMessage {
            host: host.into(),
            short_message: short_message.into(),
            full_message: None,
            timestamp: None,
            level: None,
            extra: BTreeMap::new(),
        }
    }

    /// A message carrying a fresh random nonce in [`NONCE_FIELD`], stamped with the current time.
    pub fn with_nonce(host: impl Into<String>, short_message: impl Into<String>) -> Self {
        let nonce = format!("{:032x}", rand::random::<u128>());
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as f64 / 1000.0)
            .unwrap_or_default();
        GelfMessage {
            timestamp: Some(now),
            ..GelfMessage::new(host, short_message)
        }
        .extra_field(NONCE_FIELD, nonce)
    }

    pub fn extra_field(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extra.insert(key.into(), value.into());
        self
    }

    pub fn nonce(&self) -> Option<&str> {
        self.extra.get(NONCE_FIELD).and_then(Value::as_str)
    }

    pub fn validate(&self) -> Result<(), GelfError> {
        if self.host.trim().is_empty() {
            return Err(GelfError::EmptyHost);
        }
        if self.short_message.trim().is_empty() {
            return Err(GelfError::EmptyShortMessage);
        }
        if let Some(level) = self.level.filter(|l| *l > 7) {
            return Err(GelfError::Level(level));
        }
        if let Some(t) = self.timestamp.filter(|t| !t.is_finite() || *t < 0.0) {
            return Err(GelfError::Timestamp(t));
        }
        for (key, value) in &self.extra {
            let reason = if !key.starts_with('_') {
                Some("must start with an underscore")
            } else if key == "_id" {
                Some("is reserved")
            } else if key.len() == 1 {
                Some("needs a name after the underscore")
            } else if !key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
            {
                Some("may hold only letters, digits, '_', '.' and '-'")
            } else if !(value.is_string() || value.is_number()) {
                Some("must have a string or number value")
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(GelfError::Field {
                    key: key.clone(),
                    reason,
                });
            }
        }
        Ok(())
    }

    /// The GELF document. Call [`GelfMessage::validate`] first: this does not.
    pub fn to_json(&self) -> Value {
        let mut doc: Map<String, Value> = self
            .extra
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        doc.insert("version".into(), VERSION.into());
        doc.insert("host".into(), self.host.clone().into());
        doc.insert("short_message".into(), self.short_message.clone().into());
        if let Some(full) = &self.full_message {
            doc.insert("full_message".into(), full.clone().into());
        }
        if let Some(t) = self.timestamp {
            doc.insert("timestamp".into(), t.into());
        }
        if let Some(level) = self.level {
            doc.insert("level".into(), level.into());
        }
        Value::Object(doc)
    }

    /// The validated, encoded payload, before any chunking.
    pub fn payload(&self, encoding: Encoding) -> Result<Vec<u8>, GelfError> {
        self.validate()?;
        let json = serde_json::to_vec(&self.to_json()).map_err(std::io::Error::other)?;
        Ok(match encoding {
            Encoding::Plain => json,
            Encoding::Gzip => {
                let mut e = GzEncoder::new(Vec::new(), Compression::default());
                e.write_all(&json)?;
                e.finish()?
            }
            Encoding::Zlib => {
                let mut e = ZlibEncoder::new(Vec::new(), Compression::default());
                e.write_all(&json)?;
                e.finish()?
            }
        })
    }

    /// The datagrams to send: the payload itself when it fits in `max_chunk_payload` bytes,
    /// else chunks of at most `max_chunk_payload` payload bytes each (plus the header).
    pub fn datagrams(
        &self,
        encoding: Encoding,
        max_chunk_payload: usize,
        message_id: [u8; 8],
    ) -> Result<Vec<Vec<u8>>, GelfError> {
        chunk(&self.payload(encoding)?, max_chunk_payload, message_id)
    }
}

/// Cut `payload` into GELF chunks (or leave it whole when it fits one datagram).
pub fn chunk(
    payload: &[u8],
    max_chunk_payload: usize,
    message_id: [u8; 8],
) -> Result<Vec<Vec<u8>>, GelfError> {
    if max_chunk_payload == 0 {
        return Err(GelfError::ZeroChunkSize);
    }
    if payload.len() <= max_chunk_payload {
        return Ok(vec![payload.to_vec()]);
    }
    let needed = payload.len().div_ceil(max_chunk_payload);
    if needed > MAX_CHUNKS {
        return Err(GelfError::TooManyChunks {
            payload: payload.len(),
            chunk_size: max_chunk_payload,
            needed,
        });
    }
    Ok(payload
        .chunks(max_chunk_payload)
        .enumerate()
        .map(|(seq, data)| {
            let mut datagram = Vec::with_capacity(CHUNK_HEADER_LEN + data.len());
            datagram.extend_from_slice(&CHUNK_MAGIC);
            datagram.extend_from_slice(&message_id);
            // Both fit: needed <= 128.
            datagram.push(seq as u8);
            datagram.push(needed as u8);
            datagram.extend_from_slice(data);
            datagram
        })
        .collect())
}

/// A message id unique enough for the receiver's reassembly window.
pub fn random_message_id() -> [u8; 8] {
    rand::random()
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::{GzDecoder, ZlibDecoder};
    use proptest::prelude::*;
    use std::io::Read;

    fn message() -> GelfMessage {
        GelfMessage {
            full_message: Some("the full text".into()),
            timestamp: Some(1764581092.125),
            level: Some(6),
            ..GelfMessage::new("node-1", "probe")
        }
        .extra_field("_run", "r-42")
        .extra_field("_count", 3)
    }

    fn decode(payload: &[u8], encoding: Encoding) -> Value {
        let mut json = Vec::new();
        match encoding {
            Encoding::Plain => json.extend_from_slice(payload),
            Encoding::Gzip => {
                GzDecoder::new(payload).read_to_end(&mut json).unwrap();
            }
            Encoding::Zlib => {
                ZlibDecoder::new(payload).read_to_end(&mut json).unwrap();
            }
        }
        serde_json::from_slice(&json).unwrap()
    }

    #[test]
    fn the_document_has_the_standard_fields() {
        let doc = message().to_json();
        assert_eq!(doc["version"], "1.1");
        assert_eq!(doc["host"], "node-1");
        assert_eq!(doc["short_message"], "probe");
        assert_eq!(doc["full_message"], "the full text");
        assert_eq!(doc["timestamp"], 1764581092.125);
        assert_eq!(doc["level"], 6);
        assert_eq!(doc["_run"], "r-42");
        assert_eq!(doc["_count"], 3);
        assert!(GelfMessage::new("h", "m").to_json().get("level").is_none());
    }

    #[test]
    fn compressed_payloads_carry_their_magic() {
        let m = message();
        assert_eq!(m.payload(Encoding::Plain).unwrap()[0], b'{');
        assert_eq!(&m.payload(Encoding::Gzip).unwrap()[..2], &[0x1f, 0x8b]);
        let zlib = m.payload(Encoding::Zlib).unwrap();
        assert_eq!(zlib[0], 0x78);
        assert_eq!(u16::from_be_bytes([zlib[0], zlib[1]]) % 31, 0);
        for e in Encoding::ALL {
            assert_eq!(
                decode(&m.payload(e).unwrap(), e),
                m.to_json(),
                "{}",
                e.as_str()
            );
        }
    }

    #[test]
    fn invalid_messages_are_refused() {
        let bad = |m: GelfMessage| m.payload(Encoding::Plain).unwrap_err().to_string();
        assert_eq!(bad(GelfMessage::new("", "m")), "host is empty");
        assert_eq!(bad(GelfMessage::new("h", " ")), "short_message is empty");
        assert!(bad(GelfMessage {
            level: Some(8),
            ..message()
        })
        .contains("level 8"));
        assert!(bad(GelfMessage {
            timestamp: Some(-1.0),
            ..message()
        })
        .contains("timestamp"));
        assert!(bad(GelfMessage {
            timestamp: Some(f64::NAN),
            ..message()
        })
        .contains("timestamp"));
        assert_eq!(
            bad(message().extra_field("_id", "x")),
            "additional field \"_id\" is reserved"
        );
        assert!(bad(message().extra_field("run", "x")).contains("underscore"));
        assert!(bad(message().extra_field("_", "x")).contains("name after"));
        assert!(bad(message().extra_field("_a b", "x")).contains("only letters"));
        assert!(bad(message().extra_field("_ü", "x")).contains("only letters"));
        assert!(
            bad(message().extra_field("_x", serde_json::json!([1]))).contains("string or number")
        );
        assert!(message().extra_field("_a.b-c_D9", "x").validate().is_ok());
    }

    #[test]
    fn a_small_message_is_one_datagram() {
        let m = message();
        let d = m
            .datagrams(Encoding::Plain, WAN_CHUNK_SIZE, [7; 8])
            .unwrap();
        assert_eq!(d, vec![m.payload(Encoding::Plain).unwrap()]);
    }

    #[test]
    fn a_large_message_is_chunked_and_129_chunks_are_refused() {
        let payload: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let chunks = chunk(&payload, 8, [1, 2, 3, 4, 5, 6, 7, 8]).unwrap();
        assert_eq!(chunks.len(), 125);
        assert_eq!(
            &chunks[3][..12],
            &[0x1e, 0x0f, 1, 2, 3, 4, 5, 6, 7, 8, 3, 125]
        );
        assert_eq!(chunk(&[0; 1024], 8, [0; 8]).unwrap().len(), 128);
        let err = chunk(&[0; 1025], 8, [0; 8]).unwrap_err();
        assert!(
            matches!(err, GelfError::TooManyChunks { needed: 129, .. }),
            "{err}"
        );
        assert!(matches!(
            chunk(&payload, 0, [0; 8]),
            Err(GelfError::ZeroChunkSize)
        ));
    }

    #[test]
    fn nonces_are_unique_and_findable() {
        let a = GelfMessage::with_nonce("node-1", "probe");
        let b = GelfMessage::with_nonce("node-1", "probe");
        assert_eq!(a.nonce().map(str::len), Some(32));
        assert_ne!(a.nonce(), b.nonce());
        assert!(a.validate().is_ok());
        assert!(a.timestamp.unwrap() > 1.7e9);
        assert_eq!(a.to_json()[NONCE_FIELD], a.nonce().unwrap());
    }

    fn encoding() -> impl Strategy<Value = Encoding> {
        prop::sample::select(Encoding::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn chunks_reassemble_to_the_payload(
            payload in prop::collection::vec(any::<u8>(), 0..4000),
            size in 1usize..600,
            id in any::<[u8; 8]>(),
        ) {
            let needed = payload.len().div_ceil(size);
            match chunk(&payload, size, id) {
                Ok(chunks) if payload.len() <= size => prop_assert_eq!(chunks, vec![payload]),
                Ok(chunks) => {
                    prop_assert_eq!(chunks.len(), needed);
                    prop_assert!(needed <= MAX_CHUNKS);
                    let mut joined = Vec::new();
                    for (i, c) in chunks.iter().enumerate() {
                        prop_assert_eq!(&c[..2], &CHUNK_MAGIC);
                        prop_assert_eq!(&c[2..10], &id);
                        prop_assert_eq!(c[10] as usize, i);
                        prop_assert_eq!(c[11] as usize, needed);
                        prop_assert!(c.len() - CHUNK_HEADER_LEN <= size);
                        prop_assert!(c.len() > CHUNK_HEADER_LEN);
                        joined.extend_from_slice(&c[CHUNK_HEADER_LEN..]);
                    }
                    prop_assert_eq!(joined, payload);
                }
                Err(GelfError::TooManyChunks { needed: n, .. }) => {
                    prop_assert_eq!(n, needed);
                    prop_assert!(needed > MAX_CHUNKS);
                }
                Err(e) => prop_assert!(false, "unexpected error {}", e),
            }
        }

        #[test]
        fn messages_survive_encoding_and_chunking(
            short in "[ -~]{1,40}",
            full in proptest::option::of("\\PC{0,3000}"),
            level in proptest::option::of(0u8..8),
            extra in prop::collection::btree_map("_[a-zA-Z0-9_.-]{1,12}", "[ -~]{0,20}", 0..5),
            e in encoding(),
            size in 64usize..2000,
        ) {
            prop_assume!(!short.trim().is_empty() && !extra.contains_key("_id"));
            let mut m = GelfMessage { full_message: full, level, ..GelfMessage::new("node-2", short) };
            m.extra = extra.into_iter().map(|(k, v)| (k, Value::from(v))).collect();
            let payload = m.payload(e).unwrap();
            match m.datagrams(e, size, [9; 8]) {
                Ok(datagrams) => {
                    let joined: Vec<u8> = if datagrams.len() == 1 {
                        datagrams[0].clone()
                    } else {
                        datagrams.iter().flat_map(|d| d[CHUNK_HEADER_LEN..].to_vec()).collect()
                    };
                    prop_assert_eq!(&joined, &payload);
                    prop_assert_eq!(decode(&joined, e), m.to_json());
                }
                Err(GelfError::TooManyChunks { .. }) => prop_assert!(payload.len() > size * MAX_CHUNKS),
                Err(other) => prop_assert!(false, "unexpected error {}", other),
            }
        }

        #[test]
        fn field_names_are_checked_like_the_spec_says(key in "\\PC{0,12}") {
            // The spec's pattern, with Java's ASCII-only \w.
            let pattern = regex::Regex::new(r"^(?-u:[\w\.\-])*$").unwrap();
            let ok = key.starts_with('_') && key.len() > 1 && key != "_id" && pattern.is_match(&key);
            let m = GelfMessage::new("h", "m").extra_field(key, "v");
            prop_assert_eq!(m.validate().is_ok(), ok);
        }

        #[test]
        fn arbitrary_messages_never_panic(
            host in "\\PC{0,10}",
            short in "\\PC{0,10}",
            level in proptest::option::of(any::<u8>()),
            timestamp in proptest::option::of(any::<f64>()),
            e in encoding(),
            size in 0usize..64,
        ) {
            let m = GelfMessage { level, timestamp, ..GelfMessage::new(host, short) };
            let _ = m.datagrams(e, size, [0; 8]);
        }
    }
}
