//! `bench-netting`: the clearing house's netting against a plain in-memory sum, in one run.
//!
//! - Measure: [`settle`] on a full cycle's claims, as the cut-off calls it: gross obligations per
//!   (issuer, acquirer, currency) with the sorted batches each sums, then the report with its
//!   multilateral net positions, validated. Beside it, [`obligations`] alone: the gross half.
//! - Reference: the same claims' amounts summed into a `HashMap` keyed by (issuer, acquirer,
//!   currency), then each sum moved into its two banks' nets per currency, in another.
//!
//! A record is one claim: a confirmation counted in the cycle, with its total. Each run nets
//! [`CYCLE_CONFIRMATIONS_MAX`] of them, the most one cycle holds. Two markets: 2 issuers and 2
//! acquirers in one currency, and 16 banks that each issue and acquire, in two currencies.
//!
//! The three run in rounds, in an order that rotates each round, because the load of a shared
//! 2-core VM drifts within seconds. Every report is checked against the reference's sums.

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use rand::RngExt as _;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::clearing::{CycleClaim, obligations, settle};
use semper_protocol::ids::{BankId, BatchId, CycleId};
use semper_protocol::limits::CYCLE_CONFIRMATIONS_MAX;
use semper_protocol::messages::settlement::SettlementReport;
use semper_protocol::time::Timestamp;

/// Rounds per market; each runs every measure once.
const ROUNDS: usize = 100;
/// Most a claim is worth, in minor units: a confirmation of 256 coins of 1.00.
const CLAIM_MINOR_UNITS_MAX: u64 = 25_600;
const CLEARING: BankId = BankId([9; 16]);

/// Who trades with whom, in which currencies.
struct Market {
    name: &'static str,
    /// Every (issuer, acquirer) pair that has claims.
    pairs: Vec<(BankId, BankId)>,
    currencies: Vec<Currency>,
}

/// What is timed: the reference, and the two measures.
#[derive(Clone, Copy)]
enum Measure {
    Reference,
    Settle,
    Obligations,
}

const MEASURES: [Measure; 3] = [Measure::Reference, Measure::Settle, Measure::Obligations];

/// The reference's answer: gross sums per (issuer, acquirer, currency), nets per (bank, currency).
struct Sums {
    gross: HashMap<(BankId, BankId, Currency), u64>,
    net: HashMap<(BankId, Currency), i128>,
}

fn main() -> anyhow::Result<()> {
    let bank = |n: u8| BankId([n; 16]);
    let eur = Currency::new("EUR")?;
    let usd = Currency::new("USD")?;
    let markets = [
        Market {
            name: "2 issuers x 2 acquirers, EUR",
            pairs: [(1, 3), (1, 4), (2, 3), (2, 4)]
                .map(|(i, a)| (bank(i), bank(a)))
                .to_vec(),
            currencies: vec![eur],
        },
        Market {
            name: "16 banks issuing and acquiring, EUR + USD",
            pairs: (1..=16u8)
                .flat_map(|i| (1..=16u8).filter(move |a| *a != i).map(move |a| (i, a)))
                .map(|(i, a)| (bank(i), bank(a)))
                .collect(),
            currencies: vec![eur, usd],
        },
    ];

    let mut rows = Vec::new();
    for market in &markets {
        let claims = cycle_claims(market);
        let mut elapsed = [Duration::ZERO; 3];
        for round in 0..ROUNDS {
            for step in 0..MEASURES.len() {
                let which = (round + step) % MEASURES.len();
                let started = Instant::now();
                match MEASURES[which] {
                    Measure::Reference => {
                        let sums = black_box(reference_sums(black_box(&claims)));
                        elapsed[which] += started.elapsed();
                        check_sums(&sums, &claims)?;
                    }
                    Measure::Settle => {
                        let report = settle(
                            CLEARING,
                            CycleId([1; 16]),
                            1,
                            Timestamp::from_unix_ms(0),
                            black_box(&claims),
                            &[],
                        )?;
                        elapsed[which] += started.elapsed();
                        check_report(&report, &reference_sums(&claims), claims.len())?;
                    }
                    Measure::Obligations => {
                        let gross = obligations(black_box(&claims))?;
                        elapsed[which] += started.elapsed();
                        anyhow::ensure!(
                            gross.iter().map(|o| o.confirmations.len()).sum::<usize>()
                                == claims.len(),
                            "every claim must be in one obligation"
                        );
                    }
                }
            }
        }
        let rate = |i: usize| (ROUNDS * claims.len()) as f64 / elapsed[i].as_secs_f64();
        rows.push((market.name, rate(0), rate(1), rate(2)));
    }

    println!(
        "netting, {CYCLE_CONFIRMATIONS_MAX} claims a cycle, {ROUNDS} rounds per market in rotating order:"
    );
    println!(
        "| market | reference: HashMap sums | netting (`settle`) | gross only (`obligations`) |"
    );
    println!("| --- | --- | --- | --- |");
    for (name, reference, settled, gross) in &rows {
        println!(
            "| {name} | {reference:.0} claims/s | {settled:.0} claims/s | {gross:.0} claims/s |"
        );
    }
    println!();
    println!("| ratio | value | target |");
    println!("| --- | --- | --- |");
    for (name, reference, settled, gross) in &rows {
        println!(
            "| netting / HashMap sums, {name} | {:.2} | - |",
            settled / reference
        );
        println!(
            "| gross only / HashMap sums, {name} | {:.2} | - |",
            gross / reference
        );
    }
    Ok(())
}

