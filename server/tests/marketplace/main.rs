//! Settlement between banks, end to end: two issuers, two acquirers and one clearing house in one
//! test process, each a node with its own DB, linked over loopback QUIC with mutual TLS, and over
//! emulated ATM circuits between the acquirers and the clearing house.

mod bad_link_messages;
mod cycle_full;
#[path = "../../../storage/tests/common/pg.rs"]
mod pg;
mod refund_swap;
mod stalled_handshakes;
#[path = "../support/state.rs"]
mod state;
mod world;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use semper_atm::{CircuitConfig, ImpairmentConfig};
use semper_link::LinkError;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::ids::{BankId, BatchId, SubmissionId};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt};
use semper_protocol::messages::settlement::{
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    SignedSpendConfirmation, SpendCheckBatch, SpendCheckResponse, SpendResult,
};
use semper_protocol::signed::Signed;
use semper_protocol::wallet::WalletCoin;
use semper_storage::reports;
use semper_storage::schema::{Column, spent_key};
use world::*;

/// The minor units that `report` says `acquirer` is owed by `issuer`, and the batches listed.
fn owed(report: &SignedSettlementReport, issuer: BankId, acquirer: BankId) -> (u64, Vec<BatchId>) {
    report
        .body()
        .fields()
        .obligations
        .iter()
        .filter(|o| o.issuer == issuer && o.acquirer == acquirer)
        .fold((0, Vec::new()), |(sum, mut batches), o| {
            batches.extend(o.confirmations.iter().copied());
            (sum + o.amount.minor_units(), batches)
        })
}

fn assert_nets_to_zero(report: &SignedSettlementReport) {
    let mut per_currency: HashMap<String, i64> = HashMap::new();
    for position in report.body().fields().net_positions.iter() {
        *per_currency
            .entry(position.currency.code().to_owned())
            .or_default() += position.net_minor_units;
    }
    assert!(!per_currency.is_empty(), "the report has net positions");
    assert!(
        per_currency.values().all(|sum| *sum == 0),
        "net positions sum to zero per currency: {per_currency:?}"
    );
}

/// Waits until every participant has applied the report of cycle `sequence`, then checks that no
/// one found a discrepancy.
async fn assert_everyone_reconciles_clean(market: &Market, sequence: u64) {
    let deadline = Instant::now() + WAIT;
    for issuer in ISSUERS {
        let store = &market.issuer(issuer).state().store;
        while reports::last_sequence(store).unwrap() < Some(sequence) {
            assert!(
                Instant::now() < deadline,
                "issuer {issuer} never got report {sequence}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(market.issuer(issuer).discrepancies(0, 100).unwrap(), vec![]);
    }
    for acquirer in ACQUIRERS {
        let store = &market.acquirer(acquirer).state().store;
        while reports::last_sequence(store).unwrap() < Some(sequence) {
            assert!(
                Instant::now() < deadline,
                "acquirer {acquirer} never got report {sequence}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            market.acquirer(acquirer).discrepancies(0, 100).unwrap(),
            vec![]
        );
    }
}

/// A merchant's balance at `acquirer`, in minor units (one currency in these tests).
async fn balance(market: &Market, acquirer: BankId, merchant: &Merchant) -> u64 {
    let record = market
        .acquirer(acquirer)
        .merchant(merchant.id)
        .await
        .unwrap();
    record.balances.iter().map(|b| b.minor_units()).sum()
}

fn accepted(results: &[SpendResult]) -> usize {
    results
        .iter()
        .filter(|r| **r == SpendResult::Accepted)
        .count()
}

/// What a settled day comes to, independent of ids and keys that differ from run to run: each
/// obligation's (issuer, acquirer, amount, confirmations listed), and each net position.
#[derive(Debug, PartialEq)]
struct Settled {
    obligations: Vec<(BankId, BankId, u64, usize)>,
    net_positions: Vec<(BankId, String, i64)>,
}

/// Each issuer's coins paid to a merchant of each acquirer, deposited, submitted and settled: the
/// report owes exactly what was deposited, nets to zero, and everyone reconciles clean.
async fn settle_a_day(world: &mut World) -> Settled {
    let market = world.start_all();
    market.refresh_all().await;
    let merchants = market.merchant_per_acquirer(1).await;
    // Each issuer's coins are paid to both merchants: four (issuer, acquirer) obligations.
    let mut expected: HashMap<(BankId, BankId), u64> = HashMap::new();
    for issuer in ISSUERS {
        let coins = market.coins(issuer, 6).await;
        for (n, coin) in coins.iter().enumerate() {
            let (acquirer, merchant) = (ACQUIRERS[n % 2], &merchants[n % 2]);
            let answer = market
                .acquirer(acquirer)
                .deposit(merchant.deposit(vec![merchant.paid(coin, acquirer)]))
                .await
                .unwrap();
            assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted]);
            *expected.entry((issuer, acquirer)).or_default() += coin.value().minor_units();
        }
    }
    for (acquirer, merchant) in ACQUIRERS.iter().zip(&merchants) {
        let credited: u64 = ISSUERS.iter().map(|i| expected[&(*i, *acquirer)]).sum();
        assert_eq!(balance(&market, *acquirer, merchant).await, credited);
        let status = market.acquirer(*acquirer).flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0), "{status:?}");
        assert!(status.refused.is_empty(), "{status:?}");
    }

    let report = market.clearing().cut_cycle().await.unwrap();
    for ((issuer, acquirer), amount) in &expected {
        let (owed, batches) = owed(&report, *issuer, *acquirer);
        assert_eq!(owed, *amount, "every deposit settles, once");
        let mut unique = batches.clone();
        unique.dedup();
        assert_eq!(unique, batches, "each confirmation is claimed once");
    }
    assert_nets_to_zero(&report);
    assert_everyone_reconciles_clean(&market, report.body().fields().sequence).await;
    let fields = report.body().fields();
    Settled {
        obligations: (fields.obligations.iter())
            .map(|o| {
                (
                    o.issuer,
                    o.acquirer,
                    o.amount.minor_units(),
                    o.confirmations.len(),
                )
            })
            .collect(),
        net_positions: (fields.net_positions.iter())
            .map(|p| (p.bank, p.currency.code().to_owned(), p.net_minor_units))
            .collect(),
    }
}

