//! The build's apt sources come from the host's own apt configuration: the entries of
//! `/etc/apt/sources.list` and `/etc/apt/sources.list.d/` (one-line and deb822 alike) that
//! serve the image's suite, so an image is built from whatever mirror the host already uses.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// One `deb` source for the suite, as a deb822 stanza's fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceEntry {
    pub uris: Vec<String>,
    pub suites: Vec<String>,
    pub components: Vec<String>,
    /// Any other field (`Signed-By`, `Architectures`, …), in deb822 spelling.
    pub options: Vec<(String, String)>,
}

/// The files apt itself reads, in apt's order.
pub fn host_source_files(apt_etc: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    let main = apt_etc.join("sources.list");
    if main.is_file() {
        files.push(main);
    }
    let dir = apt_etc.join("sources.list.d");
    match std::fs::read_dir(&dir) {
        Ok(entries) => {
            let mut parts = Vec::new();
            for entry in entries {
                let path = entry.map_err(|e| Error::io(&dir, e))?.path();
                let ext = path.extension().and_then(|e| e.to_str());
                if matches!(ext, Some("list" | "sources")) && path.is_file() {
                    parts.push(path);
                }
            }
            parts.sort();
            files.extend(parts);
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(Error::io(&dir, e)),
    }
    Ok(files)
}

/// The host's entries that serve `suite` (the suite itself and `<suite>-updates`,
/// `<suite>-security`, `<suite>/updates` …), read from `files`.
pub fn host_entries_for_suite(files: &[PathBuf], suite: &str) -> Result<Vec<SourceEntry>> {
    let mut entries = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        let parsed = if path.extension().is_some_and(|e| e == "sources") {
            parse_deb822(&text)
        } else {
            parse_one_line(&text)
        };
        entries.extend(parsed.into_iter().filter_map(|e| e.for_suite(suite)));
    }
    Ok(entries)
}

impl SourceEntry {
    /// This entry cut down to the suites that belong to `suite`, if any do.
    fn for_suite(mut self, suite: &str) -> Option<SourceEntry> {
        self.suites.retain(|s| belongs_to_suite(s, suite));
        (!self.suites.is_empty() && !self.uris.is_empty()).then_some(self)
    }
}

fn belongs_to_suite(candidate: &str, suite: &str) -> bool {
    candidate == suite
        || candidate
            .strip_prefix(suite)
            .is_some_and(|rest| rest.starts_with('-') || rest.starts_with('/'))
}

/// Stanzas of type `deb` that are not `Enabled: no`.
pub fn parse_deb822(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut flush = |fields: &mut Vec<(String, String)>| {
        if let Some(entry) = entry_from_fields(fields) {
            entries.push(entry);
        }
        fields.clear();
    };
    for line in text.lines() {
        if line.starts_with('#') {
            continue;
        }
        if line.trim().is_empty() {
            flush(&mut fields);
        } else if line.starts_with([' ', '\t']) {
            // A continuation line (multi-line fields such as an inline Signed-By key).
            if let Some((_, value)) = fields.last_mut() {
                value.push('\n');
                value.push_str(line);
            }
        } else if let Some((name, value)) = line.split_once(':') {
            fields.push((name.trim().to_owned(), value.trim().to_owned()));
        }
    }
    flush(&mut fields);
    entries
}

