//! The seed corpus: real encodings of real values, a few per decoder, written under
//! `fuzz/corpus/<target>/` by `cargo run -p semper-fuzz --example make_seeds`.

mod codec;
mod crypto;
mod fixtures;
mod http;
mod wire;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;

use crate::Target;
pub use fixtures::{FixtureError, Fixtures};

/// Seed files, by target, then by file name.
#[derive(Debug, Default)]
pub struct Corpus {
    files: BTreeMap<&'static str, BTreeMap<String, Vec<u8>>>,
}

impl Corpus {
    /// Makes every target's seeds.
    pub fn make() -> Result<Self, FixtureError> {
        let fixtures = Fixtures::make()?;
        let mut corpus = Self::default();
        codec::add(&mut corpus, &fixtures);
        crypto::add(&mut corpus, &fixtures);
        http::add(&mut corpus, &fixtures);
        wire::add(&mut corpus, &fixtures);
        Ok(corpus)
    }

    /// Adds a seed for `target`; its file is `name`, made safe for a file name.
    pub fn add(&mut self, target: &'static str, name: &str, bytes: Vec<u8>) {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let files = self.files.entry(target).or_default();
        let mut file = safe.clone();
        let mut n = 2;
        while files.contains_key(&file) {
            file = format!("{safe}-{n}");
            n += 1;
        }
        files.insert(file, bytes);
    }

    /// Adds a seed for a target that dispatches on its first byte: the byte that picks `name`
    /// in `table`, then `bytes`.
    pub fn add_selected(
        &mut self,
        target: &'static str,
        table: &[(&str, Target)],
        name: &str,
        bytes: Vec<u8>,
    ) {
        let Some(selector) = table.iter().position(|(entry, _)| *entry == name) else {
            panic!("{target} has no entry {name}");
        };
        let mut seed = vec![selector as u8];
        seed.extend_from_slice(&bytes);
        self.add(target, &format!("{selector:02}-{name}"), seed);
    }

    /// The seeds of each target.
    pub fn files(&self) -> &BTreeMap<&'static str, BTreeMap<String, Vec<u8>>> {
        &self.files
    }

    /// Writes each target's seeds to `dir/<target>/`, replacing what the directory held.
    pub fn write(&self, dir: &Path) -> io::Result<usize> {
        let mut written = 0;
        for (target, files) in &self.files {
            let target_dir = dir.join(target);
            if target_dir.exists() {
                std::fs::remove_dir_all(&target_dir)?;
            }
            std::fs::create_dir_all(&target_dir)?;
            for (name, bytes) in files {
                std::fs::write(target_dir.join(name), bytes)?;
                written += 1;
            }
        }
        Ok(written)
    }
}
