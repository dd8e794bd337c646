//! The acquirer actor end to end, with two real issuers and a fake clearing house: micro-batched
//! deposits, idempotent retries, double spends, refusals, the outbox to the clearing house
//! through failures and a restart, and the reconciliation of settlement reports.

mod fixture;
mod reconcile;
mod refunds;
mod settle_refunds;

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use fixture::*;
use semper_actors::acquirer::{AcquirerError, AcquirerHandle, DepositStatus};
use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, RequestId};
use semper_protocol::messages::merchant::{DepositResponse, DepositResult, SignedDepositRequest};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::signed::Signed;
use semper_protocol::wallet::WalletCoin;
use semper_storage::acquirer::merchants;
use semper_storage::acquirer::submissions::{self, SubmissionState};

async fn register(acquirer: &AcquirerHandle, merchant: &Merchant) {
    acquirer
        .register_merchant(merchant.id, *merchant.key.verifying_key())
        .await
        .unwrap();
}

async fn balance(acquirer: &AcquirerHandle, merchant: &Merchant) -> Amount {
    let record = acquirer.merchant(merchant.id).await.unwrap();
    record.balance(eur("0").currency())
}

/// Deposits every request at once, and waits for every answer.
async fn deposit_all(
    acquirer: &AcquirerHandle,
    requests: Vec<SignedDepositRequest>,
) -> Vec<Result<DepositResponse, AcquirerError>> {
    let tasks: Vec<_> = requests
        .into_iter()
        .map(|request| {
            let acquirer = acquirer.clone();
            actix::spawn(async move { acquirer.deposit(request).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    answers
}

fn value(coins: &[&WalletCoin]) -> Amount {
    coins
        .iter()
        .map(|c| c.value())
        .reduce(|a, b| a.checked_add(b).unwrap())
        .unwrap()
}

#[test]
fn one_micro_batch_makes_one_spend_check_per_issuer_and_credits_exactly_what_was_accepted() {
    let world = World::new("batch", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let mut config = world.acquirer_config(ACQUIRER, &issuers);
        // The batch closes on its coin count only: both deposits are in it.
        config.batch_max_coins = 5;
        config.batch_max_delay_ms = 60_000;
        let acquirer = world.start_acquirer(&config, &issuers).await;
        let (m1, m2) = (Merchant::new(1), Merchant::new(2));
        register(&acquirer, &m1).await;
        register(&acquirer, &m2).await;
        let ones = issuers.coins(ISSUER_1, 3).await;
        let twos = issuers.coins(ISSUER_2, 2).await;

        let first = m1.deposit(
            1,
            vec![
                m1.paid(&ones[0], ACQUIRER, 1),
                m1.paid(&twos[0], ACQUIRER, 1),
                m1.paid(&ones[1], ACQUIRER, 1),
            ],
        );
        let second = m2.deposit(
            1,
            vec![
                m2.paid(&ones[2], ACQUIRER, 2),
                m2.paid(&twos[1], ACQUIRER, 2),
            ],
        );
        let first_digest = first.body_digest();
        let answers = deposit_all(&acquirer, vec![first, second]).await;
        let first = answers[0].clone().unwrap();
        let second = answers[1].clone().unwrap();
        assert_eq!(first.results.to_vec(), vec![DepositResult::Accepted; 3]);
        assert_eq!(second.results.to_vec(), vec![DepositResult::Accepted; 2]);
        assert_eq!(first.deposit_id, RequestId([1; 16]));

        let mut checks: Vec<(BankId, usize)> = issuers
            .gateway
            .spend_checks()
            .into_iter()
            .map(|(issuer, _, coins)| (issuer, coins))
            .collect();
        checks.sort();
        assert_eq!(checks, vec![(ISSUER_1, 3), (ISSUER_2, 2)]);

        assert_eq!(balance(&acquirer, &m1).await, eur("4.00"));
        assert_eq!(balance(&acquirer, &m2).await, eur("3.00"));
        // Conservation: the merchants' credits are the value of the accepted coins.
        let accepted = value(&[&ones[0], &ones[1], &ones[2], &twos[0], &twos[1]]);
        assert_eq!(eur("7.00"), accepted);
        let status = acquirer.outbox_status().await.unwrap();
        assert_eq!(
            status.queued, 2,
            "one confirmation per issuer awaits settlement"
        );
        assert_eq!(
            acquirer
                .deposit_status(m1.id, RequestId([1; 16]))
                .await
                .unwrap(),
            DepositStatus::Done(first, first_digest)
        );
    });
}

#[test]
fn micro_batches_close_at_their_coin_bound_and_after_their_delay() {
    let world = World::new("bounds", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let mut config = world.acquirer_config(ACQUIRER, &issuers);
        config.batch_max_coins = 2;
        config.batch_max_delay_ms = 50;
        let acquirer = world.start_acquirer(&config, &issuers).await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        let coins = issuers.coins(ISSUER_1, 7).await;

        let requests = (0..3)
            .map(|i| {
                let pair = vec![
                    merchant.paid(&coins[2 * i], ACQUIRER, 1),
                    merchant.paid(&coins[2 * i + 1], ACQUIRER, 1),
                ];
                merchant.deposit(i as u8, pair)
            })
            .collect();
        for answer in deposit_all(&acquirer, requests).await {
            assert_eq!(
                answer.unwrap().results.to_vec(),
                vec![DepositResult::Accepted; 2]
            );
        }
        // Each deposit fills a batch: three batches, three spend checks of two coins.
        let sizes: Vec<usize> = issuers.gateway.spend_checks().iter().map(|c| c.2).collect();
        assert_eq!(sizes, vec![2, 2, 2]);

        // A lone coin: its batch never fills, and closes on its delay.
        let lone = merchant.deposit(9, vec![merchant.paid(&coins[6], ACQUIRER, 1)]);
        let answer = acquirer.deposit(lone).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![DepositResult::Accepted]);
        assert_eq!(issuers.gateway.spend_checks().len(), 4);
        assert_eq!(balance(&acquirer, &merchant).await, eur("7.00"));
    });
}

#[test]
fn retries_are_idempotent_and_a_coin_is_credited_once() {
    let world = World::new("idempotent", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let acquirer = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        let coins = issuers.coins(ISSUER_1, 3).await;
        let paid = [
            merchant.paid(&coins[0], ACQUIRER, 1),
            merchant.paid(&coins[1], ACQUIRER, 1),
        ];

        // The same deposit three times at once, and once more after: one answer, one credit.
        let request = merchant.deposit(1, paid.to_vec());
        let answers = deposit_all(&acquirer, vec![request.clone(); 3]).await;
        let first = answers[0].clone().unwrap();
        assert_eq!(first.results.to_vec(), vec![DepositResult::Accepted; 2]);
        for answer in &answers {
            assert_eq!(answer.as_ref().unwrap(), &first);
        }
        assert_eq!(acquirer.deposit(request).await.unwrap(), first);
        assert_eq!(balance(&acquirer, &merchant).await, eur("2.00"));
        let checks_so_far = issuers.gateway.spend_checks().len();
        assert_eq!(checks_so_far, 1);

        // The same id with another body is refused.
        let reused = merchant.deposit(1, vec![paid[0].clone()]);
        assert_eq!(
            acquirer.deposit(reused).await.unwrap_err().code(),
            "deposit.id_reused"
        );

        // The same coins under a new deposit id: the same permission is a replay, another one a
        // double spend with the first as proof; answered from the coin index, credited never.
        let again = merchant.deposit(
            2,
            vec![paid[0].clone(), merchant.paid(&coins[1], ACQUIRER, 7)],
        );
        let answer = acquirer.deposit(again).await.unwrap();
        assert_eq!(
            answer.results.to_vec(),
            vec![
                DepositResult::Replay,
                DepositResult::Conflict {
                    earlier: Box::new(paid[1].clone())
                }
            ]
        );
        assert_eq!(issuers.gateway.spend_checks().len(), checks_so_far);
        assert_eq!(balance(&acquirer, &merchant).await, eur("2.00"));

        // The issuer's answer is lost once: the same batch is sent again, the issuer answers
        // "replay", and the coin is credited once.
        issuers.gateway.lose_answers.store(1, Ordering::SeqCst);
        let lost = merchant.deposit(3, vec![merchant.paid(&coins[2], ACQUIRER, 1)]);
        let answer = acquirer.deposit(lost).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![DepositResult::Accepted]);
        let checks = issuers.gateway.spend_checks();
        assert_eq!(checks.len(), checks_so_far + 2);
        assert_eq!(
            checks[checks.len() - 1].1,
            checks[checks.len() - 2].1,
            "same batch id"
        );
        assert_eq!(balance(&acquirer, &merchant).await, eur("3.00"));
        let journal =
            merchants::merchant_journal(&acquirer.state().store, &merchant.id, 100).unwrap();
        assert_eq!(journal.len(), 2, "one credit per deposit that credited");
    });
}

