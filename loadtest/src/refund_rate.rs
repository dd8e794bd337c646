//! Refund throughput end to end over HTTP, against deposits of the same coins in the same run.
//!
//! Each worker has a wallet and a merchant of its own. In each round, before any clock starts,
//! the wallets withdraw their coins and their merchants sign one deposit per coin; then every
//! worker sends its deposits back to back (the reference, timed); then each merchant signs the
//! refund of every coin it was paid, of what it was credited for it (the coin's value less the
//! deposit fee, so that the balance ends at zero); then every worker sends its refunds (timed).
//! A deposit and a refund are each one request for one coin, so the two rates are of the same
//! coins and the same number of requests. Every answer is checked (each deposit `accepted` and
//! credited, each refund debited with the coin's total), and so is every merchant's balance at
//! the end (zero). `bench-refund` (in `bench/`) runs it on the embedded default.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use semper_client::parties::{Merchant, PartyError, Wallet, withdrawable};
use semper_client::{Api, Encoded};
use semper_protocol::amount::Amount;
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::ContractHash;
use semper_protocol::messages::merchant::{DepositResult, SignedDepositRequest};
use semper_protocol::messages::refund::SignedRefundRequest;
use semper_protocol::wallet::{self, WalletCoin};

use crate::target::Targets;
use crate::workload::{COINS_PER_REQUEST_MAX, Retries, now, with_retries};

/// Most workers.
pub const WORKERS_MAX: usize = 256;
/// Most coins a worker deposits and refunds in one round.
pub const COINS_PER_WORKER_MAX: usize = 100_000;
/// Most rounds.
pub const ROUNDS_MAX: usize = 100;

/// A measurement.
#[derive(Clone, Debug)]
pub struct RefundRateConfig {
    /// The deployment: its first issuer, and its acquirers (merchants spread over them).
    pub targets: Targets,
    /// Workers, each with its wallet and its merchant, all sending at once.
    pub workers: usize,
    /// Coins each worker deposits, then refunds, in a round.
    pub coins_per_worker: usize,
    /// Rounds: deposits then refunds each time, the rates over all of them.
    pub rounds: usize,
    /// Attempts of a request answered busy, timed out or unanswered, first included.
    pub retry_attempts_max: u32,
}

/// One timed phase: requests of one coin each.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PhaseRate {
    /// Requests answered.
    pub requests: u64,
    /// Time on the clock, all rounds.
    pub seconds: f64,
    /// Requests (coins) a second.
    pub per_s: f64,
    /// Median latency of one request, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// What a measurement found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct RefundRate {
    /// The reference: deposits of the coins.
    pub deposits: PhaseRate,
    /// The refunds of the same coins.
    pub refunds: PhaseRate,
    /// Refunds a second / deposits a second.
    pub ratio: f64,
}

/// Why a measurement could not be made, or found a wrong answer.
#[derive(Debug, thiserror::Error)]
pub enum RefundRateError {
    /// The configuration does not make a measurement.
    #[error("configuration: {0}")]
    Config(String),
    /// A party's step failed.
    #[error("{what}: {source}")]
    Party {
        /// The step.
        what: String,
        /// Why.
        source: PartyError,
    },
    /// An answer was not what it had to be.
    #[error("{0}")]
    Wrong(String),
}

fn party<E: Into<PartyError>>(what: &str) -> impl FnOnce(E) -> RefundRateError + '_ {
    move |error| RefundRateError::Party {
        what: what.to_owned(),
        source: error.into(),
    }
}

/// One worker's parties and its connections.
struct Side {
    wallet: Wallet,
    merchant: Merchant,
    issuer: Api,
    acquirer: Api,
}

/// A coin paid, and its deposit.
struct Paid {
    coin: WalletCoin,
    contract: ContractHash,
    deposit: SignedDepositRequest,
}

