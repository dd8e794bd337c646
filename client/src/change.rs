//! Change: coins are indivisible, so a wallet that holds no coins adding up to an amount swaps
//! some at its issuer (docs/protocol.md §7.25) for fresh coins that do. [`plan_change`] picks
//! which coins to give in and which denominations to ask for, and says what the swap costs,
//! before anything is sent; [`Wallet::make_change`] and [`Wallet::swap`] send it.

use semper_protocol::amount::{Amount, AmountError};
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{DenominationId, RequestId};
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};

use crate::api::{Api, SwapError};
use crate::parties::{PartyError, Wallet};

/// Why change could not be planned or made.
#[derive(Debug, thiserror::Error)]
pub enum ChangeError {
    /// The API or the wallet's own checks failed.
    #[error(transparent)]
    Party(#[from] PartyError),
    /// Coin `index` given in was spent before; `earlier`, the issuer's proof, checks
    /// (`proven`) or does not. Nothing was spent or signed.
    #[error("coin {index} was spent before (its proof checks: {proven})")]
    Conflict {
        /// The coin's position among those given in.
        index: usize,
        /// The permission that spent it first.
        earlier: Box<EarlierSpend>,
        /// Whether `earlier` is signed by the coin's key, for this very coin.
        proven: bool,
    },
    /// The coins held are worth less than the amount, swap fees counted.
    #[error("the coins held are worth {held} after swap fees, less than {amount}")]
    NotEnough {
        /// What they are worth.
        held: Amount,
        /// What was asked.
        amount: Amount,
    },
    /// No withdrawable denominations add up to this amount.
    #[error("no withdrawable denominations add up to {0}")]
    NoDenominations(Amount),
    /// A coin held is of a denomination the set does not list.
    #[error("a coin held is of denomination {0}, which the set does not list")]
    UnknownDenomination(DenominationId),
    /// Amounts of several currencies, or too large.
    #[error(transparent)]
    Amount(#[from] AmountError),
}

/// How to pay an amount from the coins held: shown (its fees) before the swap is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangePlan {
    /// The coins held that pay as they are, by position in the coins held.
    pub pay: Vec<usize>,
    /// The coins held given in to the swap, by position; none when [`ChangePlan::pay`] adds up
    /// to the amount.
    pub give: Vec<usize>,
    /// The fresh coins to ask for: first those that pay the rest of the amount, then the change.
    pub wanted: Vec<Denomination>,
    /// How many of [`ChangePlan::wanted`], from the first, pay.
    pub wanted_paying: usize,
    /// What the issuer keeps of the coins given in: their denominations' swap fees.
    pub swap_fees: Amount,
}

impl ChangePlan {
    /// Whether the plan needs a swap at all.
    pub fn swaps(&self) -> bool {
        !self.give.is_empty()
    }
}

/// The denominations of `set` a wallet may ask for at `at`: withdrawable, not revoked.
pub fn withdrawable_now(set: &SignedDenominationSet, at: Timestamp) -> Vec<Denomination> {
    let body = set.body();
    (body.fields().denominations.iter())
        .filter(|d| d.can_withdraw(at) && !body.is_revoked(&d.id()))
        .cloned()
        .collect()
}

/// Plans paying `amount` from `held`: the largest coins that fit pay as they are; if they do not
/// add up, the smallest coin left whose value less its swap fee covers the rest (else the
/// largest coins left, until they do) is swapped for fresh coins of the rest and of the change,
/// in denominations of `set` withdrawable at `at`.
pub fn plan_change(
    held: &[WalletCoin],
    amount: Amount,
    set: &SignedDenominationSet,
    at: Timestamp,
) -> Result<ChangePlan, ChangeError> {
    let currency = amount.currency();
    let fee_of = |coin: &WalletCoin| -> Result<Amount, ChangeError> {
        let id = coin.coin().denomination;
        let denomination = (set.body().fields().denominations.iter())
            .find(|d| d.id() == id)
            .ok_or(ChangeError::UnknownDenomination(id))?;
        Ok(denomination.fees().swap)
    };
    let mut by_value: Vec<usize> = (0..held.len())
        .filter(|i| held[*i].value().currency() == currency)
        .collect();
    by_value.sort_by_key(|i| std::cmp::Reverse(held[*i].value().minor_units()));
    let mut left = amount;
    let mut pay = Vec::new();
    let mut unused = Vec::new();
    for index in by_value {
        match left.checked_sub(held[index].value()) {
            Ok(rest) => {
                left = rest;
                pay.push(index);
            }
            Err(_) => unused.push(index),
        }
    }
    let zero = Amount::zero(currency);
    if left == zero {
        return Ok(ChangePlan {
            pay,
            give: Vec::new(),
            wanted: Vec::new(),
            wanted_paying: 0,
            swap_fees: zero,
        });
    }
    let net = |index: usize| -> Result<Amount, ChangeError> {
        // A coin worth no more than its fee adds nothing.
        Ok(held[index]
            .value()
            .checked_sub(fee_of(&held[index])?)
            .unwrap_or(zero))
    };
    // `unused` runs from the largest coin down: the smallest that covers the rest alone is the
    // last that does.
    let mut single = None;
    for index in &unused {
        if net(*index)?.minor_units() >= left.minor_units() {
            single = Some(*index);
        }
    }
    let give = match single {
        Some(index) => vec![index],
        None => {
            let mut give = Vec::new();
            let mut covered = zero;
            for index in &unused {
                if covered.minor_units() >= left.minor_units() {
                    break;
                }
                covered = covered.checked_add(net(*index)?)?;
                give.push(*index);
            }
            if covered.minor_units() < left.minor_units() {
                return Err(ChangeError::NotEnough {
                    held: total(held, &pay, covered)?,
                    amount,
                });
            }
            give
        }
    };
    let mut value = zero;
    let mut swap_fees = zero;
    for index in &give {
        value = value.checked_add(net(*index)?)?;
        swap_fees = swap_fees.checked_add(fee_of(&held[*index])?)?;
    }
    let available = withdrawable_now(set, at);
    let change = value.checked_sub(left)?;
    let paying = wallet::change_for(left, &available).ok_or(ChangeError::NoDenominations(left))?;
    let kept = match change.minor_units() {
        0 => Vec::new(),
        _ => wallet::change_for(change, &available).ok_or(ChangeError::NoDenominations(change))?,
    };
    let wanted_paying = paying.len();
    Ok(ChangePlan {
        pay,
        give,
        wanted: paying.into_iter().chain(kept).collect(),
        wanted_paying,
        swap_fees,
    })
}

/// `start` plus the values of the coins of `held` at `positions`.
fn total(held: &[WalletCoin], positions: &[usize], start: Amount) -> Result<Amount, AmountError> {
    positions
        .iter()
        .try_fold(start, |sum, index| sum.checked_add(held[*index].value()))
}

/// What [`Wallet::make_change`] leaves the wallet with.
#[derive(Debug)]
pub struct Change {
    /// The coins that pay the amount exactly: those held that paid as they were, then fresh ones.
    pub pay: Vec<WalletCoin>,
    /// The fresh coins kept as change.
    pub kept: Vec<WalletCoin>,
}

impl Wallet {
    /// Swaps `given` at the issuer for fresh coins of `wanted`, unblinded and checked. `wanted`
    /// must be worth `given` less their swap fees ([`wallet::swap_value`]; a refunded coin is
    /// given as [`WalletCoin::refunded`]). A coin spent before refuses the whole swap, with the
    /// issuer's proof checked.
    pub fn swap(
        &self,
        api: &mut Api,
        given: &[WalletCoin],
        wanted: &[Denomination],
    ) -> Result<Vec<WalletCoin>, ChangeError> {
        let request_id = RequestId(rand::random());
        let (request, planned) = wallet::prepare_swap(&mut rand::rng(), request_id, given, wanted)
            .map_err(PartyError::from)?;
        let response = match api.swap(&request) {
            Ok(response) => response,
            Err(SwapError::Api(error)) => return Err(PartyError::Api(error).into()),
            Err(SwapError::Conflict { index, earlier }) => {
                let proven = given
                    .get(index)
                    .is_some_and(|coin| proves_spent(coin, &earlier));
                return Err(ChangeError::Conflict {
                    index,
                    earlier,
                    proven,
                });
            }
        };
        Ok(wallet::finalize_swap(request_id, planned, &response).map_err(PartyError::from)?)
    }