/// A full cycle of claims spread at random over the market, each from its own batch.
fn cycle_claims(market: &Market) -> Vec<CycleClaim> {
    let mut rng = rand::rng();
    (0..CYCLE_CONFIRMATIONS_MAX)
        .map(|_| {
            let (issuer, acquirer) = market.pairs[rng.random_range(0..market.pairs.len())];
            let currency = market.currencies[rng.random_range(0..market.currencies.len())];
            CycleClaim {
                issuer,
                acquirer,
                // Random, as acquirers' batch ids are: claims arrive in no order of them.
                batch_id: BatchId(rng.random()),
                amount: Amount::from_minor_units(
                    currency,
                    rng.random_range(1..=CLAIM_MINOR_UNITS_MAX),
                ),
            }
        })
        .collect()
}

/// The plainest netting: each claim's amount added to its (issuer, acquirer, currency) sum, then
/// each sum moved from its issuer's net to its acquirer's.
fn reference_sums(claims: &[CycleClaim]) -> Sums {
    let mut gross: HashMap<(BankId, BankId, Currency), u64> = HashMap::new();
    for claim in claims {
        *gross
            .entry((claim.issuer, claim.acquirer, claim.amount.currency()))
            .or_default() += claim.amount.minor_units();
    }
    let mut net: HashMap<(BankId, Currency), i128> = HashMap::new();
    for ((issuer, acquirer, currency), units) in &gross {
        *net.entry((*issuer, *currency)).or_default() -= i128::from(*units);
        *net.entry((*acquirer, *currency)).or_default() += i128::from(*units);
    }
    Sums { gross, net }
}

/// The reference's own sums must account for every claim and net to zero.
fn check_sums(sums: &Sums, claims: &[CycleClaim]) -> anyhow::Result<()> {
    let total: u64 = claims.iter().map(|c| c.amount.minor_units()).sum();
    anyhow::ensure!(sums.gross.values().sum::<u64>() == total);
    anyhow::ensure!(sums.net.values().sum::<i128>() == 0);
    Ok(())
}

/// The report must have one obligation per reference sum, of that sum, listing every claim once,
/// and the reference's nonzero nets as its positions.
fn check_report(report: &SettlementReport, sums: &Sums, claims: usize) -> anyhow::Result<()> {
    let fields = report.fields();
    anyhow::ensure!(fields.obligations.len() == sums.gross.len());
    for obligation in fields.obligations.iter() {
        let key = (
            obligation.issuer,
            obligation.acquirer,
            obligation.amount.currency(),
        );
        anyhow::ensure!(
            sums.gross.get(&key) == Some(&obligation.amount.minor_units()),
            "an obligation differs from the reference's sum"
        );
    }
    let listed: usize = fields
        .obligations
        .iter()
        .map(|o| o.confirmations.len())
        .sum();
    anyhow::ensure!(listed == claims, "every claim must be listed once");
    let nonzero = sums.net.values().filter(|net| **net != 0).count();
    anyhow::ensure!(fields.net_positions.len() == nonzero);
    for position in fields.net_positions.iter() {
        anyhow::ensure!(
            sums.net.get(&(position.bank, position.currency))
                == Some(&i128::from(position.net_minor_units)),
            "a net position differs from the reference's"
        );
    }
    Ok(())
}
