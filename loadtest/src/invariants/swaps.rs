//! The swaps' invariants: every swap signed for fresh coins worth what was given in less the
//! swap fees, and every coin given in spent again refused with the swap as proof. That a coin
//! given in for its value is never accepted nor given in again is `double_spend.none_accepted`'s;
//! that a refunded coin is given in once, within its refunds, is `refunds.spent_once`'s.

use serde::Serialize;

use super::{ClientBooks, Examples, Verdict, examples_lines, verdict};

/// A coin given in to a swap.
#[derive(Clone, Debug, Serialize)]
pub struct SwapInput {
    /// The coin's public key.
    pub coin: [u8; 32],
    /// What it was given in for, minor units: its value, or its refund allowance.
    pub value_minor: u64,
    /// Its denomination's swap fee, minor units.
    pub fee_minor: u64,
    /// Given in for its refund allowance, after a deposit, rather than for its value.
    pub refunded: bool,
}

/// A swap the issuer signed.
#[derive(Clone, Debug, Serialize)]
pub struct SwapBook {
    /// The issuer (hex).
    pub issuer: String,
    /// The currency.
    pub currency: String,
    /// The coins given in.
    pub inputs: Vec<SwapInput>,
    /// The fresh coins' values summed, minor units.
    pub outputs_minor: u64,
    /// The fresh coins signed.
    pub outputs: u64,
}

impl SwapBook {
    /// What its coins were worth less their swap fees, minor units.
    pub fn net_minor(&self) -> u128 {
        (self.inputs.iter())
            .map(|i| u128::from(i.value_minor.saturating_sub(i.fee_minor)))
            .sum()
    }

    /// Its swap fees, minor units.
    pub fn fees_minor(&self) -> u128 {
        self.inputs.iter().map(|i| u128::from(i.fee_minor)).sum()
    }
}

/// Every coin given in to a swap for its value (not a refunded coin's allowance).
pub(super) fn fresh_inputs(client: &ClientBooks) -> impl Iterator<Item = &SwapInput> {
    (client.swaps.iter())
        .flat_map(|swap| &swap.inputs)
        .filter(|input| !input.refunded)
}

/// What swaps gave out and took in of the wallets' unspent coins: value out, coins out, value
/// in, coins in.
pub(super) fn fresh_totals(client: &ClientBooks) -> (u128, u128, u128, u128) {
    let out_minor = client
        .swaps
        .iter()
        .map(|s| u128::from(s.outputs_minor))
        .sum();
    let out_coins = client.swaps.iter().map(|s| u128::from(s.outputs)).sum();
    let (in_minor, in_coins) = fresh_inputs(client).fold((0u128, 0u128), |(minor, coins), i| {
        (minor + u128::from(i.value_minor), coins + 1)
    });
    (out_minor, out_coins, in_minor, in_coins)
}

/// Every swap was signed, its fresh coins worth what its coins were given in for less their
/// swap fees.
pub(super) fn answered_as_due(client: &ClientBooks) -> Verdict {
    let mut broken = Examples::default();
    for (index, swap) in client.swaps.iter().enumerate() {
        if swap.inputs.is_empty() || u128::from(swap.outputs_minor) != swap.net_minor() {
            broken.push(format!(
                "swap {index} at issuer {}: fresh coins worth {} for coins worth {} less {} in swap fees",
                swap.issuer,
                swap.outputs_minor,
                swap.net_minor() + swap.fees_minor(),
                swap.fees_minor()
            ));
        }
    }
    let mut broken = examples_lines(&broken);
    broken.extend(examples_lines(&client.swap_failures));
    let signed = client.swaps.len() as u64;
    let accounted = signed + client.swap_failures.count + client.swaps_unanswered;
    if accounted != client.swap_attempts {
        broken.push(format!(
            "{} swaps, {signed} signed, {} failed, {} unanswered: the rest have no answer",
            client.swap_attempts, client.swap_failures.count, client.swaps_unanswered
        ));
    }
    let fees: u128 = client.swaps.iter().map(SwapBook::fees_minor).sum();
    let refunded = (client.swaps.iter())
        .filter(|s| s.inputs.iter().any(|i| i.refunded))
        .count();
    verdict(
        "swaps.answered_as_due",
        "every swap is signed, for fresh coins worth what its coins were given in for (their value or refund allowance) less the swap fees",
        broken,
        format!(
            "{signed} swaps signed ({refunded} of refunded coins, {fees} minor units of swap fees), {} unanswered while down",
            client.swaps_unanswered
        ),
    )
}