#[test]
fn withdraw_pay_deposit_settle_and_report_reconcile_everywhere() {
    run(async {
        settle_a_day(&mut World::new("end-to-end")).await;
    });
}

/// The same day with the acquirer–clearing links over emulated OC-3c, 10 ms away, losing cells
/// and flipping header bits: every deposit settles exactly once, and the report is the one plain
/// QUIC gives.
#[test]
fn settlement_over_emulated_oc3c_with_loss_reports_what_plain_quic_reports() {
    run(async {
        let over_quic = settle_a_day(&mut World::new("atm-reference")).await;
        let circuit = CircuitConfig {
            impairments: ImpairmentConfig {
                delay_ms: 10,
                cell_loss_ratio: 1e-4,
                header_bit_error_rate: 1e-6,
                ..ImpairmentConfig::default()
            },
            ..CircuitConfig::default()
        };
        let over_atm = settle_a_day(&mut World::over_atm("atm", circuit)).await;
        assert_eq!(over_atm, over_quic);
    });
}

/// A spend check sent over the link as `acquirer` itself: the issuer's confirmation of `batch`.
async fn confirmation(
    world: &World,
    market: &Market,
    issuer: BankId,
    acquirer: BankId,
    coins: usize,
) -> SignedSpendConfirmation {
    let merchant = Merchant::new(7);
    let permissions = market
        .coins(issuer, coins)
        .await
        .iter()
        .map(|coin| merchant.paid(coin, acquirer))
        .collect::<Vec<_>>();
    let batch = Signed::sign(
        SpendCheckBatch {
            acquirer,
            batch_id: BatchId(rand::random()),
            permissions: BoundedVec::new(permissions).unwrap(),
        },
        &world.acquirer_signing_key(acquirer),
    );
    let link = world.link_as(acquirer, issuer).await;
    let answer = link
        .request(LinkRequest::SpendCheck(Box::new(batch)).to_bytes())
        .await
        .unwrap();
    link.close().await;
    let LinkResponse::SpendCheck(answer) = LinkResponse::from_bytes(&answer).unwrap() else {
        panic!("not a spend-check answer");
    };
    let SpendCheckResponse { confirmation, .. } = *answer;
    confirmation.expect("the issuer confirms fresh coins")
}

