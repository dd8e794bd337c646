//! The refunds' invariants: no coin refunded more than it paid for its contract, no refund
//! accepted after its contract's deadline, and every refund answered as it was due (an honest
//! one debited with the coin's new total, one over what was paid or too late refused with its
//! code), a refunded coin swapped once for no more than its refunds, and every refund in
//! exactly one settlement report. That each refund was debited exactly once is
//! `conservation.merchants`'s.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::Serialize;

use super::{ClientBooks, Examples, ServerBooks, Verdict, examples_lines, hex, verdict};

/// A refund the acquirer answered, and so debited, as the load sent it.
#[derive(Clone, Debug, Serialize)]
pub struct RefundBook {
    /// The merchant refunding (hex).
    pub merchant: String,
    /// Its acquirer (hex).
    pub acquirer: String,
    /// The coin's issuer (hex), owed the refund.
    pub issuer: String,
    /// The refund's identity (hex), as the acquirer answered it.
    pub refund: String,
    /// The coin's public key.
    pub coin: [u8; 32],
    /// The contract the coin paid.
    pub contract: [u8; 32],
    /// The currency.
    pub currency: String,
    /// What the coin paid for the contract (its permission's amount), minor units.
    pub paid_minor: u64,
    /// What this refund gave back, as answered, minor units.
    pub amount_minor: u64,
    /// The coin's refunded total the acquirer answered, this refund included, minor units.
    pub coin_refunded_minor: u64,
    /// The deposit's refund deadline, ms since the epoch.
    pub deadline_ms: u64,
    /// When the load first sent it, ms since the epoch, on its own clock: the acquirer judged it
    /// no earlier.
    pub sent_ms: u64,
}

/// For each coin and contract, the refunds answered add up to at most what the coin paid, each
/// refund of a coin accepted for that merchant, and each answer's running total is the sum so
/// far.
pub(super) fn within_deposit(client: &ClientBooks) -> Verdict {
    let credited: HashSet<([u8; 32], &str)> = (client.accepted.iter())
        .map(|coin| (coin.coin, coin.merchant.as_str()))
        .collect();
    let mut totals: BTreeMap<([u8; 32], [u8; 32]), (u64, u64)> = BTreeMap::new();
    let mut broken = Examples::default();
    for refund in &client.refunds {
        let coin = hex(&refund.coin);
        if !credited.contains(&(refund.coin, refund.merchant.as_str())) {
            broken.push(format!(
                "coin {coin}: refunded by merchant {}, which was never paid with it",
                refund.merchant
            ));
        }
        let (total, paid) = totals
            .entry((refund.coin, refund.contract))
            .or_insert((0, refund.paid_minor));
        *total += refund.amount_minor;
        if *total > *paid {
            broken.push(format!(
                "coin {coin}: refunds of {total} for its contract, more than the {paid} it paid"
            ));
        }
        if refund.coin_refunded_minor != *total {
            broken.push(format!(
                "coin {coin}: answered {} refunded in all, but its refunds add up to {total}",
                refund.coin_refunded_minor
            ));
        }
    }
    verdict(
        "refunds.within_deposit",
        "no coin is refunded more than it paid for its contract, nor by a merchant it did not pay",
        examples_lines(&broken),
        format!(
            "{} refunds of {} (coin, contract) pairs",
            client.refunds.len(),
            totals.len()
        ),
    )
}

/// No refund was accepted once its contract's deadline had passed.
pub(super) fn deadline_kept(client: &ClientBooks) -> Verdict {
    let mut broken = Examples::default();
    for refund in client.refunds.iter().filter(|r| r.sent_ms > r.deadline_ms) {
        broken.push(format!(
            "coin {}: refund of {} accepted though sent {} ms after the deadline",
            hex(&refund.coin),
            refund.amount_minor,
            refund.sent_ms - refund.deadline_ms
        ));
    }
    verdict(
        "refunds.deadline_kept",
        "no refund is accepted after its contract's refund deadline",
        examples_lines(&broken),
        format!("{} refunds, each before its deadline", client.refunds.len()),
    )
}

