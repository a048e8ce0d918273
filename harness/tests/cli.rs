//! The `acura-ha` binary as a user runs it, for what needs no topology.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// `--provider` may hand a scenario to a provider that cannot do its steps: the run refuses
/// it before making anything, as invalid input naming the step's line.
#[test]
fn a_provider_override_that_cannot_do_a_step_is_invalid_input() {
    let artifacts = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(["run", "scenarios/node-failure.yaml", "--provider", "static"])
        .arg("--artifacts")
        .arg(artifacts.path())
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    let line = std::fs::read_to_string(repo().join("scenarios/node-failure.yaml"))
        .unwrap()
        .lines()
        .position(|l| l.trim_start().starts_with("- fault"))
        .unwrap()
        + 1;
    assert!(
        text.contains(&format!(
            "scenarios/node-failure.yaml:{line}: step `fault`: provider `static`: this provider cannot power off hosts"
        )),
        "{text}"
    );
}

fn acura_ha(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo())
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("acura-ha runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A site's bad inventory, and what is not a bundle, are invalid input naming the file (and
/// line), before anything is contacted or run.
#[test]
fn a_bad_inventory_or_bundle_is_invalid_input_at_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("ha_env_file");
    std::fs::write(
        &inventory,
        "# the site\nmaster1 ansible_ssh_host=10.0.0.1\nmaster2 ansible_ssh_host=10.0.0.300\n",
    )
    .unwrap();
    let key = dir.path().join("id");
    std::fs::write(&key, "not a key").unwrap();
    let artifacts = dir.path().join("artifacts").display().to_string();
    let inv = inventory.display().to_string();
    let (code, text) = acura_ha(&[
        "check",
        "--inventory",
        &inv,
        "--lb",
        "10.0.0.10",
        "--identity",
        &key.display().to_string(),
        "--artifacts",
        &artifacts,
    ]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(&format!(
            "{inv}:3: field `ansible_ssh_host`: `10.0.0.300` is not an IPv4 address"
        )),
        "{text}"
    );
    let (code, text) = acura_ha(&["check", "--inventory", &inv, "--artifacts", &artifacts]);
    assert_eq!(code, Some(2), "--lb is required with --inventory: {text}");

    let notes = dir.path().join("notes.tar.gz");
    std::fs::write(&notes, "just notes\n").unwrap();
    let notes = notes.display().to_string();
    for command in ["analyze", "reproduce"] {
        let (code, text) = acura_ha(&[command, &notes, "--artifacts", &artifacts]);
        assert_eq!(code, Some(2), "{command}: {text}");
        assert!(
            text.contains(&format!("{notes}: not an acura-ha bundle")),
            "{command}: {text}"
        );
    }
}

