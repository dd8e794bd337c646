//! Swap throughput end to end over HTTP, against withdrawals plus deposits of the same coins in
//! the same run: what a wallet does to get change without a swap (hand coins in, take fresh ones
//! out) measured in the same run, on the same server, with the same coins.
//!
//! Each worker has a wallet and a merchant of its own. In each round every worker moves N coins
//! (of the lowest withdrawable denomination) in requests of `coins_per_request`, three ways:
//! - the reference, two timed phases: its wallet withdraws N coins, then its merchant deposits
//!   the same N coins (the withdrawals signed and blinded, and the deposits signed, before each
//!   clock starts);
//! - the swap, one timed phase: its wallet swaps N coins it holds (withdrawn in the set-up) for
//!   N fresh coins of the same denominations (their value less the swap fee, zero by default:
//!   with fees, the fresh coins are the change for that value), every request signed by the
//!   coins' keys and its outputs blinded before the clock starts.
//!
//! Every answer is checked, in the clock where the reference checks its own: each withdrawal's
//! and each swap's blind signatures unblind into coins that verify under their denomination's
//! key; each deposit is accepted and credited, in an answer signed by the acquirer. After the
//! clocks, every coin swapped in is offered again, alone: it must be refused
//! (`swap.conflict`) with the swap's permission as proof, signed by the coin's key. The
//! reference's rate is its coins over the time of both its phases. `bench-swap` (in `bench/`)
//! runs it on the embedded default.

use semper_client::api::SwapError;
use semper_client::change::withdrawable_now;
use semper_protocol::amount::Amount;
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{ContractHash, RequestId};
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::SwapRequest;
use semper_protocol::wallet::{self, PlannedCoin, WalletCoin};

use crate::http_rate::{
    PhaseRate, RateError, Side, Timed, check_bounds, deposit, in_parallel, open_sides, party,
    prepare_withdrawals, timed, withdraw, withdraw_coins,
};
use crate::target::Targets;
use crate::workload::{COINS_PER_REQUEST_MAX, Retries, now, with_retries};

/// A measurement.
#[derive(Clone, Debug)]
pub struct SwapRateConfig {
    /// The deployment: its first issuer, and its acquirers (merchants spread over them).
    pub targets: Targets,
    /// Workers, each with its wallet and its merchant, all sending at once.
    pub workers: usize,
    /// Coins each worker withdraws, deposits and swaps in a round.
    pub coins_per_worker: usize,
    /// Coins in each withdrawal, deposit and swap (the swap's fresh coins as many).
    pub coins_per_request: usize,
    /// Rounds: the reference then the swaps each time, the rates over all of them.
    pub rounds: usize,
    /// Attempts of a request answered busy, timed out or unanswered, first included.
    pub retry_attempts_max: u32,
}

/// What a measurement found.
#[derive(Clone, Debug, serde::Serialize)]
pub struct SwapRate {
    /// The reference's first half: withdrawals of the coins.
    pub withdrawals: PhaseRate,
    /// Its second half: deposits of the same coins.
    pub deposits: PhaseRate,
    /// The reference whole: coins over the time of both phases.
    pub reference_coins_per_s: f64,
    /// Swaps of as many coins, for as many fresh ones.
    pub swaps: PhaseRate,
    /// Coins swapped a second / coins withdrawn and deposited a second.
    pub ratio: f64,
    /// Coins swapped in and then refused as spent, with proof.
    pub refused_again: u64,
}

/// A swap signed and blinded, to send: the coins given in, the request and its fresh coins
/// awaiting signatures.
struct PreparedSwap {
    given: Vec<WalletCoin>,
    request: SwapRequest,
    planned: Vec<PlannedCoin>,
}

