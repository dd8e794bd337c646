//! The clearing house end to end, in process: submissions from two acquirers with confirmations
//! of two issuers, claims counted once, cut-offs by count, time and operator, report delivery
//! with retries, and restarts.

mod clearing_common;

use std::sync::Arc;
use std::time::Duration;

use clearing_common::*;
use semper_actors::gateway::ClearingGateway;
use semper_protocol::ids::{BankId, BatchId};
use semper_protocol::messages::receipt::ClaimResult;

#[test]
fn two_acquirers_and_two_issuers_net_to_zero_and_every_participant_gets_the_report() {
    let f = Fixture::new("flow");
    run(async {
        // Two deliveries fail first: they are retried.
        let (clearing, mut delivered) = f.start(2);
        let clearing_key = *clearing.state().key.verifying_key();
        let first = clearing
            .submit(submission(
                ACQUIRER_1,
                1,
                vec![
                    confirmation(ISSUER_1, ACQUIRER_1, 1, &[1, 2], "EUR:1.00"),
                    confirmation(ISSUER_2, ACQUIRER_1, 2, &[3], "EUR:5.00"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(first.verify(&clearing_key), Ok(()));
        assert_eq!(claims(&first), vec![ClaimResult::Claimed; 2]);
        assert_eq!(first.body().cycle_sequence, 1);
        let second = clearing
            .submit(submission(
                ACQUIRER_2,
                1,
                vec![
                    confirmation(ISSUER_1, ACQUIRER_2, 3, &[4], "EUR:3.00"),
                    confirmation(ISSUER_2, ACQUIRER_2, 4, &[5, 6], "USD:1.00"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(claims(&second), vec![ClaimResult::Claimed; 2]);
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!(
            (status.sequence, status.submissions, status.confirmations),
            (1, 2, 4)
        );

        let report = clearing.cut_cycle().await.unwrap();
        assert_eq!(report.verify(&clearing_key), Ok(()));
        let fields = report.body().fields();
        assert_eq!(fields.sequence, 1);
        let obligations: Vec<_> = fields
            .obligations
            .iter()
            .map(|o| (o.issuer, o.acquirer, o.amount, o.confirmations.to_vec()))
            .collect();
        assert_eq!(
            obligations,
            vec![
                (ISSUER_1, ACQUIRER_1, eur("2.00"), vec![BatchId([1; 16])]),
                (ISSUER_1, ACQUIRER_2, eur("3.00"), vec![BatchId([3; 16])]),
                (ISSUER_2, ACQUIRER_1, eur("5.00"), vec![BatchId([2; 16])]),
                (
                    ISSUER_2,
                    ACQUIRER_2,
                    "USD:2.00".parse().unwrap(),
                    vec![BatchId([4; 16])]
                ),
            ]
        );
        assert_eq!(position(&report, ACQUIRER_1, "EUR"), 700);
        assert_eq!(position(&report, ACQUIRER_2, "EUR"), 300);
        assert_eq!(position(&report, ISSUER_1, "EUR"), -500);
        assert_eq!(position(&report, ISSUER_2, "EUR"), -500);
        assert_eq!(position(&report, ACQUIRER_2, "USD"), 200);
        assert_eq!(position(&report, ISSUER_2, "USD"), -200);
        for currency in ["EUR", "USD"] {
            let sum: i64 = fields
                .net_positions
                .iter()
                .filter(|p| p.currency.code() == currency)
                .map(|p| p.net_minor_units)
                .sum();
            assert_eq!(sum, 0, "{currency}");
        }

        let got = deliveries(&mut delivered, 4).await;
        let banks: Vec<BankId> = got.iter().map(|(bank, _)| *bank).collect();
        assert_eq!(banks, vec![ACQUIRER_1, ACQUIRER_2, ISSUER_1, ISSUER_2]);
        assert!(got.iter().all(|(_, delivered)| *delivered == report));

        assert_eq!(
            clearing.reports_after(0, 10).await.unwrap(),
            vec![report.clone()]
        );
        assert!(clearing.reports_after(1, 10).await.unwrap().is_empty());
        // The same through the gateway trait an in-process acquirer uses.
        let gateway: &dyn ClearingGateway = &clearing;
        assert_eq!(gateway.reports_after(0, 10).await.unwrap(), vec![report]);
        assert_eq!(clearing.cycle_status().await.unwrap().sequence, 2);
    });
}

#[test]
fn a_retried_submission_gets_the_same_receipt_and_a_reused_id_is_refused() {
    let f = Fixture::new("retry");
    run(async {
        let (clearing, _delivered) = f.start(0);
        let sent = submission(
            ACQUIRER_1,
            1,
            vec![confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00")],
        );
        let first = clearing.submit(sent.clone()).await.unwrap();
        f.clock.set(START.plus_ms(1000));
        let again = clearing.submit(sent).await.unwrap();
        assert_eq!(again, first);
        let reused = submission(
            ACQUIRER_1,
            1,
            vec![confirmation(ISSUER_1, ACQUIRER_1, 2, &[2], "EUR:1.00")],
        );
        let error = clearing.submit(reused).await.unwrap_err();
        assert_eq!(error.code(), "submission.id_reused");
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!((status.submissions, status.confirmations), (1, 1));
    });
}

#[test]
fn a_confirmation_or_a_coin_is_counted_once_and_the_receipt_says_by_whom() {
    let f = Fixture::new("once");
    run(async {
        let (clearing, _delivered) = f.start(0);
        let claimed = confirmation(ISSUER_1, ACQUIRER_1, 1, &[1, 2], "EUR:1.00");
        let first = clearing
            .submit(submission(ACQUIRER_1, 1, vec![claimed.clone()]))
            .await
            .unwrap();
        assert_eq!(claims(&first), vec![ClaimResult::Claimed]);
        // Again in another submission of the same acquirer.
        let twice = clearing
            .submit(submission(ACQUIRER_1, 2, vec![claimed.clone()]))
            .await
            .unwrap();
        assert_eq!(claims(&twice), vec![already(ACQUIRER_1, 1)]);
        // By the second acquirer: it is not owed to it. And a confirmation the issuer made out to
        // the second acquirer for a coin already claimed does not count that coin again.
        let stolen = confirmation(ISSUER_1, ACQUIRER_2, 7, &[2], "EUR:1.00");
        let by_other = clearing
            .submit(submission(ACQUIRER_2, 1, vec![claimed, stolen]))
            .await
            .unwrap();
        assert_eq!(
            claims(&by_other),
            vec![
                refused("confirmation.wrong_acquirer"),
                already(ACQUIRER_1, 1)
            ]
        );
        // A replayed coin in a later batch of the same acquirer, next to a new one: refused whole.
        let replay = confirmation(ISSUER_1, ACQUIRER_1, 2, &[2, 3], "EUR:1.00");
        let fresh = confirmation(ISSUER_1, ACQUIRER_1, 3, &[4], "EUR:1.00");
        let later = clearing
            .submit(submission(ACQUIRER_1, 3, vec![replay, fresh]))
            .await
            .unwrap();
        assert_eq!(
            claims(&later),
            vec![already(ACQUIRER_1, 1), ClaimResult::Claimed]
        );

        let report = clearing.cut_cycle().await.unwrap();
        let fields = report.body().fields();
        assert_eq!(fields.obligations.len(), 1);
        assert_eq!(fields.obligations[0].amount, eur("3.00"));
        assert_eq!(
            fields.obligations[0].confirmations.to_vec(),
            vec![BatchId([1; 16]), BatchId([3; 16])]
        );
    });
}

#[test]
fn a_bad_acquirer_signature_refuses_all_and_a_bad_issuer_signature_only_its_confirmation() {
    let f = Fixture::new("signatures");
    run(async {
        let (clearing, _delivered) = f.start(0);
        let forged = submission_signed_by(
            &key(ACQUIRER_2),
            ACQUIRER_1,
            1,
            vec![confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00")],
        );
        let error = clearing.submit(forged).await.unwrap_err();
        assert_eq!(error.code(), "submission.invalid_acquirer_signature");
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!((status.submissions, status.confirmations), (0, 0));

        let bad = confirmation_signed_by(&key(ISSUER_2), ISSUER_1, ACQUIRER_1, 2, &[2], "EUR:1.00");
        let receipt = clearing
            .submit(submission(
                ACQUIRER_1,
                1,
                vec![
                    confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00"),
                    bad,
                    confirmation(ISSUER_2, ACQUIRER_1, 3, &[3], "EUR:1.00"),
                ],
            ))
            .await
            .unwrap();
        assert_eq!(
            claims(&receipt),
            vec![
                ClaimResult::Claimed,
                refused("confirmation.bad_signature"),
                ClaimResult::Claimed
            ]
        );
    });
}

#[test]
fn cycles_are_cut_by_count_and_by_time() {
    let mut f = Fixture::new("cutoff");
    f.cycle_max_submissions = 2;
    f.cycle_max_ms = 60_000;
    run(async {
        let (clearing, mut delivered) = f.start(0);
        for id in 1..=2u8 {
            clearing
                .submit(submission(
                    ACQUIRER_1,
                    id,
                    vec![confirmation(ISSUER_1, ACQUIRER_1, id, &[id], "EUR:1.00")],
                ))
                .await
                .unwrap();
        }
        // The second submission reaches the count: cycle 1 is cut, and goes to all four.
        let got = deliveries(&mut delivered, 4).await;
        assert!(got.iter().all(|(_, r)| r.body().fields().sequence == 1));
        assert_eq!(got[0].1.body().fields().obligations[0].amount, eur("2.00"));

        clearing
            .submit(submission(
                ACQUIRER_1,
                3,
                vec![confirmation(ISSUER_1, ACQUIRER_1, 3, &[3], "EUR:1.00")],
            ))
            .await
            .unwrap();
        // The timer ticks every few ms, but the clock has not moved: nothing is cut.
        actix::clock::sleep(Duration::from_millis(50)).await;
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!((status.sequence, status.submissions), (2, 1));
        let due = status.opened_at.plus_ms(60_000);
        f.clock.set(due);
        let got = deliveries(&mut delivered, 4).await;
        let fields = got[0].1.body().fields();
        assert_eq!(fields.sequence, 2);
        assert_eq!(fields.cutoff_at, due);
        assert_eq!(fields.obligations[0].amount, eur("1.00"));
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!((status.sequence, status.submissions), (3, 0));
        // An idle cycle is not cut by time.
        f.clock.set(due.plus_ms(10 * 60_000));
        actix::clock::sleep(Duration::from_millis(50)).await;
        assert_eq!(clearing.cycle_status().await.unwrap().sequence, 3);
    });
}

#[test]
fn a_restarted_clearing_house_recovers_its_cycle_claims_and_reports() {
    let f = Fixture::new("restart");
    let first = submission(
        ACQUIRER_1,
        1,
        vec![confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00")],
    );
    let (report, receipt, stopped) = run(async {
        let (clearing, _delivered) = f.start(0);
        let receipt = clearing.submit(first.clone()).await.unwrap();
        let report = clearing.cut_cycle().await.unwrap();
        clearing
            .submit(submission(
                ACQUIRER_2,
                1,
                vec![confirmation(ISSUER_2, ACQUIRER_2, 2, &[2, 3], "EUR:1.00")],
            ))
            .await
            .unwrap();
        (report, receipt, Arc::downgrade(clearing.state()))
    });
    wait_until_closed(stopped);
    let stopped = run(async {
        let (clearing, mut delivered) = f.start(0);
        let status = clearing.cycle_status().await.unwrap();
        assert_eq!(
            (status.sequence, status.submissions, status.confirmations),
            (2, 1, 1)
        );
        assert_eq!(clearing.reports_after(0, 10).await.unwrap(), vec![report]);
        // The same submission: the same receipt. Its confirmation in a new one: already claimed.
        assert_eq!(clearing.submit(first).await.unwrap(), receipt);
        let duplicate = clearing
            .submit(submission(
                ACQUIRER_1,
                2,
                vec![confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00")],
            ))
            .await
            .unwrap();
        assert_eq!(claims(&duplicate), vec![already(ACQUIRER_1, 1)]);
        // The claims made before the restart are in the next report.
        let next = clearing.cut_cycle().await.unwrap();
        let fields = next.body().fields();
        assert_eq!(fields.sequence, 2);
        assert_eq!(fields.obligations[0].issuer, ISSUER_2);
        assert_eq!(fields.obligations[0].amount, eur("2.00"));
        deliveries(&mut delivered, 4).await;
        Arc::downgrade(clearing.state())
    });
    wait_until_closed(stopped);
}

/// A sink whose deliveries never end: the clearing house dies, as far as its reports go, right
/// after each cut.
struct HoldingSink;

impl semper_actors::gateway::ReportSink for HoldingSink {
    fn deliver(
        &self,
        _participant: BankId,
        _report: semper_protocol::messages::settlement::SignedSettlementReport,
    ) -> semper_actors::gateway::GatewayFuture<'_, ()> {
        Box::pin(std::future::pending())
    }
}

#[test]
fn a_report_cut_but_not_delivered_before_a_restart_is_delivered_after_it_once() {
    let f = Fixture::new("undelivered");
    let (report, stopped) = run(async {
        let state =
            semper_actors::clearing::ClearingState::open(&f.config(), f.clock.clone()).unwrap();
        let clearing =
            semper_actors::clearing::ClearingHandle::start(state, Arc::new(HoldingSink), 64);
        clearing
            .submit(submission(
                ACQUIRER_1,
                1,
                vec![confirmation(ISSUER_1, ACQUIRER_1, 1, &[1], "EUR:1.00")],
            ))
            .await
            .unwrap();
        let report = clearing.cut_cycle().await.unwrap();
        let undelivered =
            semper_storage::clearing::undelivered(&clearing.state().store, 16).unwrap();
        assert_eq!(undelivered, [1]);
        // The system ends here, its delivery tasks with it, as a crash would end them.
        (report, Arc::downgrade(clearing.state()))
    });
    wait_until_closed(stopped);

    let stopped = run(async {
        let (clearing, mut delivered) = f.start(0);
        let got = deliveries(&mut delivered, 4).await;
        let banks: Vec<BankId> = got.iter().map(|(bank, _)| *bank).collect();
        assert_eq!(banks, [ACQUIRER_1, ACQUIRER_2, ISSUER_1, ISSUER_2]);
        assert!(got.iter().all(|(_, got)| *got == report));
        // The mark goes once the deliveries ended, and nothing is delivered again.
        let started = std::time::Instant::now();
        while !semper_storage::clearing::undelivered(&clearing.state().store, 16)
            .unwrap()
            .is_empty()
        {
            assert!(started.elapsed() < WAIT, "the report stayed marked");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        let more = tokio::time::timeout(Duration::from_millis(300), delivered.recv()).await;
        assert!(more.is_err(), "delivered again: {more:?}");
        clearing.stop();
        Arc::downgrade(clearing.state())
    });
    wait_until_closed(stopped);

    // Started again, it has nothing left to deliver.
    let stopped = run(async {
        let (clearing, mut delivered) = f.start(0);
        let more = tokio::time::timeout(Duration::from_millis(300), delivered.recv()).await;
        assert!(
            more.is_err(),
            "delivered again after a clean restart: {more:?}"
        );
        Arc::downgrade(clearing.state())
    });
    wait_until_closed(stopped);
}
