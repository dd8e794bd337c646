//! Swaps: a wallet gives coins it holds to their issuer for fresh coins worth their value less
//! the swap fee (change), or a coin its merchant refunded for fresh coins worth the refund (the
//! coin's allowance, with fresh coins beside it so that what it asks for is a sum of
//! denominations); sends its last swap again, which must get the same answer; and spends a coin
//! it gave in (a deposit of a coin swapped for change, a second swap of a refunded coin), which
//! must be refused with the swap as proof ([`spent`]). The fresh coins go to the wallet's pouch
//! and are spent like the others. What each got is booked for the invariants.

use rand::RngExt;
use semper_client::api::SwapError;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::RequestId;
use semper_protocol::messages::swap::{SignedSwapPermission, SwapRequest, SwapResponse};
use semper_protocol::wallet::{self, PlannedCoin, WalletCoin};

mod spent;

use super::Worker;
use crate::invariants::{SwapBook, SwapInput};
use crate::workload::{OpError, ambiguous, now, outage, with_retries};
use semper_client::ApiError;
use semper_client::parties::PartyError;

/// Coins given in that a worker keeps to spend again, each of which must be refused.
pub const SWAPPED_KEPT_MAX: usize = 32;
/// Refunded coins a worker keeps to swap for their allowance; the oldest goes when it is full.
pub const REFUNDED_KEPT_MAX: usize = 64;
/// Most coins of the pouch given in beside a refunded coin, or for change.
pub const FRESH_INPUTS_MAX: usize = 20;
/// How long after its refund was answered a refunded coin is swapped, ms: the acquirer answers
/// the merchant, then tells the coin's issuer over the link, which records the allowance.
pub const REFUND_SWAP_AFTER_MS: u64 = 1000;
/// How long a refunded coin's swap may be refused as if the issuer did not know the refund yet
/// (it is sent again later meanwhile), ms; then the refusal is a failure.
pub const REFUND_SWAP_PATIENCE_MS: u64 = 60_000;
/// The share of swap operations that send the last swap answered again.
pub const REPLAY_SHARE: f64 = 0.15;
/// The share that spend a coin given in before.
pub const SPEND_SWAPPED_SHARE: f64 = 0.15;
/// The share that swap a refunded coin, when one is ready (the rest make change).
pub const REFUNDED_SHARE: f64 = 0.5;

/// The refusal of a swap whose coins are not worth what it asks for.
const UNBALANCED: &str = "swap.unbalanced";

/// A coin its merchant refunded, to swap for its allowance.
pub(in crate::workload) struct Refunded {
    /// The wallet that paid with it, in the worker's wallets.
    pub(in crate::workload) wallet: usize,
    /// The coin, worth its allowance (see [`WalletCoin::refunded`]).
    pub(in crate::workload) coin: WalletCoin,
    /// When its last refund was answered, ms since the epoch.
    pub(in crate::workload) answered_ms: u64,
}

/// A coin given in to a swap, to spend again.
pub(in crate::workload) struct Swapped {
    wallet: usize,
    coin: WalletCoin,
    permission: SignedSwapPermission,
    /// Given in for its refund allowance (after a deposit), not for its value.
    refunded: bool,
}

/// The last swap answered, to send again.
pub(in crate::workload) struct LastSwap {
    issuer: usize,
    request: SwapRequest,
    response: SwapResponse,
}

/// A swap whose answer never came: asked again at the end.
pub(in crate::workload) struct PendingSwap {
    issuer: usize,
    request: SwapRequest,
    book: SwapBook,
}

/// A swap about to be sent: the coins given in and what they are booked as.
struct Planned {
    wallet: usize,
    given: Vec<WalletCoin>,
    inputs: Vec<SwapInput>,
    wanted: Vec<Denomination>,
    /// A refunded coin first in `given`, and when it was refunded.
    refunded: Option<Refunded>,
}

