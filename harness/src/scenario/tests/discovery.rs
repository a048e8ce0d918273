//! `discover` lists every scenario of a directory, including the ones that do not load.

use std::fs;
use std::path::Path;

use crate::scenario::{discover, ProviderKind};

fn write(dir: &Path, file: &str, text: &str) {
    let path = dir.join(file);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("acura-ha-discover-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

const GOOD: &str = "name: good\ndescription: loads\nprovider: qemu\nproduct: { archive: a.tar.gz }\nsteps:\n  - preflight\n  - checkpoint: one\n  - checkpoint: two\n";

#[test]
fn lists_loaded_and_broken_files_sorted_by_path() {
    let dir = scratch("mixed");
    write(&dir, "b-good.yaml", GOOD);
    write(&dir, "a-broken.yaml", "name: broken\nsteps: [preflite]\n");
    write(
        &dir,
        "nested/c.yml",
        &GOOD.replace("name: good", "name: nested"),
    );
    write(&dir, "notes.txt", "not a scenario");

    let summaries = discover(&dir);
    let files: Vec<_> = summaries
        .iter()
        .map(|s| s.file.strip_prefix(&dir).unwrap().to_owned())
        .collect();
    assert_eq!(
        files,
        [
            Path::new("a-broken.yaml"),
            Path::new("b-good.yaml"),
            Path::new("nested/c.yml")
        ]
    );

    let broken = &summaries[0];
    assert_eq!(broken.name, "a-broken");
    assert!(
        broken.error.as_deref().unwrap().starts_with("error: "),
        "{broken:?}"
    );
    assert_eq!(broken.steps, 0);

    let good = &summaries[1];
    assert_eq!(good.name, "good");
    assert_eq!(good.error, None);
    assert_eq!(good.provider, ProviderKind::Qemu);
    assert_eq!(format!("{:<8}|", good.provider), "qemu    |");
    assert_eq!(good.description.as_deref(), Some("loads"));
    assert_eq!(good.steps, 3);
    assert_eq!(good.checkpoints, ["one", "two"]);
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_name_used_twice_is_an_error_of_the_second_file() {
    let dir = scratch("twice");
    write(&dir, "a.yaml", GOOD);
    write(&dir, "b.yaml", GOOD);
    let summaries = discover(&dir);
    assert_eq!(summaries[0].error, None);
    let error = summaries[1].error.as_deref().unwrap();
    assert!(
        error.contains("scenario name `good` is already used by"),
        "{error}"
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_missing_directory_is_listed_not_ignored() {
    let dir = scratch("missing").join("absent");
    let summaries = discover(&dir);
    assert_eq!(summaries.len(), 1);
    assert!(summaries[0]
        .error
        .as_deref()
        .unwrap()
        .contains("cannot read directory"));
}
