//! `bench-ratios`: the rates and target ratios of one `cargo bench -p semper-bench` run.
//!
//! It reads criterion's `<target>/criterion/<group>/<function>/new/estimates.json` and uses the
//! **median** time per iteration: on a shared 2-core machine the median shrugs off the samples a
//! neighbouring build disturbed, where the mean does not. A missed target is reported, not an
//! error; a missing result is an error.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::{env, fs};

use anyhow::{Context, bail};
use semper_bench::ids::{self, BenchId};
use serde::Deserialize;

const USAGE: &str = "usage: bench-ratios [--target-dir DIR]\n\
    Reads DIR/criterion (DIR defaults to $CARGO_TARGET_DIR, else the workspace's target).\n";

/// A benchmark in the rate table, and how many operations one of its iterations does.
struct Row {
    id: BenchId,
    ops_per_iter: usize,
}

/// A ratio of two benchmarks' per-operation rates, and the least it must reach, if it has a target.
struct Ratio {
    name: &'static str,
    numerator: BenchId,
    denominator: BenchId,
    target: Option<f64>,
}

const RATIOS: [Ratio; 8] = [
    Ratio {
        name: "blind-sign OpenSSL-2048 / reference PKCS#1 sign",
        numerator: ids::BLIND_SIGN_OPENSSL_2048,
        denominator: ids::REFERENCE_SIGN,
        target: Some(0.90),
    },
    Ratio {
        name: "coin verify OpenSSL-2048 / reference PKCS#1 verify",
        numerator: ids::COIN_VERIFY_OPENSSL_2048,
        denominator: ids::REFERENCE_VERIFY,
        target: Some(0.90),
    },
    Ratio {
        name: "Ed25519 batch-256 per signature / single",
        numerator: ids::ED25519_TARGET_BATCH,
        denominator: ids::ED25519_SINGLE,
        target: Some(2.0),
    },
    Ratio {
        name: "BatchVerifier 2 threads / 1 thread",
        numerator: ids::BATCH_VERIFIER_2_THREADS,
        denominator: ids::BATCH_VERIFIER_1_THREAD,
        target: Some(1.8),
    },
    Ratio {
        name: "blind-sign OpenSSL / pure Rust (2048)",
        numerator: ids::BLIND_SIGN_OPENSSL_2048,
        denominator: ids::BLIND_SIGN_PURE_RUST_2048,
        target: None,
    },
    Ratio {
        name: "coin verify OpenSSL / pure Rust (2048)",
        numerator: ids::COIN_VERIFY_OPENSSL_2048,
        denominator: ids::COIN_VERIFY_PURE_RUST_2048,
        target: None,
    },
    Ratio {
        name: "coin verify fast path / OpenSSL EVP PSS (2048)",
        numerator: ids::COIN_VERIFY_OPENSSL_2048,
        denominator: ids::COIN_VERIFY_OPENSSL_EVP_2048,
        target: None,
    },
    Ratio {
        name: "blind-sign RSA-2048 / RSA-3072 (OpenSSL)",
        numerator: ids::BLIND_SIGN_OPENSSL_2048,
        denominator: ids::BLIND_SIGN_OPENSSL_3072,
        target: None,
    },
];

/// The part of criterion's `estimates.json` this report reads.
#[derive(Deserialize)]
struct Estimates {
    median: Estimate,
}

#[derive(Deserialize)]
struct Estimate {
    /// Nanoseconds per iteration.
    point_estimate: f64,
}