#[test]
fn a_coin_double_spent_at_two_acquirers_is_accepted_once() {
    let world = World::new("double", &[ACQUIRER, OTHER_ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let a = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let b = world
            .start_acquirer(&world.acquirer_config(OTHER_ACQUIRER, &issuers), &issuers)
            .await;
        let (at_a, at_b) = (Merchant::new(1), Merchant::new(2));
        register(&a, &at_a).await;
        register(&b, &at_b).await;
        let coin = issuers.coins(ISSUER_2, 1).await.remove(0);
        let to_a = at_a.paid(&coin, ACQUIRER, 1);
        let to_b = at_b.paid(&coin, OTHER_ACQUIRER, 2);
        let (first, second) = (
            a.deposit(at_a.deposit(1, vec![to_a.clone()])),
            b.deposit(at_b.deposit(1, vec![to_b.clone()])),
        );
        let (first, second) = (first.await.unwrap(), second.await.unwrap());
        let results = [first.results[0].clone(), second.results[0].clone()];
        let accepted = results
            .iter()
            .filter(|r| **r == DepositResult::Accepted)
            .count();
        assert_eq!(accepted, 1, "{results:?}");
        let (winner, loser) = if results[0] == DepositResult::Accepted {
            (to_a, &results[1])
        } else {
            (to_b, &results[0])
        };
        assert_eq!(
            loser,
            &DepositResult::Conflict {
                earlier: Box::new(winner)
            }
        );
        let credited = balance(&a, &at_a)
            .await
            .checked_add(balance(&b, &at_b).await)
            .unwrap();
        assert_eq!(credited, coin.value());
    });
}

