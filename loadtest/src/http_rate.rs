//! What the end-to-end rates over HTTP ([`refund_rate`](crate::refund_rate),
//! [`swap_rate`](crate::swap_rate)) share: each worker's parties (a funded wallet and a merchant,
//! with their connections), the withdrawals and deposits they make with every answer checked,
//! and the timed phases (all workers start together on a barrier; the clock runs until the last
//! one is done) with their rates and latency percentiles.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use semper_client::parties::{Merchant, PartyError, Wallet, withdrawable};
use semper_client::{Api, Encoded};
use semper_protocol::amount::Amount;
use semper_protocol::denomination::Denomination;
use semper_protocol::messages::merchant::{DepositResult, SignedDepositRequest};
use semper_protocol::messages::withdraw::SignedWithdrawRequest;
use semper_protocol::wallet::{self, PlannedCoin, WalletCoin};

use crate::target::Targets;
use crate::workload::{COINS_PER_REQUEST_MAX, Retries, now, with_retries};

/// Most workers.
pub const WORKERS_MAX: usize = 256;
/// Most coins a worker moves in one phase of a round.
pub const COINS_PER_WORKER_MAX: usize = 100_000;
/// Most rounds.
pub const ROUNDS_MAX: usize = 100;

/// Why a measurement could not be made, or found a wrong answer.
#[derive(Debug, thiserror::Error)]
pub enum RateError {
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

/// The [`RateError::Party`] of step `what`.
pub(crate) fn party<E: Into<PartyError>>(what: &str) -> impl FnOnce(E) -> RateError + '_ {
    move |error| RateError::Party {
        what: what.to_owned(),
        source: error.into(),
    }
}

/// One timed phase: its requests, and the coins they carried.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct PhaseRate {
    /// Requests answered.
    pub requests: u64,
    /// Coins those requests carried.
    pub coins: u64,
    /// Time on the clock, all rounds.
    pub seconds: f64,
    /// Requests a second.
    pub per_s: f64,
    /// Coins a second.
    pub coins_per_s: f64,
    /// Median latency of one request, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

/// One worker's parties and its connections.
pub(crate) struct Side {
    /// Its wallet, funded at its issuer.
    pub wallet: Wallet,
    /// Its merchant, registered at its acquirer.
    pub merchant: Merchant,
    /// A connection to the issuer.
    pub issuer: Api,
    /// A connection to the merchant's acquirer.
    pub acquirer: Api,
}

/// Refuses a measurement of no work, or of more than the bounds.
pub(crate) fn check_bounds(
    workers: usize,
    coins_per_worker: usize,
    rounds: usize,
) -> Result<(), RateError> {
    let bad = |text: &str| Err(RateError::Config(text.to_owned()));
    if !(1..=WORKERS_MAX).contains(&workers) {
        return bad("workers out of range");
    }
    if !(1..=COINS_PER_WORKER_MAX).contains(&coins_per_worker) {
        return bad("coins per worker out of range");
    }
    if !(1..=ROUNDS_MAX).contains(&rounds) {
        return bad("rounds out of range");
    }
    Ok(())
}

/// The lowest withdrawable denomination of `targets`' first issuer, and `workers` sides, each
/// wallet funded for `coins` withdrawals of it (fees included) and each merchant registered at
/// an acquirer of `targets` in turn; `label` names the wallets' funding transfers.
pub(crate) fn open_sides(
    targets: &Targets,
    workers: usize,
    coins: u64,
    label: &str,
    retries: &Retries,
) -> Result<(Denomination, Vec<Side>), RateError> {
    let (Some(issuer), false) = (targets.issuers.first(), targets.acquirers.is_empty()) else {
        return Err(RateError::Config(
            "there must be an issuer and an acquirer".into(),
        ));
    };
    let mut api = issuer.api();
    let set = with_retries(retries, || api.denominations()).map_err(party("denominations"))?;
    let denomination = withdrawable(&set, now())
        .ok_or_else(|| RateError::Config("no withdrawable denomination".into()))?;
    let per_coin = denomination
        .value()
        .checked_add(denomination.fees().withdraw)
        .map_err(|error| RateError::Config(error.to_string()))?;
    let funding = Amount::from_minor_units(
        per_coin.currency(),
        per_coin.minor_units().saturating_mul(coins),
    );
    let tag = format!("{:016x}", rand::random::<u64>());
    let mut sides = Vec::with_capacity(workers);
    for w in 0..workers {
        let endpoint = &targets.acquirers[w % targets.acquirers.len()];
        let bank = endpoint
            .bank
            .ok_or_else(|| RateError::Config("an acquirer needs its bank id".into()))?;
        let mut acquirer = endpoint.api();
        let merchant = Merchant::register(&mut acquirer, bank).map_err(party("register"))?;
        let reference = format!("semper-load-{label}-{tag}-{w}");
        let wallet = Wallet::open(&mut api, funding.currency(), funding, &reference)
            .map_err(party("open a wallet"))?;
        sides.push(Side {
            wallet,
            merchant,
            issuer: issuer.api(),
            acquirer,
        });
    }
    Ok((denomination, sides))
}