/// How many coins of net value `fresh_net_minor` each (at most `held`, at least one when
/// `base_minor` is 0) to give in beside `base_minor`, so that what the swap asks for is a sum of
/// `available` denominations; and those denominations.
pub fn fresh_inputs(
    base_minor: u64,
    fresh_net_minor: u64,
    held: usize,
    currency: Currency,
    available: &[Denomination],
) -> Option<(usize, Vec<Denomination>)> {
    (0..=held.min(FRESH_INPUTS_MAX)).find_map(|k| {
        let net = base_minor.checked_add(fresh_net_minor.checked_mul(k as u64)?)?;
        if net == 0 {
            return None;
        }
        let wanted = wallet::change_for(Amount::from_minor_units(currency, net), available)?;
        Some((k, wanted))
    })
}

impl Worker<'_> {
    /// Whether a swap has something to do with wallet `w`: a refunded coin, a swap to send
    /// again, a coin given in to spend, or enough coins in `w`'s pouch for change.
    pub(super) fn can_swap(&self, w: usize) -> bool {
        self.refunded_ready().is_some()
            || self.last_swap.is_some()
            || !self.swapped.is_empty()
            || self.change_plan(w).is_some()
    }

    fn refunded_ready(&self) -> Option<usize> {
        let due = now().unix_ms().saturating_sub(REFUND_SWAP_AFTER_MS);
        self.refunded.iter().position(|r| r.answered_ms <= due)
    }

    /// The denominations a swap at wallet `w`'s issuer asks for.
    fn available(&self, w: usize) -> &[Denomination] {
        let issuer = self.wallets[w].issuer;
        self.shared
            .issuer_denominations
            .get(issuer)
            .map_or(&[], Vec::as_slice)
    }

    /// What a coin of wallet `w`'s pouch adds to a swap: its value less its swap fee.
    fn fresh_net(&self, w: usize) -> u64 {
        let slot = &self.wallets[w];
        (slot.denomination.value().minor_units())
            .saturating_sub(slot.denomination.fees().swap.minor_units())
    }

    /// How many coins of `w`'s pouch of the denomination it withdraws (a swap's fresh coins
    /// may be of others).
    fn own_coins(&self, w: usize) -> usize {
        let slot = &self.wallets[w];
        let own = slot.denomination.id();
        (slot.pouch.iter())
            .filter(|c| c.coin().denomination == own)
            .count()
    }

    /// Takes `k` coins of the denomination it withdraws out of `w`'s pouch, the newest first.
    fn take_own(&mut self, w: usize, k: usize) -> Vec<WalletCoin> {
        let slot = &mut self.wallets[w];
        let own = slot.denomination.id();
        let mut taken = Vec::with_capacity(k);
        let mut index = slot.pouch.len();
        while taken.len() < k && index > 0 {
            index -= 1;
            if slot.pouch[index].coin().denomination == own {
                taken.push(slot.pouch.remove(index));
            }
        }
        taken
    }

    /// How many coins of `w`'s pouch make change, and for what.
    fn change_plan(&self, w: usize) -> Option<(usize, Vec<Denomination>)> {
        let slot = &self.wallets[w];
        let currency = slot.denomination.value().currency();
        let held = self.own_coins(w);
        fresh_inputs(0, self.fresh_net(w), held, currency, self.available(w))
            .filter(|(k, _)| *k > 0)
    }

    /// One swap operation: a refunded coin's (when one is ready, half the time), the last swap
    /// again, a coin given in spent again, or change from wallet `w`'s pouch.
    pub(super) fn swap(&mut self, w: usize) -> Result<u64, OpError> {
        let mut rng = rand::rng();
        if let Some(index) = self.refunded_ready()
            && rng.random_bool(REFUNDED_SHARE)
            && let Some(refunded) = self.refunded.remove(index)
            && let Some(planned) = self.plan_refunded(refunded)
        {
            return self.send_swap(planned);
        }
        if self.last_swap.is_some() && rng.random_bool(REPLAY_SHARE) {
            return self.replay_swap();
        }
        if !self.swapped.is_empty() && rng.random_bool(SPEND_SWAPPED_SHARE) {
            return self.spend_swapped();
        }
        let Some((k, wanted)) = self.change_plan(w) else {
            return Ok(0);
        };
        let given = self.take_own(w, k);
        let inputs = given.iter().map(|c| self.input(w, c, false)).collect();
        self.send_swap(Planned {
            wallet: w,
            given,
            inputs,
            wanted,
            refunded: None,
        })
    }

    fn input(&self, w: usize, coin: &WalletCoin, refunded: bool) -> SwapInput {
        SwapInput {
            coin: *coin.coin().public_key.as_bytes(),
            value_minor: coin.value().minor_units(),
            fee_minor: self.fees_of(w, coin).swap.minor_units(),
            refunded,
        }
    }

    /// A refunded coin's swap: the coin for its allowance, with coins of its wallet's pouch
    /// beside it when the allowance alone is no sum of denominations. `None` (the coin dropped)
    /// when no such swap can be made.
    fn plan_refunded(&mut self, refunded: Refunded) -> Option<Planned> {
        let w = refunded.wallet;
        let input = self.input(w, &refunded.coin, true);
        let base = input.value_minor.checked_sub(input.fee_minor)?;
        let currency = refunded.coin.value().currency();
        let Some((k, wanted)) = fresh_inputs(
            base,
            self.fresh_net(w),
            FRESH_INPUTS_MAX,
            currency,
            self.available(w),
        ) else {
            self.shared.books().refunded_not_swappable += 1;
            return None;
        };
        if k > self.own_coins(w) {
            // Its wallet holds too few coins to give in beside it yet: later.
            self.refunded.push_back(refunded);
            return None;
        }
        let fresh = self.take_own(w, k);
        let mut given = vec![refunded.coin.clone()];
        given.extend(fresh);
        let mut inputs = vec![input];
        inputs.extend(given[1..].iter().map(|c| self.input(w, c, false)));
        Some(Planned {
            wallet: w,
            given,
            inputs,
            wanted,
            refunded: Some(refunded),
        })
    }

    /// Sends a swap, with retries; books its answer, and puts the fresh coins in the pouch.
    fn send_swap(&mut self, planned: Planned) -> Result<u64, OpError> {
        let w = planned.wallet;
        let issuer = self.wallets[w].issuer;
        let request_id = RequestId(rand::random());
        let (request, coins) = wallet::prepare_swap(
            &mut rand::rng(),
            request_id,
            &planned.given,
            &planned.wanted,
        )
        .map_err(PartyError::from)?;
        let book = SwapBook {
            issuer: self.wallets[w].issuer_bank.to_string(),
            currency: self.wallets[w].currency().code().to_owned(),
            inputs: planned.inputs.clone(),
            outputs_minor: planned.wanted.iter().map(|d| d.value().minor_units()).sum(),
            outputs: planned.wanted.len() as u64,
        };
        self.shared.books().swap_attempts += 1;
        let api = &mut self.issuers[issuer];
        // Not retried: a conflict is judged below, from the same request's answer.
        let answer = with_retries(&self.shared.retries, || swap_answer(api, &request));
        match answer {
            Ok(response) => self.swap_answered(planned, request, coins, response, book),
            Err(error) if ambiguous(&error) => {
                self.pending_swaps.push(PendingSwap {
                    issuer,
                    request,
                    book,
                });
                Err(error.into())
            }
            Err(error) => {
                let code = error.code().unwrap_or_default().to_owned();
                let early = planned.refunded.as_ref().filter(|r| {
                    // The issuer may not know the refund yet: the coin then counts at its value
                    // (unbalanced) or as spent by its deposit (a conflict).
                    (code == UNBALANCED || code == "swap.conflict")
                        && now().unix_ms() < r.answered_ms + REFUND_SWAP_PATIENCE_MS
                });
                if early.is_some() {
                    self.shared.books().refund_swaps_early += 1;
                    let Planned {
                        given, refunded, ..
                    } = planned;
                    // The fresh coins given beside it were not spent: back to the pouch.
                    self.wallets[w].pouch.extend(given.into_iter().skip(1));
                    if let Some(mut refunded) = refunded {
                        refunded.answered_ms = now().unix_ms();
                        self.refunded.push_back(refunded);
                    }
                    self.shared.books().swap_attempts -= 1;
                    return Ok(0);
                }
                self.shared.books().swap_failures.push(format!(
                    "swap {request_id}: {error} ({} coins given in, {} refunded)",
                    planned.given.len(),
                    usize::from(planned.refunded.is_some())
                ));
                Err(error.into())
            }
        }
    }

    fn swap_answered(
        &mut self,
        planned: Planned,
        request: SwapRequest,
        coins: Vec<PlannedCoin>,
        response: SwapResponse,
        book: SwapBook,
    ) -> Result<u64, OpError> {
        let w = planned.wallet;
        let request_id = request.request_id;
        let fresh = match wallet::finalize_swap(request_id, coins, &response) {
            Ok(fresh) => fresh,
            Err(error) => {
                self.shared.books().swap_failures.push(format!(
                    "swap {request_id}: fresh coins do not check: {error}"
                ));
                return Err(PartyError::from(error).into());
            }
        };
        let count = fresh.len() as u64;
        self.shared.books().swaps.push(book);
        self.wallets[w].pouch.extend(fresh);
        for (index, coin) in planned.given.into_iter().enumerate() {
            if let Some(permission) = request.coins.get(index) {
                if self.swapped.len() >= SWAPPED_KEPT_MAX {
                    self.swapped.pop_front();
                }
                self.swapped.push_back(Swapped {
                    wallet: w,
                    coin,
                    permission: permission.clone(),
                    refunded: index == 0 && planned.refunded.is_some(),
                });
            }
        }
        self.last_swap = Some(LastSwap {
            issuer: self.wallets[w].issuer,
            request,
            response,
        });
        Ok(count)
    }

    /// Sends the last swap answered again: the answer must be the first one.
    fn replay_swap(&mut self) -> Result<u64, OpError> {
        let Some(last) = self.last_swap.take() else {
            return Ok(0);
        };
        self.shared.books().replays += 1;
        let api = &mut self.issuers[last.issuer];
        let again = with_retries(&self.shared.retries, || {
            api.swap(&last.request).map_err(|error| match error {
                SwapError::Api(error) => error,
                SwapError::Conflict { index, .. } => ApiError::Unexpected {
                    what: "swap replay".into(),
                    problem: format!("coin {index} answered as spent before"),
                },
            })
        });
        let outcome = match again {
            Ok(response) => {
                if response != last.response {
                    self.shared.books().replay_mismatches.push(format!(
                        "swap {}: other signatures the second time",
                        last.request.request_id
                    ));
                }
                Ok(last.response.blind_signatures.len() as u64)
            }
            Err(error) if ambiguous(&error) => Err(error.into()),
            Err(error) => {
                self.shared.books().replay_mismatches.push(format!(
                    "swap {}: {error} the second time",
                    last.request.request_id
                ));
                Err(error.into())
            }
        };
        self.last_swap = Some(last);
        outcome
    }

    /// Asks again for every swap whose answer was lost, and books what comes back.
    pub(super) fn finish_swaps(&mut self) {
        for pending in std::mem::take(&mut self.pending_swaps) {
            let api = &mut self.issuers[pending.issuer];
            let answer = with_retries(&self.shared.retries, || swap_answer(api, &pending.request));
            let mut books = self.shared.books();
            let what = format!("swap {}", pending.request.request_id);
            match answer {
                Ok(_) => books.swaps.push(pending.book),
                Err(error) if ambiguous(&error) => {
                    books.unresolved.push(format!("{what}: {error}"));
                    let code = OpError::from(error).code();
                    if self.shared.tolerate_outages && outage(&code) {
                        books.swaps_unanswered += 1;
                    } else {
                        books.swap_failures.push(what);
                    }
                }
                Err(error) => books.swap_failures.push(format!("{what}: {error}")),
            }
        }
    }
}