/// Runs the measurement described by `config`.
pub fn measure(config: &SwapRateConfig) -> Result<SwapRate, RateError> {
    check_bounds(config.workers, config.coins_per_worker, config.rounds)?;
    if !(1..=COINS_PER_REQUEST_MAX).contains(&config.coins_per_request) {
        return Err(RateError::Config("coins per request out of range".into()));
    }
    let retries = Retries::new(config.retry_attempts_max);
    // Each round withdraws its coins twice: the reference's, and those swapped.
    let coins = (2 * config.coins_per_worker * config.rounds) as u64;
    let (denomination, mut sides) = open_sides(
        &config.targets,
        config.workers,
        coins,
        "swap-rate",
        &retries,
    )?;
    let set = {
        let mut api = config.targets.issuers[0].api();
        with_retries(&retries, || api.denominations()).map_err(party("denominations"))?
    };
    let (per_worker, per_request) = (config.coins_per_worker, config.coins_per_request);
    let mut withdrawals = Timed::default();
    let mut deposits = Timed::default();
    let mut swaps = Timed::default();
    let mut refused_again = 0;
    for _ in 0..config.rounds {
        // Set-up: the coins to swap in the wallets, the swaps and the reference's withdrawals
        // signed and blinded.
        let prepared = in_parallel(&mut sides, |side| {
            let held = withdraw_coins(side, &retries, &denomination, per_worker)?;
            let swaps = prepare_swaps(&set, held, per_request)?;
            let withdrawals = prepare_withdrawals(side, &denomination, per_worker, per_request)?;
            Ok((swaps, withdrawals))
        })?;
        let (to_swap, to_withdraw): (Vec<_>, Vec<_>) = prepared.into_iter().unzip();
        let withdrawn = withdrawals.add(timed(
            sides.iter_mut().zip(to_withdraw).collect(),
            |side, prepared| {
                let coins = withdraw(side, &retries, prepared)?;
                let count = coins.len();
                Ok((coins, count))
            },
        )?);
        let to_deposit = (sides.iter())
            .zip(withdrawn)
            .map(|(side, coins)| {
                deposits_of(side, coins.into_iter().flatten().collect(), per_request)
            })
            .collect::<Result<Vec<_>, _>>()?;
        deposits.add(timed(
            sides.iter_mut().zip(to_deposit).collect(),
            |side, request: SignedDepositRequest| {
                deposit(side, &retries, &request, &denomination)?;
                Ok(((), request.body().permissions.len()))
            },
        )?);
        let given = swaps.add(timed(
            sides.iter_mut().zip(to_swap).collect(),
            |side, prepared: PreparedSwap| {
                let count = prepared.given.len();
                Ok((swap(side, &retries, prepared)?, count))
            },
        )?);
        let spent: Vec<Vec<WalletCoin>> = (given.into_iter())
            .map(|given| given.into_iter().flatten().collect())
            .collect();
        refused_again += refuse_again(&mut sides, spent, &set, &retries)?;
    }
    let withdrawals = withdrawals.rate();
    let deposits = deposits.rate();
    let swaps = swaps.rate();
    let reference_seconds = withdrawals.seconds + deposits.seconds;
    let reference_coins_per_s = deposits.coins as f64 / reference_seconds.max(1e-9);
    let ratio = swaps.coins_per_s / reference_coins_per_s.max(f64::MIN_POSITIVE);
    Ok(SwapRate {
        withdrawals,
        deposits,
        reference_coins_per_s,
        swaps,
        ratio,
        refused_again,
    })
}

/// The fresh coins to ask for in return for `given`: the same denominations when swapping
/// costs nothing, else the change for their value less the swap fees.
fn wanted_for(
    set: &SignedDenominationSet,
    given: &[WalletCoin],
) -> Result<Vec<Denomination>, RateError> {
    let fields = set.body().fields();
    let denominations = given
        .iter()
        .map(|coin| {
            let id = coin.coin().denomination;
            (fields.denominations.iter())
                .find(|d| d.id() == id)
                .ok_or_else(|| RateError::Config(format!("coin of unlisted denomination {id}")))
        })
        .collect::<Result<Vec<&Denomination>, _>>()?;
    if denominations
        .iter()
        .all(|d| d.fees().swap.minor_units() == 0)
    {
        return Ok(denominations.into_iter().cloned().collect());
    }
    let pairs: Vec<(&WalletCoin, &Denomination)> =
        given.iter().zip(denominations.iter().copied()).collect();
    let value: Amount =
        wallet::swap_value(&pairs).map_err(|error| RateError::Config(error.to_string()))?;
    wallet::change_for(value, &withdrawable_now(set, now())).ok_or_else(|| {
        RateError::Config(format!("no withdrawable denominations add up to {value}"))
    })
}