/// Runs the measurement described by `config`.
pub fn measure(config: &RefundRateConfig) -> Result<RefundRate, RefundRateError> {
    let bad = |text: &str| Err(RefundRateError::Config(text.to_owned()));
    if !(1..=WORKERS_MAX).contains(&config.workers) {
        return bad("workers out of range");
    }
    if !(1..=COINS_PER_WORKER_MAX).contains(&config.coins_per_worker) {
        return bad("coins per worker out of range");
    }
    if !(1..=ROUNDS_MAX).contains(&config.rounds) {
        return bad("rounds out of range");
    }
    let (Some(issuer), false) = (
        config.targets.issuers.first(),
        config.targets.acquirers.is_empty(),
    ) else {
        return bad("there must be an issuer and an acquirer");
    };
    let retries = Retries::new(config.retry_attempts_max);
    let mut api = issuer.api();
    let set = with_retries(&retries, || api.denominations()).map_err(party("denominations"))?;
    let denomination = withdrawable(&set, now())
        .ok_or_else(|| RefundRateError::Config("no withdrawable denomination".into()))?;
    let per_coin = denomination
        .value()
        .checked_add(denomination.fees().withdraw)
        .map_err(|error| RefundRateError::Config(error.to_string()))?;
    let coins = (config.coins_per_worker * config.rounds) as u64;
    let funding = Amount::from_minor_units(
        per_coin.currency(),
        per_coin.minor_units().saturating_mul(coins),
    );
    let tag = format!("{:016x}", rand::random::<u64>());
    let mut sides = Vec::with_capacity(config.workers);
    for w in 0..config.workers {
        let endpoint = &config.targets.acquirers[w % config.targets.acquirers.len()];
        let bank = endpoint
            .bank
            .ok_or_else(|| RefundRateError::Config("an acquirer needs its bank id".into()))?;
        let mut acquirer = endpoint.api();
        let merchant = Merchant::register(&mut acquirer, bank).map_err(party("register"))?;
        let reference = format!("semper-load-refund-rate-{tag}-{w}");
        let wallet = Wallet::open(&mut api, funding.currency(), funding, &reference)
            .map_err(party("open a wallet"))?;
        sides.push(Side {
            wallet,
            merchant,
            issuer: issuer.api(),
            acquirer,
        });
    }
    let mut deposits = Timed::default();
    let mut refunds = Timed::default();
    for _ in 0..config.rounds {
        let paid = in_parallel(&mut sides, |side| {
            pay(side, &retries, &denomination, config.coins_per_worker)
        })?;
        let mut work: Vec<(&mut Side, Vec<Paid>)> = sides.iter_mut().zip(paid).collect();
        deposits.add(timed(&mut work, |side, paid| {
            deposit(side, &retries, paid, &denomination)
        })?);
        let mut refunding: Vec<(&mut Side, Vec<SignedRefundRequest>)> = work
            .into_iter()
            .map(|(side, paid)| {
                let requests = refunds_of(side, &paid, &denomination);
                (side, requests)
            })
            .collect();
        refunds.add(timed(&mut refunding, |side, request| {
            refund(side, &retries, request)
        })?);
    }
    for side in &mut sides {
        let id = side.merchant.id;
        let view = with_retries(&retries, || side.acquirer.merchant(id))
            .map_err(party("read a merchant"))?;
        if view
            .balances
            .iter()
            .any(|balance| balance.minor_units() != 0)
        {
            return Err(RefundRateError::Wrong(format!(
                "merchant {id}: balances {:?} after refunding everything it was credited",
                view.balances
            )));
        }
    }
    let deposits = deposits.rate();
    let refunds = refunds.rate();
    let ratio = refunds.per_s / deposits.per_s.max(f64::MIN_POSITIVE);
    Ok(RefundRate {
        deposits,
        refunds,
        ratio,
    })
}

/// Withdraws `count` coins into `side`'s wallet and signs a deposit of each, by its merchant.
fn pay(
    side: &mut Side,
    retries: &Retries,
    denomination: &Denomination,
    count: usize,
) -> Result<Vec<Paid>, RefundRateError> {
    let mut paid = Vec::with_capacity(count);
    while paid.len() < count {
        let batch = (count - paid.len()).min(COINS_PER_REQUEST_MAX);
        let (request, planned) = (side.wallet)
            .prepare_withdraw(denomination, batch)
            .map_err(party("prepare a withdrawal"))?;
        let body = Encoded::new(&request).map_err(party("encode a withdrawal"))?;
        let response = with_retries(retries, || side.issuer.withdraw_encoded(&body))
            .map_err(party("withdraw"))?;
        let coins = wallet::finalize_coins(request.body().request_id, planned, &response)
            .map_err(party("finalize coins"))?;
        for coin in coins {
            let contract = ContractHash(rand::random());
            let deposit = (side.merchant)
                .deposit_of(std::slice::from_ref(&coin), contract, now())
                .map_err(party("sign a deposit"))?;
            paid.push(Paid {
                coin,
                contract,
                deposit,
            });
        }
    }
    Ok(paid)
}

/// Deposits one paid coin: it must be accepted and credited its value less the deposit fee.
fn deposit(
    side: &mut Side,
    retries: &Retries,
    paid: &Paid,
    denomination: &Denomination,
) -> Result<(), RefundRateError> {
    let body = Encoded::new(&paid.deposit).map_err(party("encode a deposit"))?;
    let answer =
        with_retries(retries, || side.acquirer.deposit_encoded(&body)).map_err(party("deposit"))?;
    let answer = (side.merchant)
        .check_answer(&paid.deposit, &answer)
        .map_err(party("check a deposit answer"))?;
    let credited = credited(denomination);
    if answer.results() != [DepositResult::Accepted] || answer.credited() != [credited] {
        return Err(RefundRateError::Wrong(format!(
            "deposit {}: {:?}, credited {:?}; accepted and {credited} expected",
            paid.deposit.body().deposit_id,
            answer.results(),
            answer.credited()
        )));
    }
    Ok(())
}

