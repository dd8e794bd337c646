//! Refunds through settlement, with a real clearing house and real issuers: a partial refund
//! (its fee kept by the coin's issuer) is submitted beside the deposit's confirmation, the cycle's
//! report nets it from the acquirer to the issuer, and both reconcile it clean; reports that leave
//! a refund out, or list one a report of another cycle listed, are discrepancies at the ends that
//! can tell.

use std::sync::Arc;

use semper_actors::acquirer::AcquirerHandle;
use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState};
use semper_actors::gateway::{GatewayFuture, ReportSink};
use semper_actors::issuer::IssuerHandle;
use semper_actors::retry::RetryConfig;
use semper_protocol::amount::Currency;
use semper_protocol::clearing::{Participant, cycle_id};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::{BankId, CoinId, Digest};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::refund::RefundAnswer;
use semper_protocol::messages::settlement::{
    RefundObligation, SettlementReport, SignedSettlementReport,
};
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_protocol::signed::Signed;
use semper_storage::CommitConfig;
use semper_storage::acquirer::submissions::{self, SubmissionState};
use semper_storage::refund_allowances::refund_allowance;

use super::register;
use crate::fixture::*;

/// A report sink that delivers nothing: the test hands each report to the banks itself.
struct Dropped;

impl ReportSink for Dropped {
    fn deliver(&self, _: BankId, _: SignedSettlementReport) -> GatewayFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// The clearing house of `world`, knowing its acquirer and both issuers.
fn clearing_config(world: &World, issuers: &Issuers) -> ClearingConfig {
    let mut participants: Vec<Participant> = world
        .acquirer_keys
        .iter()
        .map(|(bank, key)| Participant {
            bank: *bank,
            acquirer_key: Some(*key),
            issuer_key: None,
        })
        .collect();
    participants.extend(issuers.handles.iter().map(|(bank, handle)| Participant {
        bank: *bank,
        acquirer_key: None,
        issuer_key: Some(handle.state().public_keys.confirmation),
    }));
    ClearingConfig {
        id: CLEARING,
        data_dir: clearing_dir(world),
        store: None,
        commit: CommitConfig::default(),
        pool_threads: 1,
        mailbox_capacity: 64,
        in_flight_max: 64,
        participants,
        cycle_max_ms: 3_600_000,
        cycle_max_submissions: 1_000,
        cycle_check_ms: 60_000,
        delivery: RetryConfig {
            attempts_max: 1,
            backoff_initial_ms: 1,
            backoff_max_ms: 1,
        },
    }
}

fn clearing_dir(world: &World) -> std::path::PathBuf {
    world.dir.join("clearing")
}

/// The banks of one settlement: a real clearing house, two issuers (the first charging EUR 0.05
/// per refund), and the acquirer submitting to that clearing house.
struct Banks {
    clearing: ClearingHandle,
    issuers: Issuers,
    acquirer: AcquirerHandle,
}

async fn banks(world: &World) -> Banks {
    std::fs::create_dir_all(clearing_dir(world)).unwrap();
    let clearing_key: VerifyingKey = ClearingState::provision(&clearing_dir(world)).unwrap();
    let issuers = world.start_issuers_settling("0.05", (CLEARING, clearing_key));
    let state =
        ClearingState::open(&clearing_config(world, &issuers), world.clock.clone()).unwrap();
    let clearing = ClearingHandle::start(state, Arc::new(Dropped), 64);
    let mut config = world.acquirer_config(ACQUIRER, &issuers);
    config.clearing.key = clearing_key;
    let acquirer_state =
        semper_actors::acquirer::AcquirerState::open(&config, world.clock.clone()).unwrap();
    let acquirer = AcquirerHandle::start(
        acquirer_state,
        issuers.gateway.clone(),
        Arc::new(clearing.clone()),
    );
    assert_eq!(acquirer.refresh_denominations().await.unwrap(), 2);
    Banks {
        clearing,
        issuers,
        acquirer,
    }
}

impl Banks {
    fn issuer(&self) -> &IssuerHandle {
        &self.issuers.handles[&ISSUER_1]
    }

    /// Both ends' discrepancies in `report`: the acquirer's, then the first issuer's.
    async fn reconcile(&self, report: &SignedSettlementReport) -> (Vec<Kind>, Vec<Kind>) {
        let acquirer = self.acquirer.receive_report(report.clone()).await.unwrap();
        let issuer = self.issuer().receive_report(report.clone()).await.unwrap();
        (kinds(&acquirer), kinds(&issuer))
    }

