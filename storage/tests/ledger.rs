//! The account ledger and withdrawal records: balances, journal, idempotency, conservation.

mod common;

use common::target::{Case, Target, on_postgres, on_rocksdb};
use common::*;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{AccountId, Digest, RequestId};
use semper_storage::Role;
use semper_storage::ledger::{self, Credit, JournalReason, LedgerError};
use semper_storage::withdrawals::{self, RecordWithdrawal, WithdrawOutcome, WithdrawalRecord};

fn withdrawal(account: AccountId, request: u8, total: &str) -> RecordWithdrawal {
    RecordWithdrawal {
        account,
        request_id: RequestId([request; 16]),
        record: WithdrawalRecord {
            request_digest: Digest([request; 32]),
            total: eur(total),
            blind_signatures: vec![BlindSignature(vec![request; 256])].try_into().unwrap(),
            at: AT,
        },
        issued: withdrawn(1),
    }
}

fn a_reference_seen_twice_credits_once(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let account = funded_account(&committer, 1, "10.00");
    let again = Credit {
        account,
        reference: "funding-1".into(),
        amount: eur("10.00"),
        at: AT,
    };
    assert_eq!(
        committer.execute(again.clone()).unwrap().unwrap().balance,
        eur("10.00")
    );
    let misuse = Credit {
        amount: eur("99.00"),
        ..again.clone()
    };
    assert_eq!(
        committer.execute(misuse).unwrap(),
        Err(LedgerError::ReferenceReused)
    );
    let empty = Credit {
        reference: String::new(),
        ..again
    };
    assert_eq!(
        committer.execute(empty).unwrap().unwrap_err().code(),
        "credit.bad_reference"
    );
    assert_eq!(
        ledger::account(&store, &account).unwrap().unwrap().balance,
        eur("10.00")
    );
    assert_eq!(
        ledger::journal_entries(&store, &account, 100)
            .unwrap()
            .len(),
        2
    );
}

fn a_withdrawal_debits_journals_and_records_in_one_step_and_replays_identically(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let account = funded_account(&committer, 2, "5.00");
    let first = committer
        .execute(withdrawal(account, 1, "3.00"))
        .unwrap()
        .unwrap();
    assert!(matches!(first, WithdrawOutcome::Recorded(_)));
    let replay = committer
        .execute(withdrawal(account, 1, "3.00"))
        .unwrap()
        .unwrap();
    assert_eq!(replay, WithdrawOutcome::Replayed(first.record().clone()));
    assert_eq!(
        ledger::account(&store, &account).unwrap().unwrap().balance,
        eur("2.00")
    );

    let mut reused = withdrawal(account, 1, "1.00");
    reused.record.request_digest = Digest([0xee; 32]);
    assert_eq!(
        committer.execute(reused).unwrap(),
        Err(LedgerError::RequestIdReused)
    );

    let journal = ledger::journal_entries(&store, &account, 100).unwrap();
    assert_eq!(journal.len(), 3);
    assert_eq!(
        journal[2].reason,
        JournalReason::Withdrawal {
            request_id: RequestId([1; 16]),
            amount: eur("3.00")
        }
    );
    assert_eq!(journal[2].balance_after, eur("2.00"));
    assert_eq!(
        withdrawals::withdrawal(&store, &account, &RequestId([1; 16]))
            .unwrap()
            .as_ref(),
        Some(first.record())
    );
}

fn refusals_change_nothing(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let account = funded_account(&committer, 3, "1.00");
    let before = ledger::account(&store, &account).unwrap();
    let error = committer
        .execute(withdrawal(account, 9, "1.01"))
        .unwrap()
        .unwrap_err();
    assert_eq!(error.code(), "account.insufficient_funds");
    let mut yen = withdrawal(account, 8, "1.00");
    yen.record.total = "JPY:1".parse().unwrap();
    assert_eq!(
        committer.execute(yen).unwrap().unwrap_err().code(),
        "amount.currency_mismatch"
    );
    let unknown = withdrawal(AccountId([0x55; 16]), 9, "1.00");
    assert_eq!(
        committer.execute(unknown).unwrap(),
        Err(LedgerError::UnknownAccount)
    );
    assert_eq!(ledger::account(&store, &account).unwrap(), before);
    assert_eq!(
        withdrawals::withdrawal(&store, &account, &RequestId([9; 16])).unwrap(),
        None
    );
    assert_eq!(
        ledger::journal_entries(&store, &account, 100)
            .unwrap()
            .len(),
        2
    );
}

fn credited_equals_balance_plus_withdrawn_under_concurrency(target: &Target) {
    let (store, committer) = target.open(Role::Issuer);
    let account = funded_account(&committer, 4, "10.00");
    let committer = std::sync::Arc::new(committer);
    // 8 threads race 40 withdrawals of 0.30 against 10.00: at most 33 can be paid.
    let handles: Vec<_> = (0..8u8)
        .map(|thread| {
            let committer = committer.clone();
            std::thread::spawn(move || {
                (0..5u8)
                    .filter(|i| {
                        let request = thread * 5 + i;
                        committer
                            .execute(withdrawal(account, request, "0.30"))
                            .unwrap()
                            .is_ok()
                    })
                    .count()
            })
        })
        .collect();
    let paid: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(paid, 33);
    let balance = ledger::account(&store, &account).unwrap().unwrap().balance;
    assert_eq!(balance, eur("0.10"));
    let (mut credited, mut withdrawn) = (0u64, 0u64);
    for entry in ledger::journal_entries(&store, &account, 1000).unwrap() {
        match entry.reason {
            JournalReason::Credit { amount, .. } => credited += amount.minor_units(),
            JournalReason::Withdrawal { amount, .. } => withdrawn += amount.minor_units(),
            // A recoup credits the coin's value back.
            JournalReason::Recoup { amount, .. } => credited += amount.minor_units(),
            JournalReason::Opened => {}
        }
    }
    assert_eq!(credited, balance.minor_units() + withdrawn);
}

const CASES: &[(&str, Case)] = &[
    (
        "a_reference_seen_twice_credits_once",
        a_reference_seen_twice_credits_once,
    ),
    (
        "a_withdrawal_debits_journals_and_records_in_one_step_and_replays_identically",
        a_withdrawal_debits_journals_and_records_in_one_step_and_replays_identically,
    ),
    ("refusals_change_nothing", refusals_change_nothing),
    (
        "credited_equals_balance_plus_withdrawn_under_concurrency",
        credited_equals_balance_plus_withdrawn_under_concurrency,
    ),
];

#[test]
fn rocksdb_ledger() {
    on_rocksdb("ledger", CASES);
}

#[test]
fn postgres_ledger() {
    on_postgres(CASES);
}
