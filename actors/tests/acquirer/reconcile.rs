//! The acquirer reconciling the clearing house's reports against the claims it counted: a true
//! report agrees; one that leaves out a batch, lists one the acquirer never claimed, or says a
//! wrong amount is recorded with its discrepancies, kept across a restart; one signed by anyone
//! else is recorded as bad and not applied; reports missed are caught up, by the outbox's timer
//! too.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use semper_actors::acquirer::{AcquirerError, AcquirerHandle, AcquirerState};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{BankId, BatchId};
use semper_protocol::messages::merchant::DepositResult;
use semper_protocol::messages::settlement::{Obligation, SignedSettlementReport};
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_storage::reports;

use super::{deposit_one_of_each, register};
use crate::fixture::*;

/// What each discrepancy says: cycle, kind, counterparty, batch, books and report minor units.
type Said = (u64, DiscrepancyKind, BankId, Option<BatchId>, i64, i64);

fn said(found: &[Discrepancy]) -> Vec<Said> {
    found
        .iter()
        .map(|d| {
            (
                d.cycle_sequence,
                d.kind,
                d.counterparty,
                d.batch,
                d.books_minor_units,
                d.report_minor_units,
            )
        })
        .collect()
}

/// Signs the report of `sequence` with the clearing house's key, and serves it for catching up.
fn published(world: &World, sequence: u64, obligations: Vec<Obligation>) -> SignedSettlementReport {
    let report = FakeClearing::report(sequence, obligations, &world.clearing.key);
    world.clearing.publish(report.clone());
    report
}

/// Deposits one coin of `ISSUER_1` and has the outbox claim it in the fake's current cycle.
async fn claim_one(acquirer: &AcquirerHandle, issuers: &Issuers, merchant: &Merchant, id: u8) {
    let coin = issuers.coins(ISSUER_1, 1).await.remove(0);
    let request = merchant.deposit(id, vec![merchant.paid(&coin, ACQUIRER, 1)]);
    let answer = acquirer.deposit(request).await.unwrap();
    assert_eq!(answer.results.to_vec(), vec![DepositResult::Accepted]);
}