    /// A report of cycle `sequence` with `refunds`, signed by the clearing house's own key: what
    /// a clearing house that got its books wrong would send.
    fn report(&self, sequence: u64, refunds: Vec<RefundObligation>) -> SignedSettlementReport {
        let body = SettlementReport::with_refunds(
            CLEARING,
            cycle_id(CLEARING, sequence),
            sequence,
            START,
            Vec::new(),
            refunds,
        )
        .unwrap();
        Signed::sign(body, &self.clearing.state().key)
    }
}

/// What a discrepancy says: its kind, and the refund it names.
type Kind = (DiscrepancyKind, Option<Digest>);

fn kinds(found: &[Discrepancy]) -> Vec<Kind> {
    found.iter().map(|d| (d.kind, d.refund)).collect()
}

/// The refund obligation of `refunds` (each EUR `amount` with the first issuer's fee) owed by the
/// acquirer to the first issuer.
fn owed(refunds: &[(Digest, &str)]) -> RefundObligation {
    let units: u64 = refunds.iter().map(|(_, a)| eur(a).minor_units()).sum();
    let currency = Currency::new("EUR").unwrap();
    RefundObligation {
        acquirer: ACQUIRER,
        issuer: ISSUER_1,
        amount: semper_protocol::amount::Amount::from_minor_units(currency, units),
        fees: semper_protocol::amount::Amount::from_minor_units(currency, 5 * refunds.len() as u64),
        refunds: refunds
            .iter()
            .map(|(refund, _)| *refund)
            .collect::<Vec<_>>()
            .try_into()
            .unwrap(),
    }
}

/// Deposits two coins of the first issuer for merchant 1 and refunds `amount` of the first: the
/// refund's identity once its issuer confirmed it.
async fn paid_and_refunded(banks: &Banks, merchant: &Merchant, amount: &str) -> Digest {
    register(&banks.acquirer, merchant).await;
    let coins = banks.issuers.coins(ISSUER_1, 2).await;
    banks
        .acquirer
        .deposit(merchant.deposit(
            1,
            vec![
                merchant.paid(&coins[0], ACQUIRER, 1),
                merchant.paid(&coins[1], ACQUIRER, 1),
            ],
        ))
        .await
        .unwrap();
    let refund = banks
        .acquirer
        .refund(merchant.refund(1, &coins[0], 1, amount))
        .await
        .unwrap();
    // The pass the refund started may answer it first: after this one, it is answered.
    banks.acquirer.forward_refunds().await.unwrap();
    let record = banks
        .acquirer
        .refund_record(merchant.id, refund.refund_id)
        .await
        .unwrap()
        .unwrap();
    let Some(RefundAnswer::Confirmed { confirmation }) = record.answer else {
        panic!("the issuer confirms the refund")
    };
    assert_eq!(
        (confirmation.body().amount, confirmation.body().fee),
        (eur(amount), eur("0.05"))
    );
    // The customer pays the fee: the coin may be swapped again for the refund less it.
    let coin = coins[0].coin();
    let allowance = refund_allowance(
        &banks.issuer().state().store,
        &coin.denomination,
        &CoinId::of(&coin.public_key),
    )
    .unwrap();
    let expected = eur(amount).checked_sub(eur("0.05")).unwrap();
    assert_eq!(allowance, Some(expected));
    refund.refund
}

#[test]
fn a_partial_refund_settles_from_the_acquirer_to_the_issuer_and_both_reconcile_clean() {
    let world = World::new("settle-refund", &[ACQUIRER]);
    run(async {
        let banks = banks(&world).await;
        let merchant = Merchant::new(1);
        let refund = paid_and_refunded(&banks, &merchant, "0.40").await;

        // One submission carries the deposit's confirmation and the refund's, each claimed.
        let status = banks.acquirer.flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.refunds_queued), (0, 0));
        assert!(status.refused_refunds.is_empty());
        let store = &banks.acquirer.state().store;
        let claimed = submissions::cycle_refunds(store, 1, 10).unwrap();
        assert_eq!(claimed.len(), 1);
        assert_eq!((claimed[0].0, claimed[0].1), (ISSUER_1, refund));
        let submission = banks
            .acquirer
            .submission(claimed[0].2.submission_id)
            .await
            .unwrap()
            .unwrap();
        let SubmissionState::Answered(receipt) = submission.state else {
            panic!("the submission was answered")
        };
        assert_eq!(receipt.body().claims.to_vec(), vec![ClaimResult::Claimed]);
        assert_eq!(
            receipt.body().refund_claims.to_vec(),
            vec![ClaimResult::Claimed]
        );

        // The report nets the refund against the spend: the issuer owes 2.00 less 0.40.
        let report = banks.clearing.cut_cycle().await.unwrap();
        let fields = report.body().fields();
        assert_eq!(fields.obligations.len(), 1);
        assert_eq!(fields.obligations[0].amount, eur("2.00"));
        assert_eq!(fields.refunds.len(), 1);
        assert_eq!(fields.refunds[0], owed(&[(refund, "0.40")]));
        let net = |bank| {
            fields
                .net_positions
                .iter()
                .find(|p| p.bank == bank)
                .map_or(0, |p| p.net_minor_units)
        };
        assert_eq!((net(ISSUER_1), net(ACQUIRER)), (-160, 160));

        // Both ends reconcile it clean, and again on a re-delivery.
        assert_eq!(banks.reconcile(&report).await, (vec![], vec![]));
        assert_eq!(banks.reconcile(&report).await, (vec![], vec![]));
    });
}

