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

use semper_protocol::denomination::Denomination;
use semper_protocol::ids::ContractHash;
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::refund::SignedRefundRequest;
use semper_protocol::wallet::WalletCoin;

use crate::http_rate::{
    PhaseRate, RateError, Side, Timed, check_bounds, credited, deposit, in_parallel, open_sides,
    party, timed, withdraw_coins,
};
use crate::target::Targets;
use crate::workload::{Retries, now, with_retries};

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

/// A coin paid, and its deposit.
struct Paid {
    coin: WalletCoin,
    contract: ContractHash,
    deposit: SignedDepositRequest,
}

/// Runs the measurement described by `config`.
pub fn measure(config: &RefundRateConfig) -> Result<RefundRate, RateError> {
    check_bounds(config.workers, config.coins_per_worker, config.rounds)?;
    let retries = Retries::new(config.retry_attempts_max);
    let coins = (config.coins_per_worker * config.rounds) as u64;
    let (denomination, mut sides) = open_sides(
        &config.targets,
        config.workers,
        coins,
        "refund-rate",
        &retries,
    )?;
    let mut deposits = Timed::default();
    let mut refunds = Timed::default();
    for _ in 0..config.rounds {
        let paid = in_parallel(&mut sides, |side| {
            pay(side, &retries, &denomination, config.coins_per_worker)
        })?;
        let work = (sides.iter_mut())
            .zip(paid.iter().map(|paid| paid.iter().collect()))
            .collect();
        deposits.add(timed(work, |side, paid: &Paid| {
            deposit(side, &retries, &paid.deposit, &denomination).map(|()| ((), 1))
        })?);
        let refunding = (sides.iter_mut())
            .zip(&paid)
            .map(|(side, paid)| {
                let requests = refunds_of(side, paid, &denomination);
                (side, requests)
            })
            .collect();
        refunds.add(timed(refunding, |side, request: SignedRefundRequest| {
            refund(side, &retries, &request).map(|()| ((), 1))
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
            return Err(RateError::Wrong(format!(
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
) -> Result<Vec<Paid>, RateError> {
    let coins = withdraw_coins(side, retries, denomination, count)?;
    coins
        .into_iter()
        .map(|coin| {
            let contract = ContractHash(rand::random());
            let deposit = (side.merchant)
                .deposit_of(std::slice::from_ref(&coin), contract, now())
                .map_err(party("sign a deposit"))?;
            Ok(Paid {
                coin,
                contract,
                deposit,
            })
        })
        .collect()
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
) -> Result<(), RateError> {
    let response =
        with_retries(retries, || side.acquirer.refund(request)).map_err(party("refund"))?;
    let body = request.body();
    if response.amount != body.amount
        || response.coin_refunded != body.amount
        || response.refund_id != body.refund_id
    {
        return Err(RateError::Wrong(format!(
            "refund {}: answered {response:?}",
            body.refund_id
        )));
    }
    Ok(())
}