#[test]
fn reports_are_reconciled_against_the_claims_of_their_cycle_and_kept_across_a_restart() {
    let world = World::new("reconcile", &[ACQUIRER]);
    let merchant = Merchant::new(1);
    let (config, expected, omitted_report, stopped) = run(async {
        let issuers = world.start_issuers();
        let config = world.acquirer_config(ACQUIRER, &issuers);
        let acquirer = world.start_acquirer(&config, &issuers).await;
        register(&acquirer, &merchant).await;

        // Cycle 1: one batch of each issuer. The true report agrees, once or twice delivered.
        deposit_one_of_each(&acquirer, &issuers, &merchant, 1).await;
        acquirer.flush_outbox().await.unwrap();
        let true_report = published(&world, 1, world.clearing.obligations(1));
        assert_eq!(true_report.body().fields().obligations.len(), 2);
        assert_eq!(
            acquirer.receive_report(true_report.clone()).await.unwrap(),
            vec![]
        );
        assert_eq!(acquirer.receive_report(true_report).await.unwrap(), vec![]);
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), vec![]);

        // Cycle 2: the report leaves out the second issuer's batch.
        world.clearing.cycle.store(2, Ordering::SeqCst);
        deposit_one_of_each(&acquirer, &issuers, &merchant, 2).await;
        acquirer.flush_outbox().await.unwrap();
        let mut owed = world.clearing.obligations(2);
        let left_out = owed.pop().unwrap();
        assert_eq!(left_out.issuer, ISSUER_2);
        let omitted = published(&world, 2, owed);
        let found = acquirer.receive_report(omitted.clone()).await.unwrap();
        let missing = left_out.confirmations[0];
        assert_eq!(
            said(&found),
            vec![
                (
                    2,
                    DiscrepancyKind::MissingConfirmation,
                    ISSUER_2,
                    Some(missing),
                    200,
                    0
                ),
                (
                    2,
                    DiscrepancyKind::NetPositionMismatch,
                    CLEARING,
                    None,
                    300,
                    100
                ),
            ]
        );
        assert!(found.iter().all(|d| d.bank == ACQUIRER));

        // Cycle 3: the report lists a batch the acquirer never claimed, for no amount.
        world.clearing.cycle.store(3, Ordering::SeqCst);
        claim_one(&acquirer, &issuers, &merchant, 3).await;
        acquirer.flush_outbox().await.unwrap();
        let mut owed = world.clearing.obligations(3);
        let stranger = BatchId([99; 16]);
        let mut batches = owed[0].confirmations.to_vec();
        batches.push(stranger);
        owed[0].confirmations = BoundedVec::new(batches).unwrap();
        let found_unknown = acquirer
            .receive_report(published(&world, 3, owed))
            .await
            .unwrap();
        assert_eq!(
            said(&found_unknown),
            vec![(
                3,
                DiscrepancyKind::UnknownConfirmation,
                ISSUER_1,
                Some(stranger),
                0,
                0
            )]
        );

        // Cycle 4: a wrong amount. It comes while the submission of its claim awaits its receipt
        // (counted, but the answer lost): refused for now, applied by the catch-up after the
        // outbox is answered.
        world.clearing.cycle.store(4, Ordering::SeqCst);
        claim_one(&acquirer, &issuers, &merchant, 4).await;
        world
            .clearing
            .lose_answers
            .store(u32::MAX, Ordering::SeqCst);
        assert!(acquirer.flush_outbox().await.unwrap_err().retryable());
        let mut owed = world.clearing.obligations(4);
        owed[0].amount = eur("1.50");
        let wrong = published(&world, 4, owed);
        let early = acquirer.receive_report(wrong).await.unwrap_err();
        assert_eq!(early, AcquirerError::SubmissionsPending);
        assert!(early.retryable());
        world.clearing.lose_answers.store(0, Ordering::SeqCst);
        acquirer.flush_outbox().await.unwrap();
        assert_eq!(acquirer.catch_up_reports().await.unwrap(), 1);

        let mut expected = found;
        expected.extend(found_unknown);
        let recorded = acquirer.discrepancies(0, 100).unwrap();
        assert_eq!(recorded[..3], expected[..]);
        assert_eq!(
            said(&recorded[3..]),
            vec![
                (4, DiscrepancyKind::AmountMismatch, ISSUER_1, None, 100, 150),
                (
                    4,
                    DiscrepancyKind::NetPositionMismatch,
                    CLEARING,
                    None,
                    100,
                    150
                ),
            ]
        );
        (config, recorded, omitted, Arc::downgrade(acquirer.state()))
    });

    run(async {
        let nobody = Issuers::none();
        let state = reopen(stopped, &config, world.clock.clone());
        let acquirer = AcquirerHandle::start(state, nobody.gateway.clone(), world.clearing.clone());
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), expected);
        assert_eq!(acquirer.discrepancies(2, 1).unwrap(), expected[2..3]);
        // Re-delivered after the restart: the answer recorded the first time, nothing new.
        let again = acquirer.receive_report(omitted_report).await.unwrap();
        assert_eq!(again, expected[..2]);
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), expected);
        assert_eq!(
            reports::applied_through(&acquirer.state().store).unwrap(),
            4
        );
    });
}