#[test]
fn a_refund_left_out_of_its_cycles_report_or_listed_in_two_reports_is_a_discrepancy() {
    let world = World::new("settle-refund-wrong", &[ACQUIRER]);
    run(async {
        let banks = banks(&world).await;
        let merchant = Merchant::new(1);
        let refund = paid_and_refunded(&banks, &merchant, "0.40").await;
        banks.acquirer.flush_outbox().await.unwrap();
        let true_report = banks.clearing.cut_cycle().await.unwrap();
        assert_eq!(banks.reconcile(&true_report).await, (vec![], vec![]));

        // Cycle 2 settles nothing of the acquirer's, yet its report lists the refund again:
        // both ends find it listed twice; the acquirer also holds no such refund in cycle 2.
        let again = banks.report(2, vec![owed(&[(refund, "0.40")])]);
        let (acquirer, issuer) = banks.reconcile(&again).await;
        let twice = (DiscrepancyKind::DuplicateRefund, Some(refund));
        assert!(acquirer.contains(&twice), "{acquirer:?}");
        assert!(
            acquirer.contains(&(DiscrepancyKind::UnknownRefund, Some(refund))),
            "{acquirer:?}"
        );
        assert_eq!(issuer, vec![twice]);

        // Cycle 3 settles a second refund, which its report leaves out: the acquirer, whose
        // receipt filed it under cycle 3, finds it missing (and its net position off).
        let coins = banks.issuers.coins(ISSUER_1, 1).await;
        banks
            .acquirer
            .deposit(merchant.deposit(2, vec![merchant.paid(&coins[0], ACQUIRER, 2)]))
            .await
            .unwrap();
        banks.acquirer.flush_outbox().await.unwrap();
        // The clearing house's cycle 2 holds that deposit; cut it so the refund lands in 3.
        banks.clearing.cut_cycle().await.unwrap();
        let second = banks
            .acquirer
            .refund(merchant.refund(2, &coins[0], 2, "0.30"))
            .await
            .unwrap();
        banks.acquirer.forward_refunds().await.unwrap();
        banks.acquirer.flush_outbox().await.unwrap();
        let filed = submissions::cycle_refunds(&banks.acquirer.state().store, 3, 10).unwrap();
        assert_eq!(filed.len(), 1);
        let left_out = banks.report(3, Vec::new());
        let (acquirer, issuer) = banks.reconcile(&left_out).await;
        assert_eq!(
            acquirer,
            vec![
                (DiscrepancyKind::MissingRefund, Some(second.refund)),
                (DiscrepancyKind::NetPositionMismatch, None),
            ]
        );
        // The issuer cannot know in which cycle the acquirer settles: nothing to find.
        assert_eq!(issuer, vec![]);
        let recorded = banks.acquirer.discrepancies(0, 100).unwrap();
        let missing = recorded
            .iter()
            .find(|d| d.kind == DiscrepancyKind::MissingRefund)
            .unwrap();
        assert_eq!(
            (
                missing.cycle_sequence,
                missing.counterparty,
                missing.books_minor_units
            ),
            (3, ISSUER_1, 30)
        );
    });
}

/// A refund whose issuer was unreachable when it was recorded settles in the next flush: the
/// outbox pass sends the pending refund notices first, so the flush's submission carries the
/// confirmation. Before, the notice waited for the outbox timer, and a load's last flush and cut
/// could leave the refund out of every report (`refunds.reported`).
#[test]
fn a_flush_sends_pending_refund_notices_first_and_submits_their_confirmations() {
    let world = World::new("flush-refund-notice", &[ACQUIRER]);
    run(async {
        let banks = banks(&world).await;
        let merchant = Merchant::new(1);
        register(&banks.acquirer, &merchant).await;
        let coins = banks.issuers.coins(ISSUER_1, 1).await;
        let paid = merchant.deposit(1, vec![merchant.paid(&coins[0], ACQUIRER, 1)]);
        banks.acquirer.deposit(paid).await.unwrap();
        banks.issuers.gateway.down.lock().unwrap().insert(ISSUER_1);
        let refund = banks
            .acquirer
            .refund(merchant.refund(1, &coins[0], 1, "0.40"))
            .await
            .unwrap();
        // The forwarding the refund started, and one more, find the issuer unreachable.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert_eq!(banks.acquirer.forward_refunds().await.unwrap(), 0);
        banks.issuers.gateway.down.lock().unwrap().clear();

        let status = banks.acquirer.flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.refunds_queued), (0, 0));
        let store = &banks.acquirer.state().store;
        let claimed = submissions::cycle_refunds(store, 1, 10).unwrap();
        assert_eq!(claimed.len(), 1, "the refund is in the flush's submission");
        assert_eq!((claimed[0].0, claimed[0].1), (ISSUER_1, refund.refund));
        let report = banks.clearing.cut_cycle().await.unwrap();
        assert_eq!(report.body().fields().refunds.len(), 1);
    });
}
