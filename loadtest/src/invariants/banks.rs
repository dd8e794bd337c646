//! Conservation of value across banks: what the clearing house's reports say issuers owe each
//! acquirer is what that acquirer's merchants hold, plus the deposit fees it kept, plus the
//! refunds it debited them; and no issuer owes, net of the refunds owed to it, more than was
//! withdrawn from it less the swap fees it kept. Each side is read from another bank (the
//! reports from the clearing house, the balances from the acquirers), the fees and refunds from
//! what the load was answered. That each refund is owed back to its issuer in exactly one report
//! is `refunds.reported`'s.

use std::collections::{BTreeMap, BTreeSet};

use super::{ClientBooks, ServerBooks, Verdict, verdict};

/// Per (acquirer, currency): reports' obligations to it = its merchants' balances, deposit fees
/// and refunds; per (issuer, currency): reports' obligations of it less the refunds owed to it ≤
/// the value withdrawn from it less the swap fees it kept and the coins recouped.
pub(super) fn value_conserved_across_banks(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut owed_to: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    let mut owed_by: BTreeMap<(&str, &str), i128> = BTreeMap::new();
    for refund in server.reports.iter().flat_map(|r| &r.refunds) {
        *owed_by
            .entry((&refund.issuer, &refund.currency))
            .or_default() -= i128::from(refund.amount_minor);
    }
    for obligation in server.reports.iter().flat_map(|r| &r.obligations) {
        let amount = u128::from(obligation.amount_minor);
        *owed_to
            .entry((&obligation.acquirer, &obligation.currency))
            .or_default() += amount;
        *owed_by
            .entry((&obligation.issuer, &obligation.currency))
            .or_default() += amount as i128;
    }
    let mut held: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    for ((acquirer, _, currency), balance) in &server.merchant_credits {
        *held.entry((acquirer, currency)).or_default() += u128::from(*balance);
    }
    for coin in &client.accepted {
        *held.entry((&coin.acquirer, &coin.currency)).or_default() +=
            u128::from(coin.deposit_fee_minor);
    }
    for refund in &client.refunds {
        *held
            .entry((&refund.acquirer, &refund.currency))
            .or_default() += u128::from(refund.amount_minor);
    }
    let mut broken = Vec::new();
    let acquirers: BTreeSet<_> = owed_to.keys().chain(held.keys()).copied().collect();
    for key in &acquirers {
        let owed = owed_to.get(key).copied().unwrap_or(0);
        let found = held.get(key).copied().unwrap_or(0);
        if owed != found {
            broken.push(format!(
                "acquirer {} {}: reports owe it {owed} but its merchants hold, with the deposit fees and refunds, {found}",
                key.0, key.1
            ));
        }
    }
    let mut withdrawn: BTreeMap<(&str, &str), i128> = BTreeMap::new();
    for wallet in &client.wallets {
        *withdrawn
            .entry((&wallet.issuer, &wallet.currency))
            .or_default() += i128::from(wallet.withdrawn_minor);
    }
    for swap in &client.swaps {
        *withdrawn.entry((&swap.issuer, &swap.currency)).or_default() -= swap.fees_minor() as i128;
    }
    // A recouped coin's value went back to its account: it is owed to no acquirer.
    for (recoup, wallet) in client.recoups.iter().filter_map(|r| {
        let wallet = client.wallets.iter().find(|w| w.account == r.account)?;
        Some((r, wallet))
    }) {
        *withdrawn
            .entry((&wallet.issuer, &wallet.currency))
            .or_default() -= i128::from(recoup.value_minor);
    }
    for (key, owed) in &owed_by {
        let out = withdrawn.get(key).copied().unwrap_or(0);
        if *owed > out {
            broken.push(format!(
                "issuer {} {}: reports make it owe {owed} net of refunds, more than the {out} withdrawn from it less swap fees",
                key.0, key.1
            ));
        }
    }
    verdict(
        "conservation.banks",
        "what the reports make issuers owe each acquirer = its merchants' balances + deposit fees + refunds, and no issuer owes, net of refunds, more than was withdrawn from it less swap fees and recoups",
        broken,
        format!(
            "{} (acquirer, currency) and {} (issuer, currency) pairs",
            acquirers.len(),
            owed_by.len()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::tests::{ACQUIRER, ISSUER, MERCHANT, broken, clean};
    use super::super::{ServerBooks, check};

    fn details(client: &super::ClientBooks, server: &ServerBooks) -> Vec<String> {
        check(client, server)
            .into_iter()
            .find(|v| v.name == "conservation.banks")
            .map(|v| if v.ok { Vec::new() } else { v.details })
            .unwrap_or_default()
    }

    #[test]
    fn an_acquirer_holding_other_than_the_reports_owe_it_is_reported() {
        // The report owes 20; the merchant holds 11, the fees are 4 and the refund 5: clean.
        let (client, mut server) = clean();
        assert!(details(&client, &server).is_empty());
        // The merchant holds one more than the reports, fees and refunds account for.
        let key = (ACQUIRER.to_owned(), MERCHANT.to_owned(), "EUR".to_owned());
        server.merchant_credits.insert(key, 12);
        let found = details(&client, &server);
        assert!(
            found
                .iter()
                .any(|d| d.contains(&format!("acquirer {ACQUIRER}"))),
            "{found:?}"
        );
    }

    #[test]
    fn an_issuer_owing_more_than_was_withdrawn_from_it_is_reported() {
        let (mut client, server) = clean();
        // The reports make the issuer owe 20 less a refund of 5; its wallet withdrew only 10.
        client.wallets[0].withdrawn_minor = 10;
        client.wallets[0].credited_minor = 980;
        let names = broken(&client, &server);
        assert!(names.contains(&"conservation.banks"), "{names:?}");
        let found = details(&client, &server);
        assert!(
            found
                .iter()
                .any(|d| d.contains(&format!("issuer {ISSUER}"))),
            "{found:?}"
        );
    }

    #[test]
    fn an_issuer_owing_more_than_withdrawn_less_its_swap_fees_is_reported() {
        // The issuer owes 15 net of the refund; 30 withdrawn. Swaps of 16 coins kept 16 in fees:
        // at most 14 can be owed.
        let (mut client, server) = clean();
        let inputs = (10..26).map(|n| super::super::swaps::tests::input(n, 10, false));
        client
            .swaps
            .push(super::super::swaps::tests::swap(inputs.collect()));
        client.swap_attempts = 1;
        let found = details(&client, &server);
        assert!(
            found
                .iter()
                .any(|d| d.contains(&format!("issuer {ISSUER}"))),
            "{found:?}"
        );
        // 15 coins' fees leave it owing exactly what it may.
        client.swaps[0].inputs.pop();
        client.swaps[0].outputs_minor -= 9;
        assert!(details(&client, &server).is_empty());
    }
}