/// `request` sent to the issuer behind `api`, its conflict (409 `swap.conflict`, which
/// [`with_retries`] does not retry) as the API error it came as: the caller judges it.
fn swap_answer(
    api: &mut semper_client::Api,
    request: &SwapRequest,
) -> Result<SwapResponse, ApiError> {
    api.swap(request).map_err(|error| match error {
        SwapError::Api(error) => error,
        SwapError::Conflict { index, .. } => ApiError::Refused {
            status: 409,
            code: "swap.conflict".into(),
            message: format!("coin {index} was spent before"),
            retry_after_s: None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use semper_protocol::crypto::blind_rsa::{DenominationSecretKey, RsaKeySize};
    use semper_protocol::denomination::{DenominationFees, DenominationFields};
    use semper_protocol::ids::BankId;
    use semper_protocol::time::Timestamp;

    fn denominations(values: &[&str]) -> Vec<Denomination> {
        let key = DenominationSecretKey::generate(RsaKeySize::Bits2048).unwrap();
        let value = |text: &str| text.parse::<Amount>().unwrap();
        (values.iter())
            .map(|text| {
                Denomination::new(DenominationFields {
                    issuer: BankId([1; 16]),
                    value: value(text),
                    public_key: key.public_key().clone(),
                    valid_from: Timestamp::from_unix_ms(1000),
                    withdraw_until: Timestamp::from_unix_ms(2000),
                    deposit_until: Timestamp::from_unix_ms(3000),
                    retain_until: Timestamp::from_unix_ms(4000),
                    fees: DenominationFees::zero(value(text).currency()),
                })
                .unwrap()
            })
            .collect()
    }

    fn values(wanted: &[Denomination]) -> Vec<u64> {
        wanted.iter().map(|d| d.value().minor_units()).collect()
    }

    #[test]
    fn a_swap_gives_in_the_fewest_coins_whose_net_is_a_sum_of_denominations() {
        let available = denominations(&["EUR:0.10", "EUR:1.00"]);
        let eur = available[0].value().currency();
        // Coins of 0.10 with a swap fee of 0.01 net 0.09: ten make nine coins of 0.10.
        let (k, wanted) = fresh_inputs(0, 9, 16, eur, &available).unwrap();
        assert_eq!((k, values(&wanted)), (10, vec![10; 9]));
        // Nine held are too few.
        assert!(fresh_inputs(0, 9, 9, eur, &available).is_none());
        // A refunded coin's allowance of 0.05 nets 0.04: four coins beside it make 0.40.
        let (k, wanted) = fresh_inputs(4, 9, 16, eur, &available).unwrap();
        assert_eq!((k, values(&wanted)), (4, vec![10; 4]));
        // An allowance of 0.09 nets 0.08, and eight beside it make 0.80.
        assert_eq!(fresh_inputs(8, 9, 16, eur, &available).unwrap().0, 8);
        // Without a swap fee one coin swaps for one, and 0.05 is never a sum of 0.10s.
        assert_eq!(fresh_inputs(0, 10, 16, eur, &available).unwrap().0, 1);
        assert!(fresh_inputs(5, 10, 16, eur, &available).is_none());
        // A net of 1.00 asks for the larger coin.
        let (_, wanted) = fresh_inputs(100, 10, 0, eur, &available).unwrap();
        assert_eq!(values(&wanted), [100]);
        // Nothing to ask for, nothing adds up.
        assert!(fresh_inputs(9, 9, 20, eur, &[]).is_none());
    }
}
