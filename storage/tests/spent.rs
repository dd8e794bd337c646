//! The spent-coin set: outcomes, duplicates in a batch, and the double-spend race.

mod common;

use std::sync::Arc;

use common::*;
use semper_storage::spent::{CheckAndInsert, SpendOutcome};

#[test]
fn new_then_replay_then_conflict_with_proof() {
    let dir = TempDir::new("spent");
    let (_store, committer) = open_issuer(&dir);
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

#[test]
fn a_coin_twice_in_one_batch_is_new_once() {
    let dir = TempDir::new("spent-dup");
    let (_store, committer) = open_issuer(&dir);
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

#[test]
fn concurrent_spends_of_one_coin_have_exactly_one_winner() {
    let dir = TempDir::new("spent-race");
    let (_store, committer) = open_issuer(&dir);
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