#[test]
fn bad_requests_are_refused_whole_and_a_bad_coin_alone() {
    let world = World::new("refusals", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let acquirer = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        let coins = issuers.coins(ISSUER_1, 3).await;

        // Signed by another key.
        let impostor = Merchant {
            id: merchant.id,
            key: Merchant::new(2).key,
        };
        let forged = impostor.deposit(1, vec![impostor.paid(&coins[0], ACQUIRER, 1)]);
        assert_eq!(
            acquirer.deposit(forged).await.unwrap_err().code(),
            "deposit.invalid_merchant_signature"
        );
        // A merchant never registered.
        let stranger = Merchant::new(3);
        let unknown = stranger.deposit(1, vec![stranger.paid(&coins[0], ACQUIRER, 1)]);
        assert_eq!(
            acquirer.deposit(unknown).await.unwrap_err().code(),
            "merchant.unknown"
        );
        // A permission for another acquirer.
        let elsewhere = merchant.deposit(1, vec![merchant.paid(&coins[0], OTHER_ACQUIRER, 1)]);
        assert_eq!(
            acquirer.deposit(elsewhere).await.unwrap_err().code(),
            "deposit.wrong_acquirer"
        );
        assert!(issuers.gateway.spend_checks().is_empty());

        // A coin whose permission carries another coin's signature, between two good ones.
        let good = [
            merchant.paid(&coins[0], ACQUIRER, 1),
            merchant.paid(&coins[2], ACQUIRER, 1),
        ];
        let stolen = merchant.paid(&coins[1], ACQUIRER, 1);
        let bad = Signed::from_parts(stolen.body().clone(), *good[0].signature());
        let request = merchant.deposit(2, vec![good[0].clone(), bad, good[1].clone()]);
        let answer = acquirer.deposit(request).await.unwrap();
        assert_eq!(
            answer.results.to_vec(),
            vec![
                DepositResult::Accepted,
                DepositResult::Refused {
                    code: "deposit.invalid_permission_signature".into()
                },
                DepositResult::Accepted
            ]
        );
        let checks = issuers.gateway.spend_checks();
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].2, 2, "the bad coin never reaches the issuer");
        assert_eq!(balance(&acquirer, &merchant).await, eur("2.00"));
    });
}

