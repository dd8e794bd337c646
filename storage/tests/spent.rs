//! The spent-coin set: outcomes, duplicates in a batch, and the double-spend race.

mod common;

use std::sync::Arc;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_storage::Role;
use semper_storage::spent::{CheckAndInsert, SpendOutcome};

fn new_then_replay_then_conflict_with_proof(target: &Target) {
    let (_store, committer) = target.open(Role::Issuer);
    let first = committer
        .execute(CheckAndInsert {
            entries: vec![spend(1, 1), spend(2, 1)],
        })
        .unwrap();
    assert_eq!(first, vec![SpendOutcome::New, SpendOutcome::New]);
    let again = committer
        .execute(CheckAndInsert {
            entries: vec![spend(1, 1), spend(2, 2), spend(3, 1)],
        })
        .unwrap();
    assert_eq!(
        again,
        vec![
            SpendOutcome::Replay,
            SpendOutcome::Conflict {
                earlier: spend(2, 1).permission
            },
            SpendOutcome::New
        ]
    );
}

fn a_coin_twice_in_one_batch_is_new_once(target: &Target) {
    let (_store, committer) = target.open(Role::Issuer);
    let outcomes = committer
        .execute(CheckAndInsert {
            entries: vec![spend(5, 1), spend(5, 1), spend(5, 2)],
        })
        .unwrap();
    assert_eq!(
        outcomes,
        vec![
            SpendOutcome::New,
            SpendOutcome::Replay,
            SpendOutcome::Conflict {
                earlier: spend(5, 1).permission
            }
        ]
    );
}

fn concurrent_spends_of_one_coin_have_exactly_one_winner(target: &Target) {
    let (_store, committer) = target.open(Role::Issuer);
    let committer = Arc::new(committer);
    for coin in 0..20u32 {
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let handles: Vec<_> = (0..8u32)
            .map(|task| {
                let committer = committer.clone();
                let barrier = barrier.clone();
                std::thread::spawn(move || {
                    barrier.wait();
                    // Each task spends the coin with its own permission, among other coins.
                    let entries = vec![spend(1000 + coin * 8 + task, 0), spend(coin, task)];
                    committer.execute(CheckAndInsert { entries }).unwrap()[1].clone()
                })
            })
            .collect();
        let outcomes: Vec<SpendOutcome> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let winners: Vec<usize> = (0..8)
            .filter(|i| outcomes[*i] == SpendOutcome::New)
            .collect();
        assert_eq!(winners.len(), 1, "coin {coin}: {outcomes:?}");
        let proof = spend(coin, winners[0] as u32).permission;
        for (task, outcome) in outcomes.iter().enumerate() {
            if task != winners[0] {
                assert_eq!(
                    outcome,
                    &SpendOutcome::Conflict {
                        earlier: proof.clone()
                    }
                );
            }
        }
    }
}

const CASES: &[(&str, Case)] = &[
    (
        "new_then_replay_then_conflict_with_proof",
        new_then_replay_then_conflict_with_proof,
    ),
    (
        "a_coin_twice_in_one_batch_is_new_once",
        a_coin_twice_in_one_batch_is_new_once,
    ),
    (
        "concurrent_spends_of_one_coin_have_exactly_one_winner",
        concurrent_spends_of_one_coin_have_exactly_one_winner,
    ),
];

#[test]
fn rocksdb_spent() {
    on_rocksdb("spent", CASES);
}

#[test]
fn postgres_spent() {
    on_postgres(CASES);
}