/// `acura-ha plan | head -1`: a reader that has gone away ends the command quietly (exit 0),
/// never a panic. The pipe's reading end is closed before the command writes anything, so
/// every write meets the closed pipe.
#[test]
fn a_closed_pipe_ends_the_output_quietly() {
    for args in [&["plan", "scenarios/lifecycle.yaml"][..], &["list"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
            .current_dir(repo())
            .args(args)
            .stdin(std::process::Stdio::null())
            .stdout(writer)
            .output()
            .expect("acura-ha runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}

/// A scenario that is not there is invalid input (exit 2), for `run` and `validate` alike; and
/// the default scenarios are found from any folder of the repository.
#[test]
fn a_missing_scenario_is_invalid_input_and_defaults_resolve_from_the_root() {
    let artifacts = tempfile::tempdir().unwrap();
    let artifacts = artifacts.path().display().to_string();
    let (code, text) = acura_ha(&["run", "no-such.yaml", "--artifacts", &artifacts]);
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("no-such.yaml: cannot read the scenario"),
        "{text}"
    );
    let (code, text) = acura_ha(&["validate", "scenarios/lifecycle.yaml", "no-such.yaml"]);
    assert_eq!(code, Some(2), "{text}");
    let out = Command::new(env!("CARGO_BIN_EXE_acura-ha"))
        .current_dir(repo().join("harness/src"))
        .arg("list")
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{listed}");
    assert!(listed.contains("scenarios/lifecycle.yaml"), "{listed}");
}

fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_acura-ha"));
    cmd.current_dir(repo())
        .args(args)
        .stdin(std::process::Stdio::null());
    cmd.env_remove("NO_COLOR");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().expect("acura-ha runs")
}

/// `--color always|never|auto`: escapes with `always`, none with `never`, and with `auto` on a
/// terminal (a pseudo-terminal from `script`) escapes unless NO_COLOR is set.
#[test]
fn colour_follows_the_flag_and_no_color() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&bad, "name: bad\nsteps: [nonsense]\n").unwrap();
    let bad = bad.to_str().unwrap();
    let escape = "\u{1b}[";
    let out = run_with_env(&["--color", "always", "validate", bad], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(escape));
    let out = run_with_env(&["--color", "never", "validate", bad], &[]);
    assert!(!String::from_utf8_lossy(&out.stderr).contains(escape));
    let out = run_with_env(&["validate", bad], &[]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(escape),
        "auto into a pipe: no colour"
    );
    let on_a_terminal = |no_color: Option<&str>| {
        let line = format!("{} validate {bad}", env!("CARGO_BIN_EXE_acura-ha"));
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .env_remove("NO_COLOR");
        if let Some(v) = no_color {
            cmd.env("NO_COLOR", v);
        }
        let out = cmd.output().expect("script (util-linux) runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let plain = on_a_terminal(Some("1"));
    assert!(
        plain.contains("error:") && !plain.contains(escape),
        "{plain}"
    );
    let coloured = on_a_terminal(None);
    assert!(coloured.contains(escape), "{coloured}");
}

/// `-v` repeats, `-q` and `-v` exclude each other, and every environment variable the tool
/// reads is named in `--help`: the names the sources read are held to the help's list.
#[test]
fn verbosity_flags_and_the_environment_in_help() {
    let (code, _) = acura_ha(&["-vv", "list"]);
    assert_eq!(code, Some(0));
    let (code, text) = acura_ha(&["-q", "-v", "list"]);
    assert_eq!(code, Some(2), "{text}");
    let out = run_with_env(&["--help"], &[]);
    let help = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(out.status.code(), Some(0));
    let mut read = std::collections::BTreeSet::new();
    let name = regex::Regex::new(r#""((?:ACURA_HA|XDG)_[A-Z_]+[A-Z])""#).unwrap();
    let mut files = Vec::new();
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    walk(&repo().join("harness/src"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        // Test code sets variables of its own; only what the tool reads counts.
        let text = text.split("#[cfg(test)]").next().unwrap();
        for c in name.captures_iter(text) {
            read.insert(c[1].to_owned());
        }
    }
    read.remove("ACURA_HA_PROBE"); // a heredoc's delimiter, not a variable
    read.insert("NO_COLOR".into());
    assert!(read.len() >= 10, "{read:?}");
    for var in &read {
        assert!(help.contains(var), "--help does not name {var}:\n{help}");
    }
}

/// Completions and the manual page come from the same definitions as `--help`.
#[test]
fn completions_and_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = run_with_env(&["completions", shell], &[]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.contains("acura-ha") && text.contains("diff"),
            "{shell}: {text}"
        );
    }
    let (code, _) = acura_ha(&["completions", "tcsh"]);
    assert_eq!(code, Some(2));
    let out = run_with_env(&["man"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8_lossy(&out.stdout);
    assert!(man.starts_with(".ie") || man.contains(".TH"), "{man}");
    assert!(
        man.contains("acura\\-ha") && man.contains("ACURA_HA_LOG"),
        "{man}"
    );
}