/// Submits `confirmations` as `acquirer`, over its own link.
async fn submit_as(
    world: &World,
    acquirer: BankId,
    submission: &SignedSettlementSubmission,
) -> Result<SignedSubmissionReceipt, LinkError> {
    let link = world.link_as(acquirer, CLEARING).await;
    let answer = link
        .request(LinkRequest::Submit(Box::new(submission.clone())).to_bytes())
        .await;
    link.close().await;
    match LinkResponse::from_bytes(&answer?).unwrap() {
        LinkResponse::Receipt(receipt) => Ok(*receipt),
        _ => panic!("not a receipt"),
    }
}

fn submission(
    world: &World,
    acquirer: BankId,
    confirmations: Vec<SignedSpendConfirmation>,
) -> SignedSettlementSubmission {
    Signed::sign(
        SettlementSubmission {
            acquirer,
            submission_id: SubmissionId(rand::random()),
            submitted_at: START,
            confirmations: BoundedVec::new(confirmations).unwrap(),
            refunds: BoundedVec::empty(),
        },
        &world.acquirer_signing_key(acquirer),
    )
}

#[test]
fn a_confirmation_submitted_twice_or_by_two_acquirers_is_counted_once() {
    run(async {
        let mut world = World::new("double-claim");
        let market = world.start_all();
        let confirmation = confirmation(&world, &market, ISSUER_1, ACQUIRER_1, 3).await;
        let batch = confirmation.body().batch_id;

        let first = submission(&world, ACQUIRER_1, vec![confirmation.clone()]);
        let receipt = submit_as(&world, ACQUIRER_1, &first).await.unwrap();
        assert_eq!(receipt.body().claims.to_vec(), vec![ClaimResult::Claimed]);
        // The same submission again (a retry after a lost answer): the same receipt.
        assert_eq!(
            submit_as(&world, ACQUIRER_1, &first).await.unwrap(),
            receipt
        );
        // The same confirmation in a new submission: already claimed, by the first.
        let second = submission(&world, ACQUIRER_1, vec![confirmation.clone()]);
        let again = submit_as(&world, ACQUIRER_1, &second).await.unwrap();
        assert_eq!(
            again.body().claims.to_vec(),
            vec![ClaimResult::AlreadyClaimed {
                acquirer: ACQUIRER_1,
                submission_id: first.body().submission_id,
            }]
        );
        // Another acquirer claiming it, signed with its own key: not counted.
        let stolen = submission(&world, ACQUIRER_2, vec![confirmation.clone()]);
        let refused = submit_as(&world, ACQUIRER_2, &stolen).await.unwrap();
        assert!(
            matches!(&refused.body().claims[..], [ClaimResult::Refused { .. }]),
            "{:?}",
            refused.body().claims
        );
        // ...nor over ACQUIRER_2's link while naming ACQUIRER_1: the link refuses it.
        let forged = submission(&world, ACQUIRER_1, vec![confirmation.clone()]);
        match submit_as(&world, ACQUIRER_2, &forged).await {
            Err(LinkError::Remote { code, .. }) => assert_eq!(code, "link.forbidden"),
            other => panic!("a submission for another acquirer got {other:?}"),
        }

        let report = market.clearing().cut_cycle().await.unwrap();
        let value = eur(coin_value(ISSUER_1)).minor_units();
        assert_eq!(
            owed(&report, ISSUER_1, ACQUIRER_1),
            (3 * value, vec![batch])
        );
        assert_eq!(owed(&report, ISSUER_1, ACQUIRER_2).0, 0);
        assert_nets_to_zero(&report);
    });
}