fn main() {
    // Printed plainly: a missing result is a usage error, not a bug to backtrace.
    if let Err(error) = run() {
        eprintln!("bench-ratios: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> anyhow::Result<()> {
    let criterion_dir = target_dir()?.join("criterion");
    let rows = rows();

    // Median nanoseconds per iteration, and operations per second, by benchmark.
    let mut measured: HashMap<BenchId, (f64, f64)> = HashMap::new();
    let mut missing = Vec::new();
    for row in &rows {
        let path = estimates_path(&criterion_dir, row.id);
        if path.is_file() {
            let ns = read_median_ns(&path)?;
            measured.insert(row.id, (ns, row.ops_per_iter as f64 * 1e9 / ns));
        } else {
            missing.push(path.display().to_string());
        }
    }
    if !missing.is_empty() {
        bail!(
            "no criterion result for {} benchmark(s); run `cargo bench -p semper-bench` first \
             (or pass --target-dir):\n  {}",
            missing.len(),
            missing.join("\n  ")
        );
    }
    let rate = |id: &BenchId| measured[id].1;

    println!("criterion results in {}", criterion_dir.display());
    println!("time = median per iteration; rate = operations per second (per item for batches)\n");
    println!(
        "{:<44} {:>6} {:>12} {:>14}",
        "benchmark", "ops", "time", "rate (ops/s)"
    );
    for row in &rows {
        println!(
            "{:<44} {:>6} {:>12} {:>14.0}",
            row.id.to_string(),
            row.ops_per_iter,
            format_ns(measured[&row.id].0),
            rate(&row.id)
        );
    }

    println!(
        "\n{:<52} {:>8} {:>8}  verdict",
        "ratio of rates", "ratio", "target"
    );
    for ratio in &RATIOS {
        let value = rate(&ratio.numerator) / rate(&ratio.denominator);
        match ratio.target {
            Some(target) => {
                let verdict = if value >= target { "PASS" } else { "MISS" };
                println!(
                    "{:<52} {:>8.2} {:>8}  {verdict}",
                    ratio.name,
                    value,
                    format!(">= {target:.2}")
                );
            }
            None => println!("{:<52} {:>8.2} {:>8}  (info)", ratio.name, value, "-"),
        }
    }
    Ok(())
}

/// Every benchmark, in the order the report lists them.
fn rows() -> Vec<Row> {
    let one = |id| Row {
        id,
        ops_per_iter: 1,
    };
    let mut rows = vec![
        one(ids::REFERENCE_SIGN),
        one(ids::REFERENCE_VERIFY),
        one(ids::BLIND_SIGN_OPENSSL_2048),
        one(ids::BLIND_SIGN_PURE_RUST_2048),
        one(ids::BLIND_SIGN_OPENSSL_3072),
        one(ids::COIN_VERIFY_OPENSSL_2048),
        one(ids::COIN_VERIFY_OPENSSL_EVP_2048),
        one(ids::COIN_VERIFY_PURE_RUST_2048),
        one(ids::ED25519_SINGLE),
    ];
    rows.extend(
        ids::ED25519_BATCHES
            .iter()
            .map(|&(ops_per_iter, id)| Row { id, ops_per_iter }),
    );
    rows.extend(ids::BATCH_VERIFIER_RUNS.iter().map(|&(_, id)| Row {
        id,
        ops_per_iter: ids::BATCH_VERIFIER_COINS,
    }));
    rows
}

/// `--target-dir DIR`, else `$CARGO_TARGET_DIR`, else the workspace's `target`.
fn target_dir() -> anyhow::Result<PathBuf> {
    let mut args = env::args().skip(1);
    let mut dir = None;
    while let Some(arg) = args.next() {
        if arg == "-h" || arg == "--help" {
            print!("{USAGE}");
            std::process::exit(0);
        } else if arg == "--target-dir" {
            dir = Some(PathBuf::from(
                args.next().context("--target-dir needs a value")?,
            ));
        } else if let Some(value) = arg.strip_prefix("--target-dir=") {
            dir = Some(PathBuf::from(value));
        } else {
            bail!("unknown argument {arg:?}\n{USAGE}");
        }
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap_or(Path::new("."));
    Ok(dir
        .or_else(|| env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .unwrap_or_else(|| workspace.join("target")))
}

fn estimates_path(criterion_dir: &Path, id: BenchId) -> PathBuf {
    criterion_dir
        .join(id.group)
        .join(id.function)
        .join("new")
        .join("estimates.json")
}

fn read_median_ns(path: &Path) -> anyhow::Result<f64> {
    let text = fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let estimates: Estimates =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let ns = estimates.median.point_estimate;
    if !(ns.is_finite() && ns > 0.0) {
        bail!("{}: median {ns} ns is not a positive time", path.display());
    }
    Ok(ns)
}

fn format_ns(ns: f64) -> String {
    if ns >= 1e6 {
        format!("{:.3} ms", ns / 1e6)
    } else if ns >= 1e3 {
        format!("{:.2} µs", ns / 1e3)
    } else {
        format!("{ns:.0} ns")
    }
}