#[test]
fn a_deposit_left_incomplete_is_finished_by_its_retry_and_credited_once() {
    let world = World::new("incomplete", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let acquirer = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        let one = issuers.coins(ISSUER_1, 1).await.remove(0);
        let two = issuers.coins(ISSUER_2, 1).await.remove(0);
        let request = merchant.deposit(
            1,
            vec![
                merchant.paid(&one, ACQUIRER, 1),
                merchant.paid(&two, ACQUIRER, 1),
            ],
        );

        // Issuer 2 is down: its coin stays open, issuer 1's is credited.
        issuers.gateway.down.lock().unwrap().insert(ISSUER_2);
        let error = acquirer.deposit(request.clone()).await.unwrap_err();
        assert_eq!(
            error,
            AcquirerError::Incomplete {
                code: "deposit.issuer_unavailable".into()
            }
        );
        assert!(error.retryable());
        assert_eq!(
            acquirer
                .deposit_status(merchant.id, RequestId([1; 16]))
                .await
                .unwrap(),
            DepositStatus::Incomplete
        );
        assert_eq!(balance(&acquirer, &merchant).await, eur("1.00"));
        // The same id with another body is refused, incomplete or not.
        let reused = merchant.deposit(1, vec![merchant.paid(&one, ACQUIRER, 1)]);
        assert_eq!(
            acquirer.deposit(reused).await.unwrap_err().code(),
            "deposit.id_reused"
        );

        // Back up, but every answer of the next spend check is lost: the issuer spent the coin,
        // the acquirer does not know it, and the deposit stays incomplete.
        issuers.gateway.down.lock().unwrap().clear();
        issuers.gateway.lose_answers.store(3, Ordering::SeqCst);
        let error = acquirer.deposit(request.clone()).await.unwrap_err();
        assert_eq!(error.code(), "deposit.incomplete");
        assert_eq!(balance(&acquirer, &merchant).await, eur("1.00"));

        // The retry: issuer 1's coin is answered from the coin index; issuer 2 answers "replay"
        // for a coin this acquirer never credited, so it is credited now, once.
        let checks_before = issuers.gateway.spend_checks().len();
        let answer = acquirer.deposit(request.clone()).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![DepositResult::Accepted; 2]);
        let checks = issuers.gateway.spend_checks();
        assert_eq!(checks.len(), checks_before + 1);
        assert_eq!(
            (checks[checks_before].0, checks[checks_before].2),
            (ISSUER_2, 1)
        );
        assert_eq!(balance(&acquirer, &merchant).await, eur("3.00"));
        assert_eq!(acquirer.deposit(request).await.unwrap(), answer);
        assert_eq!(balance(&acquirer, &merchant).await, eur("3.00"));

        // Settlement claims exactly what was credited: issuer 1's first confirmation and issuer
        // 2's last (the lost ones were never stored, so never claimed).
        acquirer.flush_outbox().await.unwrap();
        let filed = submissions::cycle_claims(&acquirer.state().store, 1, 100).unwrap();
        // Filed by cycle, then issuer.
        let claimed: Vec<(BankId, Amount)> =
            filed.iter().map(|(i, _, c)| (*i, c.totals[0])).collect();
        assert_eq!(
            claimed,
            vec![(ISSUER_1, eur("1.00")), (ISSUER_2, eur("2.00"))]
        );
    });
}