#[test]
fn a_clearing_outage_and_an_acquirer_restart_still_settle_exactly_once() {
    run(async {
        let mut world = World::new("lost-links");
        let mut market = world.start_all();
        market.refresh_all().await;
        let merchant = market.merchant_at(ACQUIRER_1, 3).await;
        let coins = market.coins(ISSUER_2, 4).await;
        let pay = |coins: &[semper_protocol::wallet::WalletCoin]| {
            merchant.deposit(coins.iter().map(|c| merchant.paid(c, ACQUIRER_1)).collect())
        };
        let answer = market
            .acquirer(ACQUIRER_1)
            .deposit(pay(&coins[..2]))
            .await
            .unwrap();
        assert_eq!(accepted(&answer.results), 2);

        // The clearing house goes down: the submission is stored, sent, and stays pending.
        market.stop(CLEARING).await;
        assert!(market.acquirer(ACQUIRER_1).flush_outbox().await.is_err());
        let pending = market
            .acquirer(ACQUIRER_1)
            .outbox_status()
            .await
            .unwrap()
            .pending;
        assert_eq!(pending.len(), 1);

        // The acquirer is restarted too, with its submission still pending in its DB, and takes
        // two more coins.
        market.stop(ACQUIRER_1).await;
        market.nodes.insert(ACQUIRER_1, world.start(ACQUIRER_1));
        market.refresh_all().await;
        let answer = market
            .acquirer(ACQUIRER_1)
            .deposit(pay(&coins[2..]))
            .await
            .unwrap();
        assert_eq!(accepted(&answer.results), 2);
        assert_eq!(
            market
                .acquirer(ACQUIRER_1)
                .outbox_status()
                .await
                .unwrap()
                .pending,
            pending,
            "the restarted acquirer still holds its unanswered submission"
        );

        // The clearing house is back: the pending submission goes first, then the new one.
        market.nodes.insert(CLEARING, world.start(CLEARING));
        let status = market.acquirer(ACQUIRER_1).flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0), "{status:?}");
        // The first submission resent by hand, as after an answer lost on a dropped link.
        let record = market
            .acquirer(ACQUIRER_1)
            .submission(pending[0])
            .await
            .unwrap()
            .unwrap();
        let resent = submit_as(&world, ACQUIRER_1, &record.submission)
            .await
            .unwrap();
        assert!(
            resent
                .body()
                .claims
                .iter()
                .all(|c| *c == ClaimResult::Claimed)
        );

        let report = market.clearing().cut_cycle().await.unwrap();
        let value = eur(coin_value(ISSUER_2)).minor_units();
        let (amount, batches) = owed(&report, ISSUER_2, ACQUIRER_1);
        assert_eq!(amount, 4 * value, "every coin settled once");
        assert_eq!(batches.len(), 2);
        assert_eq!(balance(&market, ACQUIRER_1, &merchant).await, 4 * value);
        assert_nets_to_zero(&report);
        assert_everyone_reconciles_clean(&market, report.body().fields().sequence).await;
    });
}

#[test]
fn untrusted_peers_and_wrong_roles_are_refused() {
    run(async {
        let mut world = World::new("untrusted");
        let market = world.start_all();
        // A bank no one trusts cannot even connect.
        let stranger = semper_link::Identity::generate(
            BankId([66; 16]),
            semper_link::Validity::starting_now(Duration::from_secs(3600)),
        )
        .unwrap();
        let config = semper_link::LinkConfig::new(
            world.addr(CLEARING),
            CLEARING,
            stranger,
            world.trust.clone(),
        );
        // The server refuses its certificate during the handshake, which the client learns at
        // connect or, TLS 1.3 finishing the client's side first, on its first request.
        let refused = match semper_link::Link::connect(config).await {
            Err(error) => error,
            Ok(link) => link
                .request(
                    LinkRequest::ReportsAfter {
                        after_sequence: 0,
                        limit: 1,
                    }
                    .to_bytes(),
                )
                .await
                .expect_err("an untrusted client must get no answer"),
        };
        assert!(
            matches!(
                refused,
                LinkError::Refused {
                    refusal: semper_link::Refusal::UntrustedCertificate,
                    ..
                }
            ),
            "{refused:?}"
        );
        // A trusted issuer may not submit for settlement, nor an acquirer read another's role.
        let confirmation = confirmation(&world, &market, ISSUER_1, ACQUIRER_1, 1).await;
        let claim = submission(&world, ACQUIRER_1, vec![confirmation]);
        let link = world.link_as(ISSUER_2, CLEARING).await;
        let answer = link
            .request(LinkRequest::Submit(Box::new(claim)).to_bytes())
            .await;
        assert!(
            matches!(&answer, Err(LinkError::Remote { code, .. }) if code == "link.forbidden"),
            "{answer:?}"
        );
        // An issuer node is not a clearing house.
        let link = world.link_as(ACQUIRER_1, ISSUER_1).await;
        let answer = link
            .request(
                LinkRequest::ReportsAfter {
                    after_sequence: 0,
                    limit: 4,
                }
                .to_bytes(),
            )
            .await;
        assert!(
            matches!(&answer, Err(LinkError::Remote { code, .. }) if code == "link.role_not_hosted"),
            "{answer:?}"
        );
        let _ = market;
    });
}

