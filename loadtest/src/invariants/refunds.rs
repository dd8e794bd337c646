//! The refunds' invariants: no coin refunded more than it paid for its contract, no refund
//! accepted after its contract's deadline, and every refund answered as it was due (an honest
//! one debited with the coin's new total, one over what was paid or too late refused with its
//! code). That each refund was debited exactly once is `conservation.merchants`'s.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;

use super::{ClientBooks, Examples, Verdict, examples_lines, hex, verdict};

/// A refund the acquirer answered, and so debited, as the load sent it.
#[derive(Clone, Debug, Serialize)]
pub struct RefundBook {
    /// The merchant refunding (hex).
    pub merchant: String,
    /// Its acquirer (hex).
    pub acquirer: String,
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

#[cfg(test)]
mod tests {
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
}
