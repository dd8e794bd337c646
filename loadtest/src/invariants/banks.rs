//! Conservation of value across banks: what the clearing house's reports say issuers owe each
//! acquirer is what that acquirer's merchants hold, plus the deposit fees it kept, plus the
//! refunds it debited them; and no issuer owes more than was withdrawn from it. Each side is
//! read from another bank (the reports from the clearing house, the balances from the
//! acquirers), the fees and refunds from what the load was answered.
//!
//! Refunds do not settle yet (docs/protocol.md, known gaps): once reports carry them, from the
//! acquirer to the coin's issuer, they leave the acquirer's side of this sum and enter the
//! reports' opposite obligations.

use std::collections::{BTreeMap, BTreeSet};

use super::{ClientBooks, ServerBooks, Verdict, verdict};

/// Per (acquirer, currency): reports' obligations to it = its merchants' balances + deposit fees
/// + refunds; per (issuer, currency): reports' obligations of it ≤ the value withdrawn from it.
pub(super) fn value_conserved_across_banks(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut owed_to: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    let mut owed_by: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    for obligation in server.reports.iter().flat_map(|r| &r.obligations) {
        let amount = u128::from(obligation.amount_minor);
        *owed_to
            .entry((&obligation.acquirer, &obligation.currency))
            .or_default() += amount;
        *owed_by
            .entry((&obligation.issuer, &obligation.currency))
            .or_default() += amount;
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
    let mut withdrawn: BTreeMap<(&str, &str), u128> = BTreeMap::new();
    for wallet in &client.wallets {
        *withdrawn
            .entry((&wallet.issuer, &wallet.currency))
            .or_default() += u128::from(wallet.withdrawn_minor);
    }
    for (key, owed) in &owed_by {
        let out = withdrawn.get(key).copied().unwrap_or(0);
        if *owed > out {
            broken.push(format!(
                "issuer {} {}: reports make it owe {owed}, more than the {out} withdrawn from it",
                key.0, key.1
            ));
        }
    }
    verdict(
        "conservation.banks",
        "what the reports make issuers owe each acquirer = its merchants' balances + deposit fees + refunds, and no issuer owes more than was withdrawn from it",
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
        // The reports make the issuer owe 20; its wallet withdrew only 10.
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
}