/// What the merchant is credited for one coin.
fn credited(denomination: &Denomination) -> Amount {
    (denomination.value())
        .checked_sub(denomination.fees().deposit)
        .unwrap_or_else(|_| Amount::zero(denomination.value().currency()))
}

/// The refund of every coin `side`'s merchant was paid, of what it was credited for it.
fn refunds_of(side: &Side, paid: &[Paid], denomination: &Denomination) -> Vec<SignedRefundRequest> {
    let amount = credited(denomination);
    paid.iter()
        .map(|paid| side.merchant.refund_of(&paid.coin, paid.contract, amount))
        .collect()
}

/// Sends one refund: it must be debited, the coin's total being the refund itself.
fn refund(
    side: &mut Side,
    retries: &Retries,
    request: &SignedRefundRequest,
) -> Result<(), RefundRateError> {
    let response =
        with_retries(retries, || side.acquirer.refund(request)).map_err(party("refund"))?;
    let body = request.body();
    if response.amount != body.amount
        || response.coin_refunded != body.amount
        || response.refund_id != body.refund_id
    {
        return Err(RefundRateError::Wrong(format!(
            "refund {}: answered {response:?}",
            body.refund_id
        )));
    }
    Ok(())
}

/// Runs `step` over each side's work on a thread per side, all at once: their outputs.
fn in_parallel<T: Send>(
    sides: &mut [Side],
    step: impl Fn(&mut Side) -> Result<T, RefundRateError> + Sync,
) -> Result<Vec<T>, RefundRateError> {
    let step = &step;
    std::thread::scope(|scope| {
        let handles: Vec<_> = sides
            .iter_mut()
            .map(|side| scope.spawn(move || step(side)))
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle
                    .join()
                    .map_err(|_| RefundRateError::Wrong("a worker panicked".into()))?
            })
            .collect()
    })
}

/// Requests of one phase and their latencies, over the rounds.
#[derive(Default)]
struct Timed {
    elapsed: Duration,
    latencies_ms: Vec<f64>,
}

impl Timed {
    fn add(&mut self, (elapsed, latencies_ms): (Duration, Vec<f64>)) {
        self.elapsed += elapsed;
        self.latencies_ms.extend(latencies_ms);
    }

    fn rate(mut self) -> PhaseRate {
        self.latencies_ms.sort_by(f64::total_cmp);
        let at = |q: f64| {
            let n = self.latencies_ms.len();
            if n == 0 {
                return 0.0;
            }
            let index = ((n as f64 * q).ceil() as usize).clamp(1, n) - 1;
            self.latencies_ms[index]
        };
        let seconds = self.elapsed.as_secs_f64();
        let requests = self.latencies_ms.len() as u64;
        PhaseRate {
            requests,
            seconds,
            per_s: requests as f64 / seconds.max(1e-9),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
        }
    }
}

/// Every worker sends its items, each with `step`, all workers starting together: the time from
/// the start until the last finished, and each request's latency.
fn timed<I: Send + Sync>(
    work: &mut [(&mut Side, Vec<I>)],
    step: impl Fn(&mut Side, &I) -> Result<(), RefundRateError> + Sync,
) -> Result<(Duration, Vec<f64>), RefundRateError> {
    let start = Barrier::new(work.len() + 1);
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .iter_mut()
            .map(|(side, items)| {
                let (start, step) = (&start, &step);
                scope.spawn(move || -> Result<Vec<f64>, RefundRateError> {
                    start.wait();
                    let mut latencies = Vec::with_capacity(items.len());
                    for item in items.iter() {
                        let began = Instant::now();
                        step(side, item)?;
                        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                    }
                    Ok(latencies)
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let mut latencies = Vec::new();
        let mut failed = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok(more)) => latencies.extend(more),
                Ok(Err(error)) => failed = failed.or(Some(error)),
                Err(_) => {
                    failed = failed.or(Some(RefundRateError::Wrong("a worker panicked".into())))
                }
            }
        }
        match failed {
            Some(error) => Err(error),
            None => Ok((began.elapsed(), latencies)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_phase_rate_is_its_requests_over_its_time_with_percentiles() {
        let mut timed = Timed::default();
        timed.add((Duration::from_secs(1), (1..=50).map(f64::from).collect()));
        timed.add((Duration::from_secs(1), (51..=100).map(f64::from).collect()));
        let rate = timed.rate();
        assert_eq!(rate.requests, 100);
        assert!((rate.per_s - 50.0).abs() < 1e-9);
        assert_eq!((rate.p50_ms, rate.p99_ms), (50.0, 99.0));
        assert_eq!(Timed::default().rate().p99_ms, 0.0);
    }
}