fn entry_from_fields(fields: &[(String, String)]) -> Option<SourceEntry> {
    let get = |name: &str| {
        fields
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let words = |name: &str| -> Vec<String> {
        get(name)
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    if !words("Types").iter().any(|t| t == "deb") {
        return None;
    }
    if get("Enabled").is_some_and(|v| v.eq_ignore_ascii_case("no")) {
        return None;
    }
    let options = fields
        .iter()
        .filter(|(n, _)| {
            !["Types", "URIs", "Suites", "Components", "Enabled"]
                .iter()
                .any(|known| n.eq_ignore_ascii_case(known))
        })
        .cloned()
        .collect();
    Some(SourceEntry {
        uris: words("URIs"),
        suites: words("Suites"),
        components: words("Components"),
        options,
    })
}

/// `deb [opt=value …] URI SUITE [COMPONENT …]` lines.
pub fn parse_one_line(text: &str) -> Vec<SourceEntry> {
    let mut entries = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or_default().trim();
        let Some(rest) = line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut options = Vec::new();
        if let Some(bracketed) = rest.strip_prefix('[') {
            let Some((inside, after)) = bracketed.split_once(']') else {
                continue;
            };
            for option in inside.split_whitespace() {
                if let Some((name, value)) = option.split_once('=') {
                    options.push((deb822_option_name(name), value.replace(',', " ")));
                }
            }
            rest = after;
        }
        let mut words = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (words.next(), words.next()) else {
            continue;
        };
        entries.push(SourceEntry {
            uris: vec![uri.to_owned()],
            suites: vec![suite.to_owned()],
            components: words.map(str::to_owned).collect(),
            options,
        });
    }
    entries
}

/// One-line option names in deb822 spelling (`signed-by` → `Signed-By`, `arch` → `Architectures`).
fn deb822_option_name(name: &str) -> String {
    match name {
        "arch" => "Architectures".to_owned(),
        "lang" => "Languages".to_owned(),
        "target" => "Targets".to_owned(),
        "pdiffs" => "PDiffs".to_owned(),
        _ => name
            .split('-')
            .map(|word| {
                let mut chars = word.chars();
                match chars.next() {
                    Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
                    None => String::new(),
                }
            })
            .collect::<Vec<_>>()
            .join("-"),
    }
}

/// The entries as one deb822 file, for mmdebstrap to paste into the image's apt sources.
pub fn render_deb822(entries: &[SourceEntry]) -> String {
    let mut out = String::new();
    for entry in entries {
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str("Types: deb\n");
        out.push_str(&format!("URIs: {}\n", entry.uris.join(" ")));
        out.push_str(&format!("Suites: {}\n", entry.suites.join(" ")));
        if !entry.components.is_empty() {
            out.push_str(&format!("Components: {}\n", entry.components.join(" ")));
        }
        for (name, value) in &entry.options {
            out.push_str(&format!("{name}: {value}\n"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEB822: &str = "\
Types: deb
# a snapshot of the archive
URIs: http://mirror.invalid/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.invalid/debian-security
Suites: bookworm-security
Components: main contrib

Types: deb
URIs: http://mirror.invalid/debian
Suites: trixie
Components: main

Types: deb
URIs: http://mirror.invalid/debian
Suites: bookworm-backports
Components: main
Enabled: no

Types: deb-src
URIs: http://mirror.invalid/debian
Suites: bookworm
Components: main
";

    #[test]
    fn deb822_keeps_only_enabled_deb_entries_of_the_suite() {
        let entries: Vec<_> = parse_deb822(DEB822)
            .into_iter()
            .filter_map(|e| e.for_suite("bookworm"))
            .collect();
        assert_eq!(entries.len(), 2, "{entries:#?}");
        assert_eq!(entries[0].suites, ["bookworm", "bookworm-updates"]);
        assert_eq!(
            entries[0].options,
            [(
                "Signed-By".to_owned(),
                "/usr/share/keyrings/debian-archive-keyring.gpg".to_owned()
            )]
        );
        assert_eq!(entries[1].suites, ["bookworm-security"]);
        assert_eq!(entries[1].components, ["main", "contrib"]);
    }

    #[test]
    fn one_line_entries_with_options() {
        let text = "\
# deb http://mirror.invalid/debian bookworm main
deb [arch=amd64 signed-by=/etc/apt/keyrings/a.gpg] http://mirror.invalid/debian bookworm main non-free-firmware
deb http://mirror.invalid/debian-security bookworm/updates main
deb-src http://mirror.invalid/debian bookworm main
deb https://vendor.invalid/apt cloud-sdk-bookworm main
deb http://mirror.invalid/ubuntu noble main
";
        let entries: Vec<_> = parse_one_line(text)
            .into_iter()
            .filter_map(|e| e.for_suite("bookworm"))
            .collect();
        assert_eq!(entries.len(), 2, "{entries:#?}");
        assert_eq!(entries[0].components, ["main", "non-free-firmware"]);
        assert_eq!(
            entries[0].options,
            [
                ("Architectures".to_owned(), "amd64".to_owned()),
                ("Signed-By".to_owned(), "/etc/apt/keyrings/a.gpg".to_owned()),
            ]
        );
        assert_eq!(entries[1].suites, ["bookworm/updates"]);
    }

    #[test]
    fn rendered_entries_parse_back_the_same() {
        let entries: Vec<_> = parse_deb822(DEB822)
            .into_iter()
            .filter_map(|e| e.for_suite("bookworm"))
            .collect();
        let rendered = render_deb822(&entries);
        assert_eq!(parse_deb822(&rendered), entries);
    }

    #[test]
    fn host_files_are_the_ones_apt_reads() {
        let dir = tempfile::tempdir().unwrap();
        let etc = dir.path();
        std::fs::create_dir_all(etc.join("sources.list.d")).unwrap();
        std::fs::write(etc.join("sources.list"), "").unwrap();
        for name in ["b.sources", "a.list", "c.list.disabled", "d.sources.save"] {
            std::fs::write(etc.join("sources.list.d").join(name), "").unwrap();
        }
        let names: Vec<_> = host_source_files(etc)
            .unwrap()
            .iter()
            .map(|p| p.strip_prefix(etc).unwrap().display().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "sources.list",
                "sources.list.d/a.list",
                "sources.list.d/b.sources"
            ]
        );
    }
}
