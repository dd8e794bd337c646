//! The recoups' invariant: a recouped coin is credited once, its whole value, to the account
//! that withdrew it, and is never spent after (a deposit of it refused). That the account's
//! balance shows each credit once is `conservation.accounts`'s.

use std::collections::HashMap;

use serde::Serialize;

use super::{ClientBooks, Examples, Verdict, examples_lines, hex, verdict};

/// A recoup the issuer answered.
#[derive(Clone, Debug, Serialize)]
pub struct RecoupBook {
    /// The account that withdrew the coin (hex).
    pub account: String,
    /// Its issuer (hex).
    pub issuer: String,
    /// The coin's public key.
    pub coin: [u8; 32],
    /// The coin's value, minor units.
    pub value_minor: u64,
    /// What the answer says was credited, minor units.
    pub credited_minor: u64,
    /// The account the answer says was credited (hex).
    pub credited_account: String,
    /// The coin the answer names.
    pub answered_coin: [u8; 32],
}

/// What recoups took back of the coins: value and coins.
pub(super) fn totals(client: &ClientBooks) -> (u128, u128) {
    (client.recoups.iter()).fold((0, 0), |(minor, coins), r| {
        (minor + u128::from(r.value_minor), coins + 1)
    })
}

/// Every recoup credited its coin's whole value to the withdrawing account, each coin once, and
/// no recouped coin was accepted in a deposit, given in to a swap, or deposited without refusal.
pub(super) fn credited_once(client: &ClientBooks) -> Verdict {
    let mut broken = Examples::default();
    let mut seen: HashMap<[u8; 32], u32> = HashMap::new();
    for recoup in &client.recoups {
        let coin = hex(&recoup.coin);
        let times = seen.entry(recoup.coin).or_default();
        *times += 1;
        if *times == 2 {
            broken.push(format!("coin {coin}: recouped twice"));
        }
        if recoup.credited_minor != recoup.value_minor
            || recoup.credited_account != recoup.account
            || recoup.answered_coin != recoup.coin
        {
            broken.push(format!(
                "coin {coin} of {}: recoup answered {} credited to {} for coin {}",
                recoup.value_minor,
                recoup.credited_minor,
                recoup.credited_account,
                hex(&recoup.answered_coin)
            ));
        }
    }
    let spent = (client.accepted.iter().map(|c| c.coin)).chain(
        client
            .swaps
            .iter()
            .flat_map(|s| s.inputs.iter().map(|i| i.coin)),
    );
    for coin in spent.filter(|coin| seen.contains_key(coin)) {
        broken.push(format!("coin {}: recouped and spent", hex(&coin)));
    }
    let mut broken = examples_lines(&broken);
    broken.extend(examples_lines(&client.recoup_failures));
    broken.extend(examples_lines(&client.recouped_spend_failures));
    let answered = client.recoups.len() as u64;
    if answered + client.recoup_failures.count + client.recoups_unanswered != client.recoup_attempts
    {
        broken.push(format!(
            "{} recoups, {answered} credited, {} failed: the rest have no answer",
            client.recoup_attempts, client.recoup_failures.count
        ));
    }
    if client.recouped_spends_refused
        + client.recouped_spend_failures.count
        + client.recouped_spends_unanswered
        != client.recouped_spend_attempts
    {
        broken.push(format!(
            "{} deposits of recouped coins, {} refused: the rest have no answer",
            client.recouped_spend_attempts, client.recouped_spends_refused
        ));
    }
    verdict(
        "recoups.credited_once",
        "a coin of a revoked denomination is recouped once, its whole value credited to the account that withdrew it, and refused when deposited after",
        broken,
        format!(
            "{answered} coins recouped, each once; {} of {} deposits of recouped coins refused, {} unanswered while down",
            client.recouped_spends_refused,
            client.recouped_spend_attempts,
            client.recouped_spends_unanswered
        ),
    )
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::tests::{broken, clean, coin};
    use super::*;

    /// The recoup of coin `n` of 10, withdrawn by account `aa`, credited as due.
    pub(in crate::invariants) fn recoup(n: u8) -> RecoupBook {
        RecoupBook {
            account: "aa".into(),
            issuer: super::super::tests::ISSUER.into(),
            coin: [n; 32],
            value_minor: 10,
            credited_minor: 10,
            credited_account: "aa".into(),
            answered_coin: [n; 32],
        }
    }

    /// `clean` with coin 3 recouped: its account credited 10 more.
    fn recouped() -> (ClientBooks, super::super::ServerBooks) {
        let (mut client, mut server) = clean();
        client.recoups.push(recoup(3));
        client.recoup_attempts = 1;
        client.wallets[0].recouped_minor = 10;
        server.wallet_balances.insert("aa".into(), 977);
        (client, server)
    }

    #[test]
    fn a_coin_recouped_once_breaks_nothing() {
        let (client, server) = recouped();
        assert!(broken(&client, &server).is_empty());
    }

    #[test]
    fn a_recoup_credited_twice_or_not_at_all_breaks_conservation() {
        let (client, mut server) = recouped();
        server.wallet_balances.insert("aa".into(), 987);
        assert_eq!(broken(&client, &server), ["conservation.accounts"]);
        server.wallet_balances.insert("aa".into(), 967);
        assert_eq!(broken(&client, &server), ["conservation.accounts"]);
    }

    #[test]
    fn a_coin_recouped_twice_wrongly_or_spent_after_is_reported() {
        let (mut client, mut server) = recouped();
        client.recoups.push(recoup(3));
        client.recoup_attempts = 2;
        client.wallets[0].recouped_minor = 20;
        server.wallet_balances.insert("aa".into(), 987);
        let names = broken(&client, &server);
        assert!(names.contains(&"recoups.credited_once"), "{names:?}");
        let (mut client, server) = recouped();
        client.recoups[0].credited_account = "bb".into();
        assert_eq!(broken(&client, &server), ["recoups.credited_once"]);
        // Coin 1 was accepted, then recouped.
        let (mut client, server) = recouped();
        client.recoups[0].coin = [1; 32];
        client.recoups[0].answered_coin = [1; 32];
        let names = broken(&client, &server);
        assert!(names.contains(&"recoups.credited_once"), "{names:?}");
        // A deposit of a recouped coin not refused.
        let (mut client, server) = recouped();
        client.recouped_spend_attempts = 1;
        assert_eq!(broken(&client, &server), ["recoups.credited_once"]);
        client.recouped_spends_refused = 1;
        assert!(broken(&client, &server).is_empty());
        // Recouped, and accepted in a deposit after.
        let (mut client, server) = recouped();
        client.accept(coin(3, 10));
        let names = broken(&client, &server);
        assert!(names.contains(&"recoups.credited_once"), "{names:?}");
        assert!(names.contains(&"conservation.deposits"), "{names:?}");
    }
}
