//! The known-answer vectors of `docs/vectors/`, recomputed from their fixed inputs: the test fails
//! when a committed file differs from what the code produces now, so the files (and the
//! specification that cites them, `docs/protocol.md`) cannot drift from the code.
//!
//! After a deliberate change of an encoding, rewrite the files and review the diff:
//!
//! ```sh
//! SEMPER_WRITE_VECTORS=1 cargo test -p semper-protocol --test vectors
//! ```

mod access;
mod banks;
mod blind;
mod ed25519;
mod fixtures;
mod out;
mod recoup;
mod refunds;
mod wallet;

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;

/// Set (to anything) to rewrite the files instead of checking them.
const WRITE_ENV: &str = "SEMPER_WRITE_VECTORS";

/// Where the vector files live.
fn directory() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/vectors")
}

/// Every vector file, by name (without `.json`), computed now.
fn computed() -> Vec<(&'static str, Value)> {
    let parties = fixtures::Parties::new();
    let rsa = fixtures::rsa_key();
    let denomination = wallet::denomination(&rsa);
    let (denomination_file, set_file) = wallet::denominations(&parties, &denomination);
    let (wallet_files, side) = wallet::withdrawal(&parties, &rsa, &denomination);
    let mut files = vec![
        ("keys", wallet::keys(&parties, &rsa)),
        ("primitives", wallet::primitives()),
        ("ed25519", ed25519::file(&parties)),
        ("denomination", denomination_file),
        ("denomination-set", set_file),
    ];
    files.extend(wallet_files);
    files.extend(access::files(&parties, &side));
    files.extend(banks::files(&parties, &side));
    files.extend(refunds::files(&parties, &side));
    files.extend(recoup::files(&parties, &side));
    files
}

/// The first place where `committed` and `now` differ, as a JSON path.
fn first_difference(path: &str, committed: &Value, now: &Value) -> Option<String> {
    match (committed, now) {
        (Value::Object(a), Value::Object(b)) => {
            let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter()
                .find_map(|key| match (a.get(key), b.get(key)) {
                    (Some(x), Some(y)) => first_difference(&format!("{path}.{key}"), x, y),
                    _ => Some(format!("{path}.{key} (present on one side only)")),
                })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .enumerate()
            .find_map(|(i, (x, y))| first_difference(&format!("{path}[{i}]"), x, y)),
        _ if committed == now => None,
        _ => Some(format!("{path}: committed {committed}, now {now}")),
    }
}

#[test]
fn vectors_match_the_code() {
    let files = computed();
    let directory = directory();
    if std::env::var_os(WRITE_ENV).is_some() {
        std::fs::create_dir_all(&directory).unwrap();
        for (name, value) in &files {
            let text = serde_json::to_string_pretty(value).unwrap() + "\n";
            std::fs::write(directory.join(format!("{name}.json")), text).unwrap();
        }
        return;
    }
    let mut problems = Vec::new();
    for (name, now) in &files {
        let path = directory.join(format!("{name}.json"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            problems.push(format!("{name}.json is missing"));
            continue;
        };
        // Compared as JSON values, so key order (serde_json's preserve_order) does not matter.
        let committed: Value = serde_json::from_str(&text).expect("a vector file is JSON");
        if let Some(difference) = first_difference(name, &committed, now) {
            problems.push(format!("{name}.json differs: {difference}"));
        }
    }
    let expected: BTreeSet<String> = files
        .iter()
        .map(|(name, _)| format!("{name}.json"))
        .collect();
    for entry in std::fs::read_dir(&directory).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") && !expected.contains(&name) {
            problems.push(format!("{name} is no longer produced"));
        }
    }
    assert!(
        problems.is_empty(),
        "the vectors differ from the code (after a deliberate change: {WRITE_ENV}=1 cargo test -p \
         semper-protocol --test vectors, and review the diff):\n{}",
        problems.join("\n")
    );
}
