//! The issuer's books of coins issued, on either backend: a withdrawal and a swap count their
//! coins per denomination in their own write; a replay, a refusal, a conflict and counts that do
//! not match the signatures count nothing; requests in one group add up; and the books survive
//! a reopen.

use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{AccountId, DenominationId, Digest, RequestId};
use semper_protocol::time::Timestamp;
use semper_storage::commit::Committer;
use semper_storage::issued::{Issued, IssuedCount, issued};
use semper_storage::ledger::LedgerError;
use semper_storage::spent::CheckAndInsert;
use semper_storage::swaps::{RecordSwap, SwapOutcome, SwapRecord};
use semper_storage::withdrawals::{RecordWithdrawal, WithdrawOutcome, WithdrawalRecord};
use semper_storage::{StorageError, Store};

use super::{AT, eur, funded_account, spend};

const TENTH: DenominationId = DenominationId([1; 32]);
const ONE: DenominationId = DenominationId([2; 32]);

fn signatures<const N: usize>(n: usize) -> semper_protocol::bounded::BoundedVec<BlindSignature, N> {
    vec![BlindSignature(vec![9; 256]); n].try_into().unwrap()
}

/// A withdrawal of `coins` (one denomination each) under request `request`, its body `digest`.
fn withdrawal(
    account: AccountId,
    request: u8,
    digest: u8,
    coins: &[DenominationId],
) -> RecordWithdrawal {
    RecordWithdrawal {
        account,
        request_id: RequestId([request; 16]),
        record: WithdrawalRecord {
            request_digest: Digest([digest; 32]),
            total: eur("0.10"),
            blind_signatures: signatures(coins.len()),
            at: AT,
        },
        issued: Issued::of(coins),
    }
}

/// A swap of coin `coin` for `outputs` under request `request`.
fn swap(request: u8, coin: u32, outputs: &[DenominationId]) -> RecordSwap {
    RecordSwap {
        request_id: RequestId([request; 16]),
        record: SwapRecord {
            request_digest: Digest([request; 32]),
            blind_signatures: signatures(outputs.len()),
            at: Timestamp::from_unix_ms(1),
        },
        coins: vec![spend(coin, 100 + u32::from(request))],
        refunded: Vec::new(),
        issued: Issued::of(outputs),
    }
}

fn counts(store: &Store) -> Vec<(DenominationId, u64)> {
    issued(store)
        .unwrap()
        .into_iter()
        .map(
            |IssuedCount {
                 denomination,
                 coins,
             }| (denomination, coins),
        )
        .collect()
}

/// Runs the case; `open` opens the issuer's store and its committer afresh (the same records).
pub fn scenario(open: &dyn Fn() -> (Store, Committer)) {
    let (store, committer) = open();
    let account = funded_account(&committer, 6, "0.50");
    assert!(counts(&store).is_empty());

    // Recorded: its coins counted per denomination.
    let first = withdrawal(account, 1, 1, &[TENTH, ONE, TENTH]);
    let recorded = committer.execute(first.clone()).unwrap().unwrap();
    assert!(matches!(recorded, WithdrawOutcome::Recorded(_)));
    assert_eq!(counts(&store), [(TENTH, 2), (ONE, 1)]);
    // Its replay, its id with another body, and one the balance cannot pay: nothing counted.
    let replayed = committer.execute(first.clone()).unwrap().unwrap();
    assert!(matches!(replayed, WithdrawOutcome::Replayed(_)));
    let reused = withdrawal(account, 1, 2, &[TENTH]);
    assert_eq!(
        committer.execute(reused).unwrap(),
        Err(LedgerError::RequestIdReused)
    );
    let mut broke = withdrawal(account, 2, 2, &[ONE]);
    broke.record.total = eur("9.00");
    assert!(matches!(
        committer.execute(broke).unwrap(),
        Err(LedgerError::InsufficientFunds { .. })
    ));
    // Counts that do not match the signatures: refused, nothing of the withdrawal written.
    let mut wrong = withdrawal(account, 3, 3, &[ONE, ONE]);
    wrong.issued = Issued::of(&[ONE]);
    assert!(matches!(
        committer.execute(wrong),
        Err(StorageError::Corrupt {
            column: "issued_coins",
            ..
        })
    ));
    assert!(
        semper_storage::withdrawals::withdrawal(&store, &account, &RequestId([3; 16]))
            .unwrap()
            .is_none()
    );
    assert_eq!(counts(&store), [(TENTH, 2), (ONE, 1)]);

    // Several in flight at once, likely in one group (each reads what the one before staged).
    let (sender, receiver) = std::sync::mpsc::channel();
    for request in 4..7u8 {
        let sender = sender.clone();
        committer
            .submit(
                withdrawal(account, request, request, &[TENTH]),
                move |result| {
                    let _ = sender.send(result);
                },
            )
            .unwrap();
    }
    for _ in 4..7 {
        let answer = receiver.recv().unwrap().unwrap().unwrap();
        assert!(matches!(answer, WithdrawOutcome::Recorded(_)));
    }
    assert_eq!(counts(&store), [(TENTH, 5), (ONE, 1)]);

    // A swap: its outputs counted; its replay nothing; a swap of a spent coin nothing.
    let change = swap(10, 1, &[ONE, TENTH, TENTH]);
    assert!(matches!(
        committer.execute(change.clone()).unwrap(),
        SwapOutcome::Recorded(_)
    ));
    assert!(matches!(
        committer.execute(change).unwrap(),
        SwapOutcome::Replayed(_)
    ));
    committer
        .execute(CheckAndInsert {
            entries: vec![spend(2, 1)],
        })
        .unwrap();
    assert!(matches!(
        committer.execute(swap(11, 2, &[ONE])).unwrap(),
        SwapOutcome::Conflict { .. }
    ));
    assert_eq!(counts(&store), [(TENTH, 7), (ONE, 2)]);

    // Durable: a reopened store has the books, and its replays count nothing either.
    drop(committer);
    drop(store);
    let (store, committer) = open();
    assert_eq!(counts(&store), [(TENTH, 7), (ONE, 2)]);
    let replayed = committer.execute(first).unwrap().unwrap();
    assert!(matches!(replayed, WithdrawOutcome::Replayed(_)));
    assert!(matches!(
        committer
            .execute(swap(10, 1, &[ONE, TENTH, TENTH]))
            .unwrap(),
        SwapOutcome::Replayed(_)
    ));
    // A new one after the reopen adds to the same books (a shared store's new writer: its row).
    let later = withdrawal(account, 7, 7, &[ONE]);
    assert!(matches!(
        committer.execute(later).unwrap().unwrap(),
        WithdrawOutcome::Recorded(_)
    ));
    assert_eq!(counts(&store), [(TENTH, 7), (ONE, 3)]);
}
