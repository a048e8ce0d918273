//! The NoCloud seed: a small ISO 9660 image labelled `cidata` holding `meta-data`,
//! `user-data` and `network-config` in its root directory.
//!
//! Plain ISO 9660 (no Rock Ridge, no Joliet) is all cloud-init needs: Linux shows the names
//! `USER-DATA.;1` as `user-data`. Names are stored upper case, as the standard wants, with
//! the `.;1` suffix every reader knows to drop.

const SECTOR: usize = 2048;
/// System area (16 sectors), primary volume descriptor, terminator, two path tables.
const PVD_SECTOR: usize = 16;
const TERMINATOR_SECTOR: usize = 17;
const L_PATH_TABLE_SECTOR: usize = 18;
const M_PATH_TABLE_SECTOR: usize = 19;
const ROOT_SECTOR: usize = 20;
/// The volume label cloud-init looks for.
pub const VOLUME_LABEL: &str = "cidata";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SeedError {
    #[error("seed file name `{0}` is not 1-30 characters of A-Z, 0-9, `-`, `_` and one `.`")]
    BadName(String),
    #[error("seed file `{0}` appears twice")]
    Duplicate(String),
    #[error("seed file `{0}` is larger than 4 GiB")]
    TooLarge(String),
}

/// A file to put in the seed's root directory.
pub struct SeedFile<'a> {
    pub name: &'a str,
    pub contents: &'a [u8],
}

/// The identifier stored for `name`: upper case, with the version suffix.
fn identifier(name: &str) -> Result<String, SeedError> {
    let upper = name.to_ascii_uppercase();
    let valid = !upper.is_empty()
        && upper.len() <= 30
        && upper.matches('.').count() <= 1
        && !upper.starts_with('.')
        && upper
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || "-_.".contains(c));
    if !valid {
        return Err(SeedError::BadName(name.to_owned()));
    }
    Ok(if upper.contains('.') {
        format!("{upper};1")
    } else {
        format!("{upper}.;1")
    })
}