/// Every refund was answered as due.
pub(super) fn answered_as_due(client: &ClientBooks) -> Verdict {
    let mut broken = examples_lines(&client.refund_failures);
    let accounted =
        client.refunds_answered_as_due + client.refund_failures.count + client.refunds_unanswered;
    if accounted != client.refund_attempts {
        broken.push(format!(
            "{} refunds, {} answered as due, {} not: the rest have no answer",
            client.refund_attempts, client.refunds_answered_as_due, client.refund_failures.count
        ));
    }
    verdict(
        "refunds.answered_as_due",
        "an honest refund is debited with the coin's new total; one over what the coin paid or after the deadline is refused with its code",
        broken,
        if client.refunds_unanswered == 0 {
            format!("{} refunds, all answered as due", client.refund_attempts)
        } else {
            format!(
                "{} refunds: {} answered as due, {} unanswered while the deployment was down",
                client.refund_attempts, client.refunds_answered_as_due, client.refunds_unanswered
            )
        },
    )
}

/// No coin both refunded and spent twice: a coin given in to a swap for its refund allowance was
/// accepted in exactly one deposit, refunded, and given in once, for no more than was refunded on
/// it.
pub(super) fn spent_once(client: &ClientBooks) -> Verdict {
    let mut accepted: HashMap<[u8; 32], u32> = HashMap::new();
    for coin in &client.accepted {
        *accepted.entry(coin.coin).or_default() += 1;
    }
    let mut refunded: HashMap<[u8; 32], u64> = HashMap::new();
    for refund in &client.refunds {
        *refunded.entry(refund.coin).or_default() += refund.amount_minor;
    }
    let mut swapped: HashMap<[u8; 32], u32> = HashMap::new();
    let mut broken = Examples::default();
    let inputs = client.swaps.iter().flat_map(|s| &s.inputs);
    for input in inputs.filter(|i| i.refunded) {
        let coin = hex(&input.coin);
        let times = swapped.entry(input.coin).or_default();
        *times += 1;
        if *times == 2 {
            broken.push(format!("coin {coin}: refunded, and swapped twice"));
        }
        let deposits = accepted.get(&input.coin).copied().unwrap_or(0);
        if deposits != 1 {
            broken.push(format!(
                "coin {coin}: swapped for its refund, but accepted in {deposits} deposits"
            ));
        }
        let refunds = refunded.get(&input.coin).copied().unwrap_or(0);
        if input.value_minor > refunds {
            broken.push(format!(
                "coin {coin}: swapped for {} though {refunds} was refunded on it",
                input.value_minor
            ));
        }
    }
    verdict(
        "refunds.spent_once",
        "no coin is both refunded and spent twice: a refunded coin is swapped once, for at most what was refunded on it, after exactly one deposit",
        examples_lines(&broken),
        format!(
            "{} refunded coins swapped, each once, within its refunds",
            swapped.len()
        ),
    )
}