/// A withdrawal signed and blinded, to send: the request and its coins awaiting signatures.
pub(crate) type PreparedWithdrawal = (SignedWithdrawRequest, Vec<PlannedCoin>);

/// `count` coins of `denomination` for `side`'s wallet, signed and blinded in withdrawals of at
/// most `per_request` coins.
pub(crate) fn prepare_withdrawals(
    side: &Side,
    denomination: &Denomination,
    count: usize,
    per_request: usize,
) -> Result<Vec<PreparedWithdrawal>, RateError> {
    let per_request = per_request.clamp(1, COINS_PER_REQUEST_MAX);
    let mut prepared = Vec::with_capacity(count.div_ceil(per_request));
    let mut left = count;
    while left > 0 {
        let batch = left.min(per_request);
        prepared.push(
            (side.wallet)
                .prepare_withdraw(denomination, batch)
                .map_err(party("prepare a withdrawal"))?,
        );
        left -= batch;
    }
    Ok(prepared)
}

/// Sends one prepared withdrawal: its coins, unblinded and checked under their denomination's
/// key.
pub(crate) fn withdraw(
    side: &mut Side,
    retries: &Retries,
    (request, planned): PreparedWithdrawal,
) -> Result<Vec<WalletCoin>, RateError> {
    let body = Encoded::new(&request).map_err(party("encode a withdrawal"))?;
    let response =
        with_retries(retries, || side.issuer.withdraw_encoded(&body)).map_err(party("withdraw"))?;
    wallet::finalize_coins(request.body().request_id, planned, &response)
        .map_err(party("finalize coins"))
}

/// `count` coins of `denomination` in `side`'s wallet, withdrawn in requests of the most coins
/// one carries (set-up, not timed).
pub(crate) fn withdraw_coins(
    side: &mut Side,
    retries: &Retries,
    denomination: &Denomination,
    count: usize,
) -> Result<Vec<WalletCoin>, RateError> {
    let prepared = prepare_withdrawals(side, denomination, count, COINS_PER_REQUEST_MAX)?;
    let mut coins = Vec::with_capacity(count);
    for withdrawal in prepared {
        coins.extend(withdraw(side, retries, withdrawal)?);
    }
    Ok(coins)
}

/// What a merchant is credited for one coin of `denomination`.
pub(crate) fn credited(denomination: &Denomination) -> Amount {
    (denomination.value())
        .checked_sub(denomination.fees().deposit)
        .unwrap_or_else(|_| Amount::zero(denomination.value().currency()))
}

/// Sends `side`'s merchant's deposit `request`, of coins of `denomination`: every coin must be
/// accepted, and the merchant credited their value less the deposit fee, in an answer signed by
/// the acquirer.
pub(crate) fn deposit(
    side: &mut Side,
    retries: &Retries,
    request: &SignedDepositRequest,
    denomination: &Denomination,
) -> Result<(), RateError> {
    let body = Encoded::new(request).map_err(party("encode a deposit"))?;
    let answer =
        with_retries(retries, || side.acquirer.deposit_encoded(&body)).map_err(party("deposit"))?;
    let answer = (side.merchant)
        .check_answer(request, &answer)
        .map_err(party("check a deposit answer"))?;
    let coins = request.body().permissions.len();
    // The answer sums what it credited per currency.
    let each = credited(denomination);
    let credited = Amount::from_minor_units(
        each.currency(),
        each.minor_units().saturating_mul(coins as u64),
    );
    if answer.results() != vec![DepositResult::Accepted; coins] || answer.credited() != [credited] {
        return Err(RateError::Wrong(format!(
            "deposit {}: {:?}, credited {:?}; {coins} accepted, {credited} in all, expected",
            request.body().deposit_id,
            answer.results(),
            answer.credited()
        )));
    }
    Ok(())
}

/// Runs `step` over each side on a thread per side, all at once: their outputs.
pub(crate) fn in_parallel<T: Send>(
    sides: &mut [Side],
    step: impl Fn(&mut Side) -> Result<T, RateError> + Sync,
) -> Result<Vec<T>, RateError> {
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
                    .map_err(|_| RateError::Wrong("a worker panicked".into()))?
            })
            .collect()
    })
}