/// The seed image's bytes.
pub fn iso9660(files: &[SeedFile<'_>]) -> Result<Vec<u8>, SeedError> {
    let mut entries = Vec::with_capacity(files.len());
    for f in files {
        let id = identifier(f.name)?;
        if entries
            .iter()
            .any(|(other, _): &(String, &[u8])| *other == id)
        {
            return Err(SeedError::Duplicate(f.name.to_owned()));
        }
        if u32::try_from(f.contents.len()).is_err() {
            return Err(SeedError::TooLarge(f.name.to_owned()));
        }
        entries.push((id, f.contents));
    }
    // Directory records are sorted by identifier.
    entries.sort_by(|a, b| a.0.cmp(&b.0));

    // The root directory: ".", "..", then the files. A record never crosses a sector.
    let record_lengths: Vec<usize> = entries.iter().map(|(id, _)| record_len(id.len())).collect();
    let mut root_size = 0usize;
    for len in [34, 34].iter().chain(record_lengths.iter()) {
        if root_size % SECTOR + len > SECTOR {
            root_size = root_size.div_ceil(SECTOR) * SECTOR;
        }
        root_size += len;
    }
    let root_sectors = root_size.div_ceil(SECTOR);
    let root_size = root_sectors * SECTOR;

    let mut next = ROOT_SECTOR + root_sectors;
    let mut extents = Vec::with_capacity(entries.len());
    for (_, contents) in &entries {
        extents.push(next);
        next += contents.len().div_ceil(SECTOR).max(1);
    }
    let total_sectors = next;

    let mut image = vec![0u8; total_sectors * SECTOR];

    let root_record = directory_record(&[0], ROOT_SECTOR, root_size, true);
    let pvd = &mut image[PVD_SECTOR * SECTOR..(PVD_SECTOR + 1) * SECTOR];
    pvd[0] = 1;
    pvd[1..6].copy_from_slice(b"CD001");
    pvd[6] = 1;
    padded(&mut pvd[8..40], "LINUX");
    padded(&mut pvd[40..72], VOLUME_LABEL);
    both_u32(&mut pvd[80..88], total_sectors as u32);
    both_u16(&mut pvd[120..124], 1);
    both_u16(&mut pvd[124..128], 1);
    both_u16(&mut pvd[128..132], SECTOR as u16);
    both_u32(&mut pvd[132..140], PATH_TABLE_LEN as u32);
    pvd[140..144].copy_from_slice(&(L_PATH_TABLE_SECTOR as u32).to_le_bytes());
    pvd[148..152].copy_from_slice(&(M_PATH_TABLE_SECTOR as u32).to_be_bytes());
    pvd[156..190].copy_from_slice(&root_record);
    for range in [
        190..318,
        318..446,
        446..574,
        574..702,
        702..739,
        739..776,
        776..813,
    ] {
        padded(&mut pvd[range], "");
    }
    padded(&mut pvd[574..702], "ACURA-HA");
    // Creation, modification, expiration and effective dates: "not specified".
    for start in [813, 830, 847, 864] {
        pvd[start..start + 16].fill(b'0');
        pvd[start + 16] = 0;
    }
    pvd[881] = 1;

    let terminator = &mut image[TERMINATOR_SECTOR * SECTOR..];
    terminator[0] = 255;
    terminator[1..6].copy_from_slice(b"CD001");
    terminator[6] = 1;

    write_path_table(
        &mut image[L_PATH_TABLE_SECTOR * SECTOR..],
        u32::to_le_bytes,
        u16::to_le_bytes,
    );
    write_path_table(
        &mut image[M_PATH_TABLE_SECTOR * SECTOR..],
        u32::to_be_bytes,
        u16::to_be_bytes,
    );

    let mut records = vec![
        directory_record(&[0], ROOT_SECTOR, root_size, true),
        directory_record(&[1], ROOT_SECTOR, root_size, true),
    ];
    for ((id, contents), extent) in entries.iter().zip(&extents) {
        records.push(directory_record(
            id.as_bytes(),
            *extent,
            contents.len(),
            false,
        ));
    }
    let mut at = ROOT_SECTOR * SECTOR;
    for record in records {
        if at % SECTOR + record.len() > SECTOR {
            at = at.div_ceil(SECTOR) * SECTOR;
        }
        image[at..at + record.len()].copy_from_slice(&record);
        at += record.len();
    }

    for ((_, contents), extent) in entries.iter().zip(&extents) {
        let start = extent * SECTOR;
        image[start..start + contents.len()].copy_from_slice(contents);
    }
    Ok(image)
}

/// One entry (the root) of 8 + 1 bytes, padded to 10.
const PATH_TABLE_LEN: usize = 10;

fn write_path_table(out: &mut [u8], u32_bytes: fn(u32) -> [u8; 4], u16_bytes: fn(u16) -> [u8; 2]) {
    out[0] = 1; // identifier length
    out[1] = 0; // extended attribute record length
    out[2..6].copy_from_slice(&u32_bytes(ROOT_SECTOR as u32));
    out[6..8].copy_from_slice(&u16_bytes(1)); // parent: itself
    out[8] = 0; // the root's identifier
}

fn record_len(id_len: usize) -> usize {
    let len = 33 + id_len;
    len + len % 2
}

fn directory_record(id: &[u8], extent: usize, size: usize, directory: bool) -> Vec<u8> {
    let mut r = vec![0u8; record_len(id.len())];
    r[0] = r.len() as u8;
    both_u32(&mut r[2..10], extent as u32);
    both_u32(&mut r[10..18], size as u32);
    // Recording date left at 1900-00-00: the seed's files have no meaningful time.
    r[25] = if directory { 2 } else { 0 };
    both_u16(&mut r[28..32], 1);
    r[32] = id.len() as u8;
    r[33..33 + id.len()].copy_from_slice(id);
    r
}

fn padded(field: &mut [u8], text: &str) {
    field.fill(b' ');
    field[..text.len()].copy_from_slice(text.as_bytes());
}

fn both_u16(field: &mut [u8], v: u16) {
    field[..2].copy_from_slice(&v.to_le_bytes());
    field[2..4].copy_from_slice(&v.to_be_bytes());
}

fn both_u32(field: &mut [u8], v: u32) {
    field[..4].copy_from_slice(&v.to_le_bytes());
    field[4..8].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An independent reader of what [`iso9660`] writes: the volume label and the root
    /// directory's files, with names as Linux shows them.
    fn read_back(image: &[u8]) -> (String, Vec<(String, Vec<u8>)>) {
        let pvd = &image[PVD_SECTOR * SECTOR..];
        assert_eq!(pvd[0], 1);
        assert_eq!(&pvd[1..6], b"CD001");
        let label = String::from_utf8(pvd[40..72].to_vec())
            .unwrap()
            .trim_end()
            .to_owned();
        let blocks = u32::from_le_bytes(pvd[80..84].try_into().unwrap()) as usize;
        assert_eq!(
            blocks.to_be_bytes()[4..],
            pvd[84..88],
            "both-endian volume size"
        );
        assert_eq!(blocks * SECTOR, image.len());
        let root = &pvd[156..190];
        let root_extent = u32::from_le_bytes(root[2..6].try_into().unwrap()) as usize;
        let root_size = u32::from_le_bytes(root[10..14].try_into().unwrap()) as usize;
        let dir = &image[root_extent * SECTOR..root_extent * SECTOR + root_size];
        let mut files = Vec::new();
        let mut at = 0;
        while at < dir.len() {
            let len = dir[at] as usize;
            if len == 0 {
                at = (at / SECTOR + 1) * SECTOR;
                continue;
            }
            let r = &dir[at..at + len];
            let id = &r[33..33 + r[32] as usize];
            if r[25] & 2 == 0 {
                let extent = u32::from_le_bytes(r[2..6].try_into().unwrap()) as usize;
                let size = u32::from_be_bytes(r[14..18].try_into().unwrap()) as usize;
                let name = String::from_utf8(id.to_vec())
                    .unwrap()
                    .to_ascii_lowercase()
                    .trim_end_matches(";1")
                    .trim_end_matches('.')
                    .to_owned();
                files.push((
                    name,
                    image[extent * SECTOR..extent * SECTOR + size].to_vec(),
                ));
            }
            at += len;
        }
        (label, files)
    }

    fn sample() -> Vec<u8> {
        let user_data = b"#cloud-config\n{\"hostname\": \"node-1\"}\n".to_vec();
        let big = vec![b'x'; 5000];
        iso9660(&[
            SeedFile {
                name: "user-data",
                contents: &user_data,
            },
            SeedFile {
                name: "meta-data",
                contents: b"{\"instance-id\": \"run-1-node-1\"}\n",
            },
            SeedFile {
                name: "network-config",
                contents: &big,
            },
        ])
        .unwrap()
    }

    #[test]
    fn the_seed_reads_back_with_label_and_files() {
        let image = sample();
        let (label, files) = read_back(&image);
        assert_eq!(label, "cidata");
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["meta-data", "network-config", "user-data"]);
        assert_eq!(files[1].1.len(), 5000, "a file spanning sectors is whole");
        assert!(files[2].1.starts_with(b"#cloud-config\n"));
        assert_eq!(&image[TERMINATOR_SECTOR * SECTOR..][..6], b"\xffCD001");
    }

    #[test]
    fn many_files_spill_into_a_second_directory_sector() {
        let names: Vec<String> = (0..80).map(|i| format!("file-number-{i:03}")).collect();
        let files: Vec<SeedFile> = names
            .iter()
            .map(|n| SeedFile {
                name: n,
                contents: n.as_bytes(),
            })
            .collect();
        let image = iso9660(&files).unwrap();
        let (_, read) = read_back(&image);
        assert_eq!(read.len(), 80);
        assert!(read.iter().all(|(n, c)| n.as_bytes() == c.as_slice()));
    }

    #[test]
    fn bad_names_are_refused() {
        for name in ["", "has space", "two.dots.here", "../up", "ümlaut"] {
            let err = iso9660(&[SeedFile {
                name,
                contents: b"",
            }]);
            assert_eq!(err, Err(SeedError::BadName(name.into())), "{name}");
        }
        let dup = iso9660(&[
            SeedFile {
                name: "a",
                contents: b"",
            },
            SeedFile {
                name: "A",
                contents: b"",
            },
        ]);
        assert_eq!(dup, Err(SeedError::Duplicate("A".into())));
    }

    /// `isoinfo` (Debian's genisoimage) reads the image as any other ISO 9660 reader would.
    #[test]
    fn isoinfo_reads_the_seed_when_installed() {
        let Ok(probe) = std::process::Command::new("isoinfo")
            .arg("-version")
            .output()
        else {
            eprintln!("isoinfo is not installed (apt-get install genisoimage); skipped");
            return;
        };
        assert!(probe.status.success() || !probe.stdout.is_empty() || !probe.stderr.is_empty());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("seed.iso");
        std::fs::write(&path, sample()).unwrap();
        let info = std::process::Command::new("isoinfo")
            .arg("-d")
            .arg("-i")
            .arg(&path)
            .output()
            .unwrap();
        let info = String::from_utf8_lossy(&info.stdout);
        assert!(info.contains("Volume id: cidata"), "{info}");
        let listing = std::process::Command::new("isoinfo")
            .args(["-f", "-i"])
            .arg(&path)
            .output()
            .unwrap();
        let listing = String::from_utf8_lossy(&listing.stdout);
        assert!(listing.contains("/USER-DATA.;1"), "{listing}");
        let extracted = std::process::Command::new("isoinfo")
            .args(["-x", "/USER-DATA.;1", "-i"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(extracted.stdout.starts_with(b"#cloud-config\n"));
    }
}