/// `held` in swaps of `per_request` coins each, signed by the coins' keys, their fresh coins
/// blinded.
fn prepare_swaps(
    set: &SignedDenominationSet,
    held: Vec<WalletCoin>,
    per_request: usize,
) -> Result<Vec<PreparedSwap>, RateError> {
    held.chunks(per_request)
        .map(|given| {
            let wanted = wanted_for(set, given)?;
            let request_id = RequestId(rand::random());
            let (request, planned) =
                wallet::prepare_swap(&mut rand::rng(), request_id, given, &wanted)
                    .map_err(party("prepare a swap"))?;
            Ok(PreparedSwap {
                given: given.to_vec(),
                request,
                planned,
            })
        })
        .collect()
}

/// Sends one swap: the coins given in, once its fresh coins unblind and verify under their
/// denomination's key.
fn swap(
    side: &mut Side,
    retries: &Retries,
    prepared: PreparedSwap,
) -> Result<Vec<WalletCoin>, RateError> {
    let PreparedSwap {
        given,
        request,
        planned,
    } = prepared;
    let wanted = planned.len();
    let response = with_retries(retries, || match side.issuer.swap(&request) {
        Ok(response) => Ok(Ok(response)),
        Err(SwapError::Api(error)) => Err(error),
        Err(conflict) => Ok(Err(conflict)),
    })
    .map_err(party("swap"))?
    .map_err(|conflict| RateError::Wrong(format!("a swap of unspent coins: {conflict}")))?;
    let fresh = wallet::finalize_swap(request.request_id, planned, &response)
        .map_err(party("finalize a swap"))?;
    if fresh.len() != wanted {
        return Err(RateError::Wrong(format!(
            "swap {}: {} coins for {wanted} asked",
            request.request_id,
            fresh.len()
        )));
    }
    Ok(given)
}

/// `coins` in deposits of `per_request` coins each, signed by `side`'s merchant.
fn deposits_of(
    side: &Side,
    coins: Vec<WalletCoin>,
    per_request: usize,
) -> Result<Vec<SignedDepositRequest>, RateError> {
    coins
        .chunks(per_request)
        .map(|chunk| {
            (side.merchant)
                .deposit_of(chunk, ContractHash(rand::random()), now())
                .map_err(party("sign a deposit"))
        })
        .collect()
}

/// Offers every coin of `spent` (by side) again in a swap of its own, all sides at once (not a
/// phase of the measurement: the lap's time is not counted): each must be refused as spent,
/// with a proof that is a swap permission for that very coin, signed by its key. The number
/// refused.
fn refuse_again(
    sides: &mut [Side],
    spent: Vec<Vec<WalletCoin>>,
    set: &SignedDenominationSet,
    retries: &Retries,
) -> Result<u64, RateError> {
    let work = sides.iter_mut().zip(spent).collect();
    let lap = timed(work, |side, coin: WalletCoin| {
        refused(side, &coin, set, retries).map(|()| ((), 1))
    })?;
    Ok(lap.coins())
}

/// Offers `coin`, swapped before, in a swap of its own: refused with proof, or an error.
fn refused(
    side: &mut Side,
    coin: &WalletCoin,
    set: &SignedDenominationSet,
    retries: &Retries,
) -> Result<(), RateError> {
    let given = std::slice::from_ref(coin);
    let wanted = wanted_for(set, given)?;
    let (request, _) =
        wallet::prepare_swap(&mut rand::rng(), RequestId(rand::random()), given, &wanted)
            .map_err(party("prepare a swap"))?;
    let answer = with_retries(retries, || match side.issuer.swap(&request) {
        Ok(response) => Ok(Ok(response)),
        Err(SwapError::Api(error)) => Err(error),
        Err(conflict) => Ok(Err(conflict)),
    })
    .map_err(party("swap a spent coin"))?;
    let proven = match &answer {
        Err(SwapError::Conflict { index: 0, earlier }) => match earlier.as_ref() {
            EarlierSpend::Swap(permission) => {
                permission.body().coin == *coin.coin() && permission.verify_coin_key().is_ok()
            }
            _ => false,
        },
        _ => false,
    };
    if !proven {
        return Err(RateError::Wrong(format!(
            "a coin swapped before, offered again: {answer:?}"
        )));
    }
    Ok(())
}