/// Deposits one coin of each issuer for `merchant` under `deposit_id`.
async fn deposit_one_of_each(
    acquirer: &AcquirerHandle,
    issuers: &Issuers,
    merchant: &Merchant,
    deposit_id: u8,
) {
    let one = issuers.coins(ISSUER_1, 1).await.remove(0);
    let two = issuers.coins(ISSUER_2, 1).await.remove(0);
    let request = merchant.deposit(
        deposit_id,
        vec![
            merchant.paid(&one, ACQUIRER, 1),
            merchant.paid(&two, ACQUIRER, 1),
        ],
    );
    let answer = acquirer.deposit(request).await.unwrap();
    assert_eq!(answer.results.to_vec(), vec![DepositResult::Accepted; 2]);
}

#[test]
fn the_outbox_submits_each_confirmation_once_through_lost_answers() {
    let world = World::new("outbox", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let acquirer = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        deposit_one_of_each(&acquirer, &issuers, &merchant, 1).await;
        deposit_one_of_each(&acquirer, &issuers, &merchant, 2).await;
        assert_eq!(acquirer.outbox_status().await.unwrap().queued, 4);

        // The clearing house counts the submission, then its answer is lost twice.
        world.clearing.lose_answers.store(2, Ordering::SeqCst);
        let status = acquirer.flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0));
        let received = world.clearing.received();
        assert_eq!(received.len(), 3);
        assert!(
            received.iter().all(|s| s == &received[0]),
            "the same submission, byte for byte"
        );
        let id = received[0].body().submission_id;
        let batches: HashSet<_> = received[0]
            .body()
            .confirmations
            .iter()
            .map(|c| c.body().batch_id)
            .collect();
        assert_eq!(batches.len(), 4);
        let claimed = world.clearing.claimed.lock().unwrap().clone();
        assert_eq!(claimed.len(), 4);
        assert!(claimed.values().all(|s| *s == id));
        let record = acquirer.submission(id).await.unwrap().unwrap();
        assert!(
            matches!(record.state, SubmissionState::Answered(ref r) if r.body().submission_id == id)
        );
        let filed = submissions::cycle_claims(&acquirer.state().store, 1, 100).unwrap();
        assert_eq!(filed.len(), 4);
        let filed_total = filed
            .iter()
            .flat_map(|(_, _, c)| c.totals.iter().copied())
            .reduce(|a, b| a.checked_add(b).unwrap())
            .unwrap();
        assert_eq!(
            filed_total,
            balance(&acquirer, &merchant).await,
            "claims = credits"
        );

        // Nothing queued: a flush sends nothing.
        acquirer.flush_outbox().await.unwrap();
        assert_eq!(world.clearing.received().len(), 3);

        // Refused confirmations are kept with the reason, and not sent again.
        *world.clearing.refuse_issuer.lock().unwrap() = Some(ISSUER_2);
        deposit_one_of_each(&acquirer, &issuers, &merchant, 3).await;
        let status = acquirer.flush_outbox().await.unwrap();
        let received = world.clearing.received();
        assert_eq!(received.len(), 4);
        assert_ne!(
            received[3].body().submission_id,
            id,
            "a new submission gets a new id"
        );
        assert_eq!(status.refused.len(), 1);
        assert_eq!(status.refused[0].issuer, ISSUER_2);
        assert_eq!(
            status.refused[0].result,
            ClaimResult::Refused {
                code: "confirmation.unknown_issuer".into()
            }
        );
        acquirer.flush_outbox().await.unwrap();
        assert_eq!(world.clearing.received().len(), 4);
    });
}

