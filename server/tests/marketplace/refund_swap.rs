//! A payment, a partial refund and the swap of the refunded coin across banks: each issuer's
//! coin pays a merchant of the other issuer's acquirer; the merchant refunds half of it; the
//! acquirer tells the coin's issuer over the link; the wallet swaps the refunded coin at its
//! issuer, once, for half its value, and pays with the fresh coins at the other acquirer. One
//! cycle then settles the deposits (each issuer owes the acquirers) and the refunds (each
//! acquirer owes the refunded coin's issuer), nets to zero, and everyone reconciles clean.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use semper_actors::issuer::IssuerError;
use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, CoinId, Digest, RequestId};
use semper_protocol::messages::refund::RefundRequest;
use semper_protocol::messages::spend::{EarlierSpend, SpendResult};
use semper_protocol::signed::Signed;
use semper_protocol::wallet;
use semper_storage::refund_allowances::refund_allowance;

use super::world::*;
use super::{assert_everyone_reconciles_clean, assert_nets_to_zero, balance, owed};

/// The value each issuer also mints, for the refunded coins' change.
const CHANGE: &str = "0.50";

#[test]
fn a_coin_refunded_in_part_is_swapped_once_at_its_issuer_across_banks() {
    run(async {
        let mut world = World::new("refund-swap");
        world.change_values = vec![eur(CHANGE)];
        let market = world.start_all();
        for acquirer in ACQUIRERS {
            let known = market.acquirer(acquirer).refresh_denominations().await;
            assert_eq!(known.unwrap(), 2 * ISSUERS.len(), "two values per issuer");
        }
        let merchants = market.merchant_per_acquirer(1).await;
        let mut deposited: HashMap<(BankId, BankId), u64> = HashMap::new();
        let mut refunded_by: HashMap<(BankId, BankId), (u64, Vec<Digest>)> = HashMap::new();
        for (n, issuer) in ISSUERS.into_iter().enumerate() {
            // Paid at the other acquirer, then the fresh coins at this one's.
            let (first, then) = ((n + 1) % 2, n % 2);
            let (acquirer, merchant) = (ACQUIRERS[first], &merchants[first]);
            let coin = market.coins(issuer, 1).await.remove(0);
            let value = coin.value();
            let before = balance(&market, acquirer, merchant).await;
            let paid = merchant.paid(&coin, acquirer);
            let answer = market
                .acquirer(acquirer)
                .deposit(merchant.deposit(vec![paid.clone()]))
                .await
                .unwrap();
            assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted]);
            *deposited.entry((issuer, acquirer)).or_default() += value.minor_units();

            // Half of it refunded: the merchant is debited, the issuer told over the link.
            let half = Amount::from_minor_units(value.currency(), value.minor_units() / 2);
            let refund = Signed::sign(
                RefundRequest {
                    merchant: merchant.id,
                    refund_id: RequestId(rand::random()),
                    contract_hash: paid.body().contract_hash,
                    denomination: coin.coin().denomination,
                    coin: CoinId::of(&coin.coin().public_key),
                    amount: half,
                },
                &merchant.key,
            );
            let refund_id = refund.body().refund_id;
            let refunded = market.acquirer(acquirer).refund(refund).await.unwrap();
            assert_eq!((refunded.amount, refunded.coin_refunded), (half, half));
            let owed_back = refunded_by.entry((acquirer, issuer)).or_default();
            owed_back.0 += half.minor_units();
            owed_back.1.push(refunded.refund);
            assert_eq!(
                balance(&market, acquirer, merchant).await,
                before + value.minor_units() - half.minor_units()
            );
            market.acquirer(acquirer).forward_refunds().await.unwrap();
            wait_for_allowance(&market, issuer, &coin, half).await;
            wait_for_issuer_answer(&market, acquirer, merchant.id, refund_id).await;

            // Swapped once, for the refunded half only, at the coin's issuer.
            let change = market.denomination(issuer, eur(CHANGE));
            let count = (half.minor_units() / change.value().minor_units()) as usize;
            let given = coin.refunded(half);
            let request_id = RequestId(rand::random());
            let (request, planned) = wallet::prepare_swap(
                &mut rand::rng(),
                request_id,
                std::slice::from_ref(&given),
                &vec![change.clone(); count],
            )
            .unwrap();
            let whole = wallet::prepare_swap(
                &mut rand::rng(),
                RequestId(rand::random()),
                std::slice::from_ref(&given),
                &vec![change.clone(); 2 * count],
            )
            .unwrap()
            .0;
            let refused = market.issuer(issuer).swap(whole).await.unwrap_err();
            assert_eq!(refused.code(), "swap.unbalanced", "its whole value");
            let response = market.issuer(issuer).swap(request.clone()).await.unwrap();
            assert_eq!(
                market.issuer(issuer).swap(request).await.unwrap(),
                response,
                "a replay"
            );
            let fresh = wallet::finalize_swap(request_id, planned, &response).unwrap();
            // The allowance used, the coin counts at its whole value again, and is spent.
            let again = wallet::prepare_swap(
                &mut rand::rng(),
                RequestId(rand::random()),
                std::slice::from_ref(&coin),
                &vec![change.clone(); 2 * count],
            )
            .unwrap()
            .0;
            match market.issuer(issuer).swap(again).await {
                Err(IssuerError::SwapConflict { index: 0, earlier }) => {
                    assert_eq!(*earlier, EarlierSpend::Deposit(paid.clone()))
                }
                other => panic!("a second swap of the refunded coin: {other:?}"),
            }

            // The fresh coins pay the other merchant, at the other acquirer.
            let (acquirer, merchant) = (ACQUIRERS[then], &merchants[then]);
            let permissions = fresh.iter().map(|c| merchant.paid(c, acquirer)).collect();
            let answer = market
                .acquirer(acquirer)
                .deposit(merchant.deposit(permissions))
                .await
                .unwrap();
            assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted; count]);
            *deposited.entry((issuer, acquirer)).or_default() += half.minor_units();
        }

        // Today's cycle settles the deposits and the refunds, each in its direction.
        for acquirer in ACQUIRERS {
            let status = market.acquirer(acquirer).flush_outbox().await.unwrap();
            assert_eq!(
                (status.queued, status.refunds_queued, status.pending.len()),
                (0, 0, 0),
                "{status:?}"
            );
            assert_eq!(status.refused_refunds, vec![], "{status:?}");
        }
        let report = market.clearing().cut_cycle().await.unwrap();
        for ((issuer, acquirer), amount) in &deposited {
            assert_eq!(owed(&report, *issuer, *acquirer).0, *amount);
        }
        let fields = report.body().fields();
        assert_eq!(
            fields.refunds.len(),
            refunded_by.len(),
            "{:?}",
            fields.refunds
        );
        for obligation in fields.refunds.iter() {
            let (amount, refunds) = &refunded_by[&(obligation.acquirer, obligation.issuer)];
            assert_eq!(obligation.amount.minor_units(), *amount);
            assert_eq!(obligation.refunds.to_vec(), *refunds);
        }
        assert_nets_to_zero(&report);
        assert_everyone_reconciles_clean(&market, report.body().fields().sequence).await;
    });
}

/// Waits until `acquirer` holds the coin's issuer's answer to refund `refund_id`: its
/// confirmation is then queued for settlement.
async fn wait_for_issuer_answer(
    market: &Market,
    acquirer: BankId,
    merchant: semper_protocol::ids::MerchantId,
    refund_id: RequestId,
) {
    let deadline = Instant::now() + WAIT;
    loop {
        let record = market.acquirer(acquirer).refund_record(merchant, refund_id);
        if record.await.unwrap().is_some_and(|r| r.answer.is_some()) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "acquirer {acquirer} never had the issuer's answer to refund {refund_id:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits until `issuer` has recorded that `coin` may be swapped for `amount`.
async fn wait_for_allowance(
    market: &Market,
    issuer: BankId,
    coin: &semper_protocol::wallet::WalletCoin,
    amount: Amount,
) {
    let store = &market.issuer(issuer).state().store;
    let id = CoinId::of(&coin.coin().public_key);
    let deadline = Instant::now() + WAIT;
    while refund_allowance(store, &coin.coin().denomination, &id).unwrap() != Some(amount) {
        assert!(
            Instant::now() < deadline,
            "issuer {issuer} never had the refund"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