#[test]
fn a_coin_spent_at_two_acquirers_at_once_is_accepted_once_with_proof_for_the_other() {
    run(async { cross_spend(&mut World::new("cross-spend")).await });
}

/// The day, and the coins spent at two acquirers at once, with every bank's stores in
/// PostgreSQL and each issuer's spent set over two shard groups, a database each (a server this
/// test starts, and stops when it ends, failed or not).
#[test]
fn with_every_store_in_postgres_a_day_settles_and_a_double_spend_is_refused() {
    let server = pg::PgServer::start();
    run(async {
        settle_a_day(&mut World::over_postgres("pg_day", &server)).await;
        cross_spend(&mut World::over_postgres("pg_cross", &server)).await;
    });
}

/// Each of `coins` is spent where `issuer` keeps its spent set: in the shard group its key maps
/// to and nowhere else when `sharded`, else in the issuer's own store.
fn assert_spent_where_kept(market: &Market, issuer: BankId, coins: &[WalletCoin], sharded: bool) {
    let state = market.issuer(issuer).state();
    assert_eq!(state.spent_shards.is_some(), sharded);
    for coin in coins {
        let coin = coin.coin();
        let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
        let spent_in =
            |store: &semper_storage::Store| store.get(Column::SpentCoins, &key).unwrap().is_some();
        match state.spent_shards.as_ref() {
            None => assert!(spent_in(&state.store)),
            Some(shards) => {
                let homes: Vec<bool> = (0..2)
                    .map(|group| spent_in(shards.store(group).unwrap()))
                    .collect();
                let mut expected = vec![false; 2];
                expected[shards.map().group_of(&key)] = true;
                assert_eq!(homes, expected);
                assert!(!spent_in(&state.store));
            }
        }
    }
}

/// The coins of one issuer deposited through both acquirers at the same moment: each is
/// accepted once, and the other deposit gets the winner's permission as proof.
async fn cross_spend(world: &mut World) {
    let sharded = world.spent_set_sharded(ISSUER_1);
    {
        let market = world.start_all();
        market.refresh_all().await;
        let merchants = market.merchant_per_acquirer(4).await;
        let coins = market.coins(ISSUER_1, 5).await;
        let permissions: Vec<_> = ACQUIRERS
            .iter()
            .zip(&merchants)
            .map(|(acquirer, merchant)| {
                coins
                    .iter()
                    .map(|coin| merchant.paid(coin, *acquirer))
                    .collect::<Vec<_>>()
            })
            .collect();
        let (first, second) = tokio::join!(
            market
                .acquirer(ACQUIRER_1)
                .deposit(merchants[0].deposit(permissions[0].clone())),
            market
                .acquirer(ACQUIRER_2)
                .deposit(merchants[1].deposit(permissions[1].clone())),
        );
        let (first, second) = (first.unwrap(), second.unwrap());
        for (n, (one, other)) in first.results.iter().zip(second.results.iter()).enumerate() {
            match (one, other) {
                (SpendResult::Accepted, SpendResult::Conflict { earlier }) => {
                    assert_eq!(
                        **earlier, permissions[0][n],
                        "the proof is the winner's permission"
                    )
                }
                (SpendResult::Conflict { earlier }, SpendResult::Accepted) => {
                    assert_eq!(
                        **earlier, permissions[1][n],
                        "the proof is the winner's permission"
                    )
                }
                other => panic!("coin {n}: {other:?}"),
            }
        }
        assert_spent_where_kept(&market, ISSUER_1, &coins, sharded);
        let value = eur(coin_value(ISSUER_1)).minor_units();
        let won = [accepted(&first.results), accepted(&second.results)];
        assert_eq!(won[0] + won[1], coins.len());
        for (i, (acquirer, merchant)) in ACQUIRERS.iter().zip(&merchants).enumerate() {
            assert_eq!(
                balance(&market, *acquirer, merchant).await,
                won[i] as u64 * value
            );
            market.acquirer(*acquirer).flush_outbox().await.unwrap();
        }
        let report = market.clearing().cut_cycle().await.unwrap();
        for (i, acquirer) in ACQUIRERS.iter().enumerate() {
            assert_eq!(owed(&report, ISSUER_1, *acquirer).0, won[i] as u64 * value);
        }
        assert_nets_to_zero(&report);
        assert_everyone_reconciles_clean(&market, report.body().fields().sequence).await;
    }
}