/// The soak of issue 19 ended with confirmations refused for good because the clearing house's
/// database was failing over when their submission arrived (`storage.unavailable`): a transient
/// fault must leave the submission pending, sent again with the same id and bytes.
#[test]
fn a_submission_the_clearing_house_could_not_store_is_sent_again_not_refused() {
    let world = World::new("outbox-storage", &[ACQUIRER]);
    run(async {
        let issuers = world.start_issuers();
        let acquirer = world
            .start_acquirer(&world.acquirer_config(ACQUIRER, &issuers), &issuers)
            .await;
        let merchant = Merchant::new(1);
        register(&acquirer, &merchant).await;
        deposit_one_of_each(&acquirer, &issuers, &merchant, 1).await;

        // Out of reach for the whole pass: it ends unanswered, the submission pending.
        (world.clearing.storage_failures).store(u32::MAX, Ordering::SeqCst);
        let error = acquirer.flush_outbox().await.unwrap_err();
        assert!(error.retryable(), "{error}");
        let status = acquirer.outbox_status().await.unwrap();
        assert_eq!(status.refused, vec![], "nothing refused for a failover");
        assert_eq!((status.queued, status.pending.len()), (0, 1));

        // Back for the second attempt of the next pass: the same submission is counted once.
        (world.clearing.storage_failures).store(1, Ordering::SeqCst);
        let status = acquirer.flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0));
        assert_eq!(status.refused, vec![]);
        let received = world.clearing.received();
        let id = received[0].body().submission_id;
        assert!(received.iter().all(|s| s == &received[0]), "the same bytes");
        let claimed = world.clearing.claimed.lock().unwrap().clone();
        assert_eq!(claimed.len(), 2);
        assert!(claimed.values().all(|s| *s == id));
        let record = acquirer.submission(id).await.unwrap().unwrap();
        assert!(matches!(record.state, SubmissionState::Answered(_)));
    });
}

#[test]
fn a_pending_submission_is_sent_again_with_the_same_id_after_a_restart() {
    let world = World::new("restart", &[ACQUIRER]);
    let merchant = Merchant::new(1);
    let (config, deposit, answer, stopped) = run(async {
        let issuers = world.start_issuers();
        let config = world.acquirer_config(ACQUIRER, &issuers);
        let acquirer = world.start_acquirer(&config, &issuers).await;
        register(&acquirer, &merchant).await;
        let coin = issuers.coins(ISSUER_1, 1).await.remove(0);
        let deposit = merchant.deposit(1, vec![merchant.paid(&coin, ACQUIRER, 1)]);
        let answer = acquirer.deposit(deposit.clone()).await.unwrap();

        // The clearing house is unreachable: every attempt of the pass fails.
        world
            .clearing
            .lose_answers
            .store(u32::MAX, Ordering::SeqCst);
        let error = acquirer.flush_outbox().await.unwrap_err();
        assert!(error.retryable(), "{error}");
        let status = acquirer.outbox_status().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 1));
        (config, deposit, answer, Arc::downgrade(acquirer.state()))
    });
    let sent_before = world.clearing.received();
    assert_eq!(sent_before.len(), 4, "one pass: its attempts");
    world.clearing.lose_answers.store(0, Ordering::SeqCst);

    run(async {
        // No issuer is needed to settle, or to answer a deposit already recorded.
        let nobody = Issuers::none();
        let state = reopen(stopped, &config, world.clock.clone());
        let acquirer = AcquirerHandle::start(state, nobody.gateway.clone(), world.clearing.clone());
        let status = acquirer.flush_outbox().await.unwrap();
        assert_eq!((status.queued, status.pending.len()), (0, 0));
        let received = world.clearing.received();
        let id = sent_before[0].body().submission_id;
        assert!(received.iter().all(|s| s.body().submission_id == id));
        assert_eq!(
            received.last(),
            sent_before.last(),
            "the same bytes as before the restart"
        );
        assert_eq!(
            world.clearing.claimed.lock().unwrap().len(),
            1,
            "counted once"
        );

        assert_eq!(acquirer.deposit(deposit).await.unwrap(), answer);
        assert_eq!(balance(&acquirer, &merchant).await, eur("1.00"));
    });
}
