//! Refunds from the acquirer to a real issuer: the merchant debited once per refund id, the
//! coin's refunds bounded by what it paid, refused after the deposit's deadline, for another
//! merchant, another contract or a bad signature with nothing changed; the notice forwarded
//! through a lost answer, the issuer's confirmation recorded once and queued for settlement,
//! and the coin's allowance at the issuer.

use semper_actors::acquirer::AcquirerHandle;
use semper_protocol::ids::{CoinId, RequestId};
use semper_protocol::messages::refund::RefundAnswer;
use semper_protocol::signed::Signed;
use semper_storage::acquirer::outbox;
use semper_storage::refund_allowances::refund_allowance;

use super::fixture::*;
use super::{balance, register};

fn code<T: std::fmt::Debug>(answer: Result<T, semper_actors::acquirer::AcquirerError>) -> String {
    answer.unwrap_err().code().to_owned()
}

async fn allowance(issuers: &Issuers, coin: &semper_protocol::wallet::WalletCoin) -> String {
    let store = &issuers.handles[&ISSUER_1].state().store;
    let coin = coin.coin();
    refund_allowance(store, &coin.denomination, &CoinId::of(&coin.public_key))
        .unwrap()
        .map_or("none".into(), |a| a.to_string())
}

async fn refunded_of(acquirer: &AcquirerHandle, merchant: &Merchant, id: u8) -> RefundAnswer {
    acquirer
        .refund_record(merchant.id, RequestId([id; 16]))
        .await
        .unwrap()
        .unwrap()
        .answer
        .unwrap()
}

#[test]
fn a_refund_is_debited_once_within_what_was_paid_and_confirmed_by_the_coins_issuer() {
    let world = World::new("refunds", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let config = world.acquirer_config(ACQUIRER, &issuers);
        let acquirer = world.start_acquirer(&config, &issuers).await;
        let (m1, m2) = (Merchant::new(1), Merchant::new(2));
        register(&acquirer, &m1).await;
        register(&acquirer, &m2).await;
        let ones = issuers.coins(ISSUER_1, 2).await;
        let deadline = START.plus_ms(60_000);
        let paid = acquirer
            .deposit(m1.deposit_until(
                1,
                vec![
                    m1.paid(&ones[0], ACQUIRER, 1),
                    m1.paid(&ones[1], ACQUIRER, 1),
                ],
                deadline,
            ))
            .await
            .unwrap();
        assert_eq!(paid.results.len(), 2);
        assert_eq!(balance(&acquirer, &m1).await, eur("2.00"));

        // A partial refund, and its retry: debited once, the same answer.
        let half = m1.refund(1, &ones[0], 1, "0.40");
        let answer = acquirer.refund(half.clone()).await.unwrap();
        assert_eq!(
            (answer.amount, answer.coin_refunded),
            (eur("0.40"), eur("0.40"))
        );
        assert_eq!(answer.refund, half.body_digest());
        assert_eq!(acquirer.refund(half).await.unwrap(), answer);
        assert_eq!(balance(&acquirer, &m1).await, eur("1.60"));

        // Refused, with nothing changed.
        let refusals = [
            (m1.refund(2, &ones[0], 1, "0.61"), "refund.over_paid"),
            (m1.refund(1, &ones[0], 1, "0.30"), "refund.id_reused"),
            (m1.refund(3, &ones[0], 2, "0.10"), "refund.wrong_contract"),
            // Another merchant's refund of m1's coin.
            (m2.refund(4, &ones[0], 1, "0.10"), "refund.unknown_coin"),
            // m1's refund signed by another key.
            (
                Signed::sign(m1.refund(5, &ones[0], 1, "0.10").body().clone(), &m2.key),
                "refund.invalid_signature",
            ),
        ];
        for (request, expected) in refusals {
            assert_eq!(code(acquirer.refund(request).await), expected);
        }
        assert_eq!(balance(&acquirer, &m1).await, eur("1.60"));
        assert_eq!(balance(&acquirer, &m2).await, eur("0"));

        // The notice reaches the issuer through a lost answer; its confirmation is recorded
        // once and queued for settlement.
        issuers
            .gateway
            .lose_answers
            .store(1, std::sync::atomic::Ordering::SeqCst);
        acquirer.forward_refunds().await.unwrap();
        acquirer.forward_refunds().await.unwrap();
        let RefundAnswer::Confirmed { confirmation } = refunded_of(&acquirer, &m1, 1).await else {
            panic!("the issuer confirms the refund")
        };
        let issuer_keys = &issuers.handles[&ISSUER_1].state().public_keys;
        confirmation.verify(&issuer_keys.confirmation).unwrap();
        assert_eq!(
            (confirmation.body().issuer, confirmation.body().acquirer),
            (ISSUER_1, ACQUIRER)
        );
        assert_eq!(confirmation.body().amount, eur("0.40"));
        assert_eq!(allowance(&issuers, &ones[0]).await, "EUR:0.40");
        assert_eq!(allowance(&issuers, &ones[1]).await, "none");
        let queued = outbox::oldest_refunds(&acquirer.state().store, 10).unwrap();
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].1, *confirmation);

        // The rest of the coin, at the deadline; then nothing after it.
        world.clock.set(deadline);
        let rest = acquirer
            .refund(m1.refund(6, &ones[0], 1, "0.60"))
            .await
            .unwrap();
        assert_eq!(rest.coin_refunded, eur("1.00"));
        world.clock.set(deadline.plus_ms(1));
        assert_eq!(
            code(acquirer.refund(m1.refund(7, &ones[1], 1, "0.10")).await),
            "refund.deadline_passed"
        );
        assert_eq!(balance(&acquirer, &m1).await, eur("1.00"));
        // A retry after the deadline still gets its answer, and is debited once.
        assert_eq!(
            acquirer
                .refund(m1.refund(6, &ones[0], 1, "0.60"))
                .await
                .unwrap(),
            rest
        );
        assert_eq!(balance(&acquirer, &m1).await, eur("1.00"));
        acquirer.forward_refunds().await.unwrap();
        assert_eq!(allowance(&issuers, &ones[0]).await, "EUR:1.00");
        assert_eq!(
            outbox::oldest_refunds(&acquirer.state().store, 10)
                .unwrap()
                .len(),
            2
        );
    });
}