/// Every refund the acquirer answered is in exactly one settlement report, under the refund
/// obligation from its acquirer to the coin's issuer, none twice, none missing after the final
/// flush; each obligation owes what its refunds add up to; the outboxes hold no refund back.
pub(super) fn reported(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut broken = Examples::default();
    let booked: HashMap<&str, &RefundBook> = (client.refunds.iter())
        .map(|refund| (refund.refund.as_str(), refund))
        .collect();
    let mut seen: HashMap<&str, u64> = HashMap::new();
    let mut unknown = 0u64;
    for report in &server.reports {
        for obligation in &report.refunds {
            let mut owed = 0u128;
            let mut unnamed = 0u64;
            for id in &obligation.refunds {
                *seen.entry(id.as_str()).or_default() += 1;
                match booked.get(id.as_str()) {
                    Some(refund)
                        if refund.acquirer == obligation.acquirer
                            && refund.issuer == obligation.issuer
                            && refund.currency == obligation.currency =>
                    {
                        owed += u128::from(refund.amount_minor);
                    }
                    Some(refund) => broken.push(format!(
                        "cycle {}: refund {id} of acquirer {} to issuer {} settled from {} to {}",
                        report.sequence,
                        refund.acquirer,
                        refund.issuer,
                        obligation.acquirer,
                        obligation.issuer
                    )),
                    None => unnamed += 1,
                }
            }
            unknown += unnamed;
            if owed != u128::from(obligation.amount_minor) && unnamed == 0 {
                broken.push(format!(
                    "cycle {}: acquirer {} owes issuer {} {} {} for refunds that add up to {owed}",
                    report.sequence,
                    obligation.acquirer,
                    obligation.issuer,
                    obligation.amount_minor,
                    obligation.currency
                ));
            }
        }
    }
    for (id, times) in seen.iter().filter(|(_, times)| **times > 1) {
        broken.push(format!("refund {id} in {times} reports"));
    }
    for refund in client.refunds.iter() {
        if !seen.contains_key(refund.refund.as_str()) {
            broken.push(format!(
                "refund {} of coin {} ({} from acquirer {}) in no report",
                refund.refund,
                hex(&refund.coin),
                refund.amount_minor,
                refund.acquirer
            ));
        }
    }
    // A refund whose answer was lost while the deployment was down may be settled unbooked.
    if unknown > client.refunds_unanswered {
        broken.push(format!(
            "{unknown} refunds settled that no answer of the run named"
        ));
    }
    for outbox in &server.outboxes {
        if outbox.refunds_queued + outbox.refused_refunds > 0 {
            broken.push(format!(
                "acquirer {}: after the final flush {} refund confirmations queued, {} refused",
                outbox.acquirer, outbox.refunds_queued, outbox.refused_refunds
            ));
        }
    }
    verdict(
        "refunds.reported",
        "every refund debited is in exactly one settlement report, owed by its acquirer to the coin's issuer",
        examples_lines(&broken),
        format!(
            "{} refunds, each in one of {} reports",
            client.refunds.len(),
            server.reports.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::swaps::tests::{input, swap};
    use super::super::tests::{broken, clean, coin, refund};

    #[test]
    fn refunds_over_what_the_coin_paid_are_reported() {
        let (mut client, server) = clean();
        // Coin 1 paid 10: 5 refunded, then 6 more (the running total answered as 11).
        client.refunds.push(refund(1, 6, 11));
        let names = broken(&client, &server);
        assert!(names.contains(&"refunds.within_deposit"), "{names:?}");
        // One refund alone larger than the coin.
        let (mut client, server) = clean();
        client.refunds = vec![refund(1, 12, 12)];
        let names = broken(&client, &server);
        assert!(names.contains(&"refunds.within_deposit"), "{names:?}");
    }

    #[test]
    fn a_refund_of_a_coin_never_accepted_or_with_a_wrong_total_is_reported() {
        let (mut client, server) = clean();
        client.refunds[0].coin = [7; 32];
        let names = broken(&client, &server);
        assert!(names.contains(&"refunds.within_deposit"), "{names:?}");
        let (mut client, server) = clean();
        client.refunds[0].merchant = "another".into();
        let names = broken(&client, &server);
        assert!(names.contains(&"refunds.within_deposit"), "{names:?}");
        let (mut client, server) = clean();
        client.refunds[0].coin_refunded_minor = 4;
        assert_eq!(broken(&client, &server), ["refunds.within_deposit"]);
        // The same coin at another merchant's contract is not the same deposit.
        let (mut client, server) = clean();
        client.accept(coin(3, 10));
        let mut other = refund(3, 10, 10);
        other.contract = [8; 32];
        client.refunds.push(other);
        let names = broken(&client, &server);
        assert!(!names.contains(&"refunds.within_deposit"), "{names:?}");
    }

    #[test]
    fn a_refund_accepted_after_its_deadline_is_reported() {
        let (mut client, server) = clean();
        client.refunds[0].sent_ms = 2001;
        assert_eq!(broken(&client, &server), ["refunds.deadline_kept"]);
        client.refunds[0].sent_ms = 2000;
        assert!(broken(&client, &server).is_empty());
    }

    #[test]
    fn refunds_answered_otherwise_than_due_or_not_at_all_are_reported() {
        let (mut client, server) = clean();
        client
            .refund_failures
            .push("coin 02: refund over what it paid accepted".into());
        assert_eq!(broken(&client, &server), ["refunds.answered_as_due"]);
        let (mut client, server) = clean();
        client.refund_attempts = 3;
        assert_eq!(broken(&client, &server), ["refunds.answered_as_due"]);
        client.refunds_unanswered = 1;
        assert!(broken(&client, &server).is_empty());
    }

    #[test]
    fn a_refunded_coin_swapped_once_within_its_refunds_breaks_nothing() {
        let (mut client, server) = clean();
        // Coin 1 was refunded 5: swapped for 5 (4 after the fee), with coin 3 beside it.
        client
            .swaps
            .push(swap(vec![input(1, 5, true), input(3, 10, false)]));
        client.swap_attempts = 1;
        assert!(broken(&client, &server).is_empty());
    }

    #[test]
    fn a_refunded_coin_swapped_twice_or_for_more_than_its_refunds_is_reported() {
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(1, 5, true)]));
        client.swaps.push(swap(vec![input(1, 5, true)]));
        client.swap_attempts = 2;
        assert_eq!(broken(&client, &server), ["refunds.spent_once"]);
        let (mut client, server) = clean();
        client.swaps.push(swap(vec![input(1, 6, true)]));
        client.swap_attempts = 1;
        assert_eq!(broken(&client, &server), ["refunds.spent_once"]);
        // Coin 2 was never refunded; coin 3 never deposited.
        for n in [2, 3] {
            let (mut client, server) = clean();
            client.swaps.push(swap(vec![input(n, 1, true)]));
            client.swap_attempts = 1;
            assert_eq!(broken(&client, &server), ["refunds.spent_once"]);
        }
    }

    #[test]
    fn a_refund_missing_from_the_reports_or_in_two_is_reported() {
        // Missing: the report settles no refund (its positions net the deposits alone).
        let (client, mut server) = clean();
        server.reports[0].refunds.clear();
        server.reports[0].positions[0].net_minor = -20;
        server.reports[0].positions[1].net_minor = 20;
        assert_eq!(broken(&client, &server), ["refunds.reported"]);
        // Twice: a second report settles it again.
        let (client, mut server) = clean();
        let mut again = server.reports[0].clone();
        again.sequence = 8;
        again.obligations.clear();
        again.positions[0].net_minor = 5;
        again.positions[1].net_minor = -5;
        server.reports.push(again);
        let names = broken(&client, &server);
        assert!(names.contains(&"refunds.reported"), "{names:?}");
        // Owed for another amount than the refund's, or one nobody was answered.
        let (client, mut server) = clean();
        server.reports[0].refunds[0].amount_minor = 6;
        server.reports[0].positions[0].net_minor = -14;
        server.reports[0].positions[1].net_minor = 14;
        assert_eq!(broken(&client, &server), ["refunds.reported"]);
        let (client, mut server) = clean();
        server.reports[0].refunds[0].refunds.push("r9".into());
        assert_eq!(broken(&client, &server), ["refunds.reported"]);
        // Still queued at the acquirer after the final flush.
        let (client, mut server) = clean();
        server.outboxes[0].refunds_queued = 1;
        assert_eq!(broken(&client, &server), ["refunds.reported"]);
    }
}