#[test]
fn a_report_signed_by_another_key_is_recorded_as_bad_and_not_applied() {
    let world = World::new("bad-report", &[ACQUIRER]);
    run(async {
        let nobody = Issuers::none();
        let config = world.acquirer_config(ACQUIRER, &nobody);
        let state = AcquirerState::open(&config, world.clock.clone()).unwrap();
        let acquirer = AcquirerHandle::start(state, nobody.gateway.clone(), world.clearing.clone());
        // Another acquirer's claim: nothing the books know of, and nothing they dispute.
        let owed = Obligation {
            issuer: ISSUER_1,
            acquirer: OTHER_ACQUIRER,
            amount: eur("5.00"),
            confirmations: BoundedVec::new(vec![BatchId([7; 16])]).unwrap(),
        };
        let forger = SigningKey::from_seed(&[66; 32]);
        let forged = FakeClearing::report(1, vec![owed.clone()], &forger);
        let bad = acquirer.receive_report(forged.clone()).await.unwrap();
        assert_eq!(
            said(&bad),
            vec![(1, DiscrepancyKind::BadReport, CLEARING, None, 0, 0)]
        );
        assert_eq!(bad[0].currency, eur("0").currency());
        // Delivered again: recorded once.
        assert_eq!(acquirer.receive_report(forged).await.unwrap(), bad);
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), bad);
        let store = &acquirer.state().store;
        assert_eq!(reports::received_report(store, 1).unwrap(), None);
        assert_eq!(reports::applied_through(store).unwrap(), 0);

        // The true report of the cycle still takes its place.
        let true_report = published(&world, 1, vec![owed]);
        assert_eq!(
            acquirer.receive_report(true_report.clone()).await.unwrap(),
            vec![]
        );
        let kept = reports::received_report(store, 1).unwrap().unwrap();
        assert_eq!(kept.report, true_report);
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), bad);
    });
}

/// The clearing house's report of cycle `sequence`, of a claim between other banks: nothing the
/// acquirer's books know of, and nothing they dispute.
fn others_report(world: &World, sequence: u64) -> SignedSettlementReport {
    let owed = Obligation {
        issuer: ISSUER_1,
        acquirer: OTHER_ACQUIRER,
        amount: eur("1.00"),
        confirmations: BoundedVec::new(vec![BatchId([sequence as u8; 16])]).unwrap(),
    };
    FakeClearing::report(sequence, vec![owed], &world.clearing.key)
}

/// Publishes the reports of cycles `sequences`.
fn publish_others(world: &World, sequences: std::ops::RangeInclusive<u64>) {
    for sequence in sequences {
        world.clearing.publish(others_report(world, sequence));
    }
}

#[test]
fn reports_missed_are_caught_up_on_demand_and_by_the_outbox_timer() {
    let world = World::new("catch-up", &[ACQUIRER]);
    let nobody = Issuers::none();
    let mut config = world.acquirer_config(ACQUIRER, &nobody);
    let stopped = run(async {
        let state = AcquirerState::open(&config, world.clock.clone()).unwrap();
        let acquirer = AcquirerHandle::start(state, nobody.gateway.clone(), world.clearing.clone());
        // The catch-up after the start's outbox pass has asked, and found nothing.
        let deadline = Instant::now() + Duration::from_secs(10);
        while world.clearing.reports_asked.load(Ordering::SeqCst) == 0 {
            assert!(Instant::now() < deadline, "the start never caught up");
            actix::clock::sleep(Duration::from_millis(5)).await;
        }
        // More than one page of reports; cycle 2's push arrived, the others were missed.
        publish_others(&world, 1..=18);
        let pushed = others_report(&world, 2);
        assert_eq!(acquirer.receive_report(pushed).await.unwrap(), vec![]);
        let store = &acquirer.state().store;
        assert_eq!(reports::applied_through(store).unwrap(), 0);
        assert_eq!(acquirer.catch_up_reports().await.unwrap(), 17);
        assert_eq!(reports::applied_through(store).unwrap(), 18);
        assert_eq!(acquirer.catch_up_reports().await.unwrap(), 0);
        assert_eq!(acquirer.discrepancies(0, 100).unwrap(), vec![]);
        Arc::downgrade(acquirer.state())
    });

    // One report missed while the acquirer was down, one after it is back: its timer fetches
    // both.
    publish_others(&world, 19..=19);
    config.submit_interval_ms = 10;
    run(async {
        let state = reopen(stopped, &config, world.clock.clone());
        let acquirer = AcquirerHandle::start(state, nobody.gateway.clone(), world.clearing.clone());
        publish_others(&world, 20..=20);
        let store = &acquirer.state().store;
        let deadline = Instant::now() + Duration::from_secs(10);
        while reports::applied_through(store).unwrap() < 20 {
            assert!(Instant::now() < deadline, "the timer never caught up");
            actix::clock::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(acquirer.catch_up_reports().await.unwrap(), 0);
    });
}
