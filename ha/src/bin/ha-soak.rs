//! `make ha-soak`: the failover soak at the storage level. A three-node Patroni cluster of its
//! own, writers spending coins and crediting accounts through the store and its committer, and
//! the primary's postmaster killed with SIGKILL `--kills` times (20 by default); then every
//! acknowledged write is looked up on every node. Prints each failover's time to the first
//! acknowledged write and the totals; exits 2 if anything acknowledged is missing or a coin was
//! answered as a double spend of itself.
//!
//!   ha-soak [--kills N] [--writers N] [--batch-coins N]

use std::process::ExitCode;
use std::time::Duration;

use semper_ha::Cluster;
use semper_ha::load::{self, LoadConfig};

fn main() -> ExitCode {
    let mut config = LoadConfig {
        writers: 8,
        batch_coins: 64,
        kills: 20,
        settle: Duration::from_secs(3),
        failover_max: Duration::from_secs(60),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|text| text.parse::<u32>().ok());
        match (pair[0].as_str(), value) {
            ("--kills", Some(n)) => config.kills = n,
            ("--writers", Some(n)) if n > 0 => config.writers = n,
            ("--batch-coins", Some(n)) if n > 0 => config.batch_coins = n,
            _ => {
                eprintln!("usage: ha-soak [--kills N] [--writers N] [--batch-coins N]");
                return ExitCode::from(1);
            }
        }
    }
    let missing = Cluster::missing_programs();
    if !missing.is_empty() {
        eprintln!("ha-soak: missing {missing:?} (scripts/ha-cluster.sh installs them)");
        return ExitCode::from(1);
    }
    let started = std::time::Instant::now();
    let cluster = match Cluster::start("soak") {
        Ok(cluster) => cluster,
        Err(error) => {
            eprintln!("ha-soak: {error}");
            return ExitCode::from(1);
        }
    };
    println!("ha-soak: {config:?}");
    let report = match load::run(&cluster, config) {
        Ok(report) => report,
        Err(error) => {
            eprintln!("ha-soak: {error}");
            return ExitCode::from(1);
        }
    };
    let mut failovers: Vec<f64> = report.failovers.iter().map(Duration::as_secs_f64).collect();
    failovers.sort_by(f64::total_cmp);
    let at = |q: f64| failovers.get(((failovers.len() as f64 - 1.0) * q).round() as usize);
    println!(
        "ha-soak: {} kills in {:.0} s; failover to first acknowledged write: min {:.2} s, \
         median {:.2} s, max {:.2} s",
        failovers.len(),
        started.elapsed().as_secs_f64(),
        at(0.0).copied().unwrap_or(0.0),
        at(0.5).copied().unwrap_or(0.0),
        at(1.0).copied().unwrap_or(0.0),
    );
    println!(
        "ha-soak: {} coins and {} credits acknowledged, {} records checked on 3 nodes, {} retries \
         of unknown outcomes ({} coins found already spent by their own earlier attempt)",
        report.coins_acknowledged,
        report.credits_acknowledged,
        report.records_checked,
        report.retries,
        report.replays_after_error
    );
    if report.problems.is_empty() {
        println!("ha-soak: nothing acknowledged lost, no coin a double spend of itself");
        ExitCode::SUCCESS
    } else {
        for problem in &report.problems {
            println!("ha-soak: PROBLEM {problem}");
        }
        ExitCode::from(2)
    }
}
