//! The datagrams under `fixtures/outputs/gelf/` are what this encoder sends; the stand-in's
//! tests decode them, which is how the two products meet without sharing code. This test keeps
//! the files true to the encoder: run with `UPDATE_FIXTURES=1` to rewrite them.

use std::io::Read;
use std::path::{Path, PathBuf};

use acura_ha::gelf::{
    Encoding, GelfMessage, CHUNK_HEADER_LEN, CHUNK_MAGIC, MAX_CHUNKS, NONCE_FIELD, WAN_CHUNK_SIZE,
};
use flate2::read::{GzDecoder, ZlibDecoder};
use serde_json::Value;

struct Fixture {
    name: &'static str,
    message: GelfMessage,
    encoding: Encoding,
    chunk_size: usize,
    id: [u8; 8],
}

/// Text that compresses poorly, so that gzip still needs several chunks.
fn noise(len: usize, mut state: u64) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ";
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            ALPHABET[(state % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

fn probe(nonce: &str, full_message: Option<String>) -> GelfMessage {
    GelfMessage {
        full_message,
        timestamp: Some(1764581092.125),
        level: Some(6),
        ..GelfMessage::new("node-1", "acura-ha log path probe")
    }
    .extra_field(NONCE_FIELD, nonce)
    .extra_field("_run", "fixture")
    .extra_field("_attempt", 1)
}

fn fixtures() -> Vec<Fixture> {
    let exact_128 = probe("8d2c59e4a1b34f07a6c0e9f1d2b3a4c5", Some(noise(9000, 7)));
    let len = exact_128.payload(Encoding::Plain).unwrap().len();
    vec![
        Fixture {
            name: "small-plain",
            message: probe("0b6f3c1e9d2a4b58a7e6c5d4b3a29180", None),
            encoding: Encoding::Plain,
            chunk_size: WAN_CHUNK_SIZE,
            id: [0; 8],
        },
        Fixture {
            name: "small-gzip",
            message: probe("1c7a4d2f0e3b5c69b8f7d6e5c4b3a291", None),
            encoding: Encoding::Gzip,
            chunk_size: WAN_CHUNK_SIZE,
            id: [0; 8],
        },
        Fixture {
            name: "small-zlib",
            message: probe("2d8b5e301f4c6d7ac908e7f6d5c4b3a2", None),
            encoding: Encoding::Zlib,
            chunk_size: WAN_CHUNK_SIZE,
            id: [0; 8],
        },
        Fixture {
            name: "chunked-plain",
            message: probe("3e9c6f41205d7e8bda19f807e6d5c4b3", Some(noise(6000, 1))),
            encoding: Encoding::Plain,
            chunk_size: WAN_CHUNK_SIZE,
            id: *b"acura-p1",
        },
        Fixture {
            name: "chunked-gzip",
            message: probe("4fad7052316e8f9ceb2a0918f7e6d5c4", Some(noise(20000, 2))),
            encoding: Encoding::Gzip,
            chunk_size: WAN_CHUNK_SIZE,
            id: *b"acura-g1",
        },
        Fixture {
            name: "chunked-zlib",
            message: probe("50be8163427f90adfc3b1a2908f7e6d5", Some(noise(12000, 3))),
            encoding: Encoding::Zlib,
            chunk_size: WAN_CHUNK_SIZE,
            id: *b"acura-z1",
        },
        Fixture {
            name: "chunked-128-plain",
            message: exact_128,
            encoding: Encoding::Plain,
            chunk_size: len.div_ceil(MAX_CHUNKS),
            id: *b"acura-mx",
        },
    ]
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/outputs/gelf")
}

fn datagram_path(name: &str, seq: usize) -> PathBuf {
    dir().join(format!("{name}.{seq:03}.bin"))
}

fn stored_datagrams(name: &str) -> Vec<Vec<u8>> {
    (0..)
        .map(|seq| datagram_path(name, seq))
        .take_while(|p| p.exists())
        .map(|p| std::fs::read(p).unwrap())
        .collect()
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

fn write(f: &Fixture, datagrams: &[Vec<u8>]) {
    std::fs::create_dir_all(dir()).unwrap();
    for stale in 0..=MAX_CHUNKS {
        let _ = std::fs::remove_file(datagram_path(f.name, stale));
    }
    for (seq, d) in datagrams.iter().enumerate() {
        std::fs::write(datagram_path(f.name, seq), d).unwrap();
    }
    let json = serde_json::to_string_pretty(&f.message.to_json()).unwrap() + "\n";
    std::fs::write(dir().join(format!("{}.json", f.name)), json).unwrap();
}

#[test]
fn stored_datagrams_are_what_the_encoder_sends() {
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    for f in fixtures() {
        let fresh = f.message.datagrams(f.encoding, f.chunk_size, f.id).unwrap();
        if update {
            write(&f, &fresh);
        }
        let name = f.name;
        let hint = "run with UPDATE_FIXTURES=1 to rewrite the fixtures";
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap(),
        )
        .unwrap();
        assert_eq!(expected, f.message.to_json(), "{name}.json: {hint}");

        let stored = stored_datagrams(name);
        assert_eq!(stored.len(), fresh.len(), "{name}: datagram count; {hint}");
        let payload: Vec<u8> = if stored.len() == 1 {
            assert_ne!(&stored[0][..2], &CHUNK_MAGIC, "{name}");
            stored[0].clone()
        } else {
            assert!(stored.len() <= MAX_CHUNKS);
            for (seq, (s, new)) in stored.iter().zip(&fresh).enumerate() {
                assert_eq!(
                    s[..CHUNK_HEADER_LEN],
                    new[..CHUNK_HEADER_LEN],
                    "{name} #{seq} header"
                );
                assert!(
                    s.len() <= CHUNK_HEADER_LEN + f.chunk_size,
                    "{name} #{seq} size"
                );
            }
            stored
                .iter()
                .flat_map(|d| d[CHUNK_HEADER_LEN..].to_vec())
                .collect()
        };
        // Compressed bytes may differ between compressor versions; what they decode to may not.
        assert_eq!(decode(&payload, f.encoding), expected, "{name}: {hint}");
        if f.encoding == Encoding::Plain {
            assert_eq!(stored, fresh, "{name}: {hint}");
        }
    }
}

#[test]
fn the_set_covers_every_shape_the_stand_in_must_accept() {
    let fixtures = fixtures();
    for e in Encoding::ALL {
        for chunked in [false, true] {
            assert!(
                fixtures.iter().any(|f| {
                    let n = f
                        .message
                        .datagrams(f.encoding, f.chunk_size, f.id)
                        .unwrap()
                        .len();
                    f.encoding == e && (n > 1) == chunked
                }),
                "no {} fixture with chunked={chunked}",
                e.as_str()
            );
        }
    }
    let max = fixtures
        .iter()
        .find(|f| f.name == "chunked-128-plain")
        .unwrap();
    let n = max
        .message
        .datagrams(max.encoding, max.chunk_size, max.id)
        .unwrap()
        .len();
    assert_eq!(n, MAX_CHUNKS);
}
