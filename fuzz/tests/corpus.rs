//! Replays the committed seed corpus (`corpus/<target>/`) and every crash input found so far
//! (`regressions/<target>/`) through its target, so that each crash stays fixed.

use std::fs;
use std::path::{Path, PathBuf};

use semper_fuzz::{SELECTED, TARGETS};

fn fuzz_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

#[test]
fn every_target_has_a_seed_corpus() {
    for (target, _) in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(target));
        assert!(!seeds.is_empty(), "fuzz/corpus/{target}/ is empty");
    }
}

#[test]
fn corpus_and_regressions_replay_without_a_failure() {
    for (target, run) in TARGETS {
        for kind in ["corpus", "regressions"] {
            for file in files(&fuzz_dir().join(kind).join(target)) {
                let bytes = fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
                eprintln!("{}", file.display());
                run(&bytes);
            }
        }
    }
}

#[test]
fn every_directory_is_a_target() {
    for kind in ["corpus", "regressions"] {
        let Ok(entries) = fs::read_dir(fuzz_dir().join(kind)) else {
            continue;
        };
        for entry in entries.filter_map(Result::ok) {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                TARGETS.iter().any(|(target, _)| *target == name),
                "fuzz/{kind}/{name} names no target"
            );
        }
    }
}

#[test]
fn every_decoder_of_a_selecting_target_has_a_seed() {
    for (target, table) in SELECTED {
        let seeds = files(&fuzz_dir().join("corpus").join(target));
        let firsts: Vec<u8> = seeds
            .iter()
            .filter_map(|file| fs::read(file).ok()?.first().copied())
            .collect();
        for (selector, (name, _)) in table.iter().enumerate() {
            assert!(
                firsts.contains(&(selector as u8)),
                "fuzz/corpus/{target}/ has no seed for {name} (selector {selector})"
            );
        }
    }
}