/// Every coin given in spent again was refused with the swap, or its own earlier permission,
/// as proof.
pub(super) fn spent_refused_with_proof(client: &ClientBooks) -> Verdict {
    let mut broken = examples_lines(&client.swapped_spend_failures);
    let accounted = client.swapped_spends_refused_with_proof
        + client.swapped_spend_failures.count
        + client.swapped_spends_unanswered;
    if accounted != client.swapped_spend_attempts {
        broken.push(format!(
            "{} spends of swapped coins, {} refused with proof, {} not: the rest have no answer",
            client.swapped_spend_attempts,
            client.swapped_spends_refused_with_proof,
            client.swapped_spend_failures.count
        ));
    }
    verdict(
        "swaps.spent_refused_with_proof",
        "a coin given in to a swap and deposited later is refused as swapped with the swap's permission as proof; a refunded coin swapped again is refused",
        broken,
        format!(
            "{} attempts: {} refused with proof, {} unanswered while down",
            client.swapped_spend_attempts,
            client.swapped_spends_refused_with_proof,
            client.swapped_spends_unanswered
        ),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{broken, clean, coin};
    use super::*;

    /// Coin `n` of 10 given in with a swap fee of 1, for its value or (refunded) for `value`.
    pub(in crate::invariants) fn input(n: u8, value_minor: u64, refunded: bool) -> SwapInput {
        SwapInput {
            coin: [n; 32],
            value_minor,
            fee_minor: 1,
            refunded,
        }
    }

    /// A swap of `inputs` for what they are worth less their fees, in coins of 9.
    pub(in crate::invariants) fn swap(inputs: Vec<SwapInput>) -> SwapBook {
        let mut book = SwapBook {
            issuer: super::super::tests::ISSUER.into(),
            currency: "EUR".into(),
            inputs,
            outputs_minor: 0,
            outputs: 0,
        };
        book.outputs_minor = book.net_minor() as u64;
        book.outputs = book.outputs_minor / 9;
        book
    }

    #[test]
    fn a_swap_of_the_third_coin_breaks_nothing() {
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(3, 10, false)]));
        client.swap_attempts = 1;
        assert!(broken(&client, &server).is_empty());
    }

    #[test]
    fn a_swap_signed_for_more_or_less_than_its_coins_net_is_reported() {
        let (mut client, server) = clean();
        let mut book = swap(vec![input(3, 10, false)]);
        // The swap fee not charged.
        book.outputs_minor = 10;
        client.swaps.push(book);
        client.swap_attempts = 1;
        assert_eq!(broken(&client, &server), ["swaps.answered_as_due"]);
    }

    #[test]
    fn a_swap_refused_or_never_answered_is_reported() {
        let (mut client, server) = clean();
        client.swap_attempts = 1;
        assert_eq!(broken(&client, &server), ["swaps.answered_as_due"]);
        client.swaps_unanswered = 1;
        assert!(broken(&client, &server).is_empty());
        client.swap_failures.push("swap 01: swap.unbalanced".into());
        client.swap_attempts = 2;
        assert_eq!(broken(&client, &server), ["swaps.answered_as_due"]);
    }

    #[test]
    fn a_swapped_coin_accepted_or_swapped_again_is_a_double_spend() {
        // Coin 1 was accepted, then given in for its value.
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(1, 10, false)]));
        client.swap_attempts = 1;
        assert!(
            broken(&client, &server).contains(&"double_spend.none_accepted"),
            "{:?}",
            broken(&client, &server)
        );
        // Coin 3 given in twice.
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(3, 10, false)]));
        client.swaps.push(swap(vec![input(3, 10, false)]));
        client.swap_attempts = 2;
        assert_eq!(broken(&client, &server), ["double_spend.none_accepted"]);
        // More coins accepted than withdrawn and swapped out allow.
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(3, 10, false)]));
        client.swap_attempts = 1;
        client.accept(coin(3, 10));
        let names = broken(&client, &server);
        assert!(names.contains(&"conservation.deposits"), "{names:?}");
    }

    #[test]
    fn a_swapped_coin_deposited_and_not_refused_with_proof_is_reported() {
        let (mut client, server) = clean();
        client.swapped_spend_attempts = 2;
        client.swapped_spends_refused_with_proof = 1;
        assert_eq!(broken(&client, &server), ["swaps.spent_refused_with_proof"]);
        client.swapped_spends_unanswered = 1;
        assert!(broken(&client, &server).is_empty());
        client
            .swapped_spend_failures
            .push("coin 03: conflict (recouped)".into());
        client.swapped_spend_attempts = 3;
        assert_eq!(broken(&client, &server), ["swaps.spent_refused_with_proof"]);
    }
}