    /// Carries out `plan` over `held`: swaps what it gives in, then hands back the coins that
    /// pay and the change.
    pub fn make_change(
        &self,
        api: &mut Api,
        held: &[WalletCoin],
        plan: &ChangePlan,
    ) -> Result<Change, ChangeError> {
        let mut pay: Vec<WalletCoin> = plan.pay.iter().map(|i| held[*i].clone()).collect();
        if !plan.swaps() {
            return Ok(Change {
                pay,
                kept: Vec::new(),
            });
        }
        let given: Vec<WalletCoin> = plan.give.iter().map(|i| held[*i].clone()).collect();
        let mut fresh = self.swap(api, &given, &plan.wanted)?;
        let kept = fresh.split_off(plan.wanted_paying.min(fresh.len()));
        pay.extend(fresh);
        Ok(Change { pay, kept })
    }
}

/// Whether `earlier` proves that `coin` was spent: its coin, signed by the coin's key.
fn proves_spent(coin: &WalletCoin, earlier: &EarlierSpend) -> bool {
    let (spent, signed) = match earlier {
        EarlierSpend::Deposit(p) => (&p.body().coin, p.verify_coin_key().is_ok()),
        EarlierSpend::Swap(p) => (&p.body().coin, p.verify_coin_key().is_ok()),
        EarlierSpend::Recoup(p) => (&p.body().coin, p.verify_coin_key().is_ok()),
    };
    signed
        && spent.denomination == coin.coin().denomination
        && spent.public_key == coin.coin().public_key
}