/// One timed run of a phase: its time on the clock, each request's latency, and each side's
/// outputs in order.
pub(crate) struct Lap<O> {
    elapsed: Duration,
    latencies_ms: Vec<f64>,
    coins: u64,
    outputs: Vec<Vec<O>>,
}

impl<O> Lap<O> {
    /// The coins its requests carried.
    pub(crate) fn coins(&self) -> u64 {
        self.coins
    }
}

/// Every worker sends its items, each with `step` (which answers its output and the coins its
/// request carried), all workers starting together: the [`Lap`].
pub(crate) fn timed<I: Send, O: Send>(
    work: Vec<(&mut Side, Vec<I>)>,
    step: impl Fn(&mut Side, I) -> Result<(O, usize), RateError> + Sync,
) -> Result<Lap<O>, RateError> {
    let start = Barrier::new(work.len() + 1);
    type Done<O> = Result<(Vec<f64>, u64, Vec<O>), RateError>;
    std::thread::scope(|scope| {
        let handles: Vec<_> = work
            .into_iter()
            .map(|(side, items)| {
                let (start, step) = (&start, &step);
                scope.spawn(move || -> Done<O> {
                    start.wait();
                    let mut latencies = Vec::with_capacity(items.len());
                    let mut outputs = Vec::with_capacity(items.len());
                    let mut coins = 0;
                    for item in items {
                        let began = Instant::now();
                        let (output, carried) = step(side, item)?;
                        latencies.push(began.elapsed().as_secs_f64() * 1000.0);
                        outputs.push(output);
                        coins += carried as u64;
                    }
                    Ok((latencies, coins, outputs))
                })
            })
            .collect();
        start.wait();
        let began = Instant::now();
        let mut lap = Lap {
            elapsed: Duration::ZERO,
            latencies_ms: Vec::new(),
            coins: 0,
            outputs: Vec::with_capacity(handles.len()),
        };
        let mut failed = None;
        for handle in handles {
            match handle.join() {
                Ok(Ok((latencies, coins, outputs))) => {
                    lap.latencies_ms.extend(latencies);
                    lap.coins += coins;
                    lap.outputs.push(outputs);
                }
                Ok(Err(error)) => failed = failed.or(Some(error)),
                Err(_) => failed = failed.or(Some(RateError::Wrong("a worker panicked".into()))),
            }
        }
        lap.elapsed = began.elapsed();
        match failed {
            Some(error) => Err(error),
            None => Ok(lap),
        }
    })
}

/// Requests of one phase and their latencies, over the rounds.
#[derive(Default)]
pub(crate) struct Timed {
    elapsed: Duration,
    coins: u64,
    latencies_ms: Vec<f64>,
}

impl Timed {
    /// Counts `lap` in: its outputs, by side.
    pub(crate) fn add<O>(&mut self, lap: Lap<O>) -> Vec<Vec<O>> {
        self.elapsed += lap.elapsed;
        self.coins += lap.coins;
        self.latencies_ms.extend(lap.latencies_ms);
        lap.outputs
    }

    /// The phase's rate over every lap counted in.
    pub(crate) fn rate(mut self) -> PhaseRate {
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
            coins: self.coins,
            seconds,
            per_s: requests as f64 / seconds.max(1e-9),
            coins_per_s: self.coins as f64 / seconds.max(1e-9),
            p50_ms: at(0.5),
            p99_ms: at(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lap(seconds: u64, latencies_ms: Vec<f64>) -> Lap<()> {
        Lap {
            elapsed: Duration::from_secs(seconds),
            coins: 2 * latencies_ms.len() as u64,
            latencies_ms,
            outputs: Vec::new(),
        }
    }

    #[test]
    fn a_phase_rate_is_its_requests_over_its_time_with_percentiles() {
        let mut timed = Timed::default();
        timed.add(lap(1, (1..=50).map(f64::from).collect()));
        timed.add(lap(1, (51..=100).map(f64::from).collect()));
        let rate = timed.rate();
        assert_eq!((rate.requests, rate.coins), (100, 200));
        assert!((rate.per_s - 50.0).abs() < 1e-9);
        assert!((rate.coins_per_s - 100.0).abs() < 1e-9);
        assert_eq!((rate.p50_ms, rate.p99_ms), (50.0, 99.0));
        assert_eq!(Timed::default().rate().p99_ms, 0.0);
    }
}
