//! `semper try`'s change and refund steps: the wallet swaps a coin at the issuer to pay an
//! amount no coin it holds matches, the merchant refunds part of a coin, and the wallet swaps the
//! refunded coin for fresh coins of what was refunded.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use semper_client::Api;
use semper_client::change::{ChangeError, plan_change, withdrawable_now};
use semper_client::parties::{Merchant, PartyError, Wallet};
use semper_protocol::amount::Amount;
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::ContractHash;
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};

/// How long the wallet waits for the refunded coin's issuer to learn of the refund (the
/// acquirer tells it over the link after answering the merchant).
const REFUND_NOTICE_WAIT: Duration = Duration::from_secs(15);
/// Between two tries of the refunded coin's swap.
const SWAP_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Waits (within [`REFUND_NOTICE_WAIT`]) until the acquirer has the refund's confirmation from
/// the coin's issuer in its refund queue: the issuer's answer to the notice reaches it after the
/// swap above could use the refund, and only then can a flush settle it.
pub fn wait_for_refund_confirmation(api: &mut Api) -> anyhow::Result<()> {
    let deadline = Instant::now() + REFUND_NOTICE_WAIT;
    while api
        .outbox()
        .context("reading the acquirer's outbox")?
        .refunds_queued
        == 0
    {
        if Instant::now() >= deadline {
            bail!("the acquirer never had the issuer's confirmation of the refund");
        }
        std::thread::sleep(SWAP_RETRY_PAUSE);
    }
    Ok(())
}

/// Steps `first` and `first + 1`: change, then a partial refund and the refunded coin's swap.
pub fn change_and_refund(
    api: &mut Api,
    set: &SignedDenominationSet,
    wallet: &Wallet,
    merchant: &Merchant,
    now: Timestamp,
    first: usize,
) -> anyhow::Result<()> {
    let available = withdrawable_now(set, now);
    let mut values: Vec<&Denomination> = available.iter().collect();
    values.sort_by_key(|d| d.value().minor_units());
    let (Some(small), Some(big)) = (values.first(), values.last()) else {
        bail!("the issuer has no denomination open for withdrawal now");
    };
    ensure!(
        big.value().minor_units() > small.value().minor_units(),
        "change needs two coin values open for withdrawal; the issuer has one"
    );
    // Two big coins, and an amount of one big coin and three small ones: no coin held matches
    // the rest, so the wallet swaps the other big coin.
    let held = wallet.withdraw(api, big, 2)?.coins;
    let amount = big
        .value()
        .checked_add(Amount::from_minor_units(
            small.value().currency(),
            3 * small.value().minor_units(),
        ))
        .context("the amount to pay")?;
    let plan = plan_change(&held, amount, set, now)?;
    let paying = plan.wanted_paying;
    println!(
        "{first}. change: to pay {amount} with two coins of {}, the wallet swaps one at the \
         issuer for {} fresh coins ({paying} pay, {} kept as change); swap fees {}, shown \
         before it is sent",
        big.value(),
        plan.wanted.len(),
        plan.wanted.len() - paying,
        plan.swap_fees
    );
    let change = wallet.make_change(api, &held, &plan)?;
    let contract = ContractHash([3; 32]);
    let deposit = merchant.deposit_of(&change.pay, contract, now)?;
    let answer = merchant.deposit(api, &deposit)?;
    let accepted = (answer.results().iter())
        .filter(|result| matches!(result, DepositResult::Accepted))
        .count();
    ensure!(
        accepted == change.pay.len(),
        "the payment with change was not accepted whole: {:?}",
        answer.results()
    );
    println!(
        "   paid {amount} with {accepted} coins, all accepted; the swapped coin is spent, its \
         fresh coins unlinkable to it"
    );

    // A partial refund of the big coin that paid, then its swap for what was refunded.
    let paid = &change.pay[0];
    let refund_amount = Amount::from_minor_units(
        big.value().currency(),
        (big.value().minor_units() / small.value().minor_units() / 2).max(1)
            * small.value().minor_units(),
    );
    let refund = merchant.refund_of(paid, contract, refund_amount);
    let refunded = merchant.refund(api, &refund)?;
    let view = merchant.view(api)?;
    let balances = (view.balances.iter())
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    let fresh = swap_refunded(api, wallet, paid, big, refunded.amount, &available)?;
    // Once: the allowance is used, so the coin counts at its whole value again, and is spent: the
    // deposit is the proof against another swap.
    let whole = wallet::swap_value(&[(paid, *big)])?;
    let wanted = wallet::change_for(whole, &available)
        .with_context(|| format!("no denominations add up to {whole}"))?;
    let again = wallet.swap(api, std::slice::from_ref(paid), &wanted);
    ensure!(
        matches!(again, Err(ChangeError::Conflict { proven: true, .. })),
        "a second swap of the refunded coin was answered {again:?}"
    );
    let worth = fresh
        .iter()
        .try_fold(Amount::zero(refund_amount.currency()), |sum, coin| {
            sum.checked_add(coin.value())
        })
        .context("the fresh coins' value")?;
    println!(
        "{}. refund: the merchant refunded {} of a {} coin (merchant balance now {balances}); \
         the issuer learned it over the link, and the wallet swapped the refunded coin, once, \
         for {} fresh coins worth {worth}; a second swap of it is refused, with proof",
        first + 1,
        refunded.amount,
        big.value(),
        fresh.len()
    );
    Ok(())
}

/// Swaps `coin`, refunded `refunded`, for fresh coins of that value less its swap fee, retrying
/// until its issuer has the refund (within [`REFUND_NOTICE_WAIT`]): until then the issuer counts
/// the coin at its whole value, and the swap does not balance.
fn swap_refunded(
    api: &mut Api,
    wallet: &Wallet,
    coin: &WalletCoin,
    denomination: &Denomination,
    refunded: Amount,
    available: &[Denomination],
) -> anyhow::Result<Vec<WalletCoin>> {
    let given = coin.refunded(refunded);
    let value = wallet::swap_value(&[(&given, denomination)])?;
    let wanted = wallet::change_for(value, available)
        .with_context(|| format!("no denominations add up to {value}"))?;
    let deadline = Instant::now() + REFUND_NOTICE_WAIT;
    loop {
        match wallet.swap(api, std::slice::from_ref(&given), &wanted) {
            Ok(fresh) => return Ok(fresh),
            Err(ChangeError::Party(PartyError::Api(error)))
                if error.code() == Some("swap.unbalanced") && Instant::now() < deadline =>
            {
                std::thread::sleep(SWAP_RETRY_PAUSE)
            }
            Err(error) => return Err(error).context("swapping the refunded coin"),
        }
    }
}
