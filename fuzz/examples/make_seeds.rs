//! Writes the seed corpus of every fuzz target from real encodings of real values:
//!
//! ```sh
//! cargo run -p semper-fuzz --example make_seeds [DIR]    # default: fuzz/corpus
//! ```
//!
//! Each seed is run through its target first: a seed its own target rejects is a bug.

use std::path::PathBuf;

use semper_fuzz::TARGETS;
use semper_fuzz::seeds::Corpus;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let corpus = Corpus::make()?;
    for (target, files) in corpus.files() {
        let Some((_, run)) = TARGETS.iter().find(|(name, _)| name == target) else {
            return Err(format!("seeds for an unknown target {target}").into());
        };
        files.values().for_each(|bytes| run(bytes));
    }
    let written = corpus.write(&dir)?;
    eprintln!("wrote {written} seeds under {}", dir.display());
    Ok(())
}
