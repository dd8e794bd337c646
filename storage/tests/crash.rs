//! Crash durability: a child process works under load and is killed with SIGKILL at a random
//! moment; everything it acknowledged must be there when the DB is reopened.

mod common;

use std::ffi::OsStr;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{AccountId, Digest, RequestId};
use semper_storage::commit::Committer;
use semper_storage::ledger::{self, JournalReason};
use semper_storage::spent::{CheckAndInsert, SpendOutcome};
use semper_storage::withdrawals::{self, RecordWithdrawal, WithdrawalRecord};
use semper_storage::{CommitConfig, Role, Store};

const DIR_VAR: &str = "SEMPER_CRASH_CHILD_DIR";
const ROUND_VAR: &str = "SEMPER_CRASH_CHILD_ROUND";
const ACCOUNT: AccountId = AccountId([1; 16]);
const CHILD_THREADS: u64 = 4;
/// The child stops by itself after this long, if it was not killed first.
const CHILD_MAX_SECONDS: u64 = 20;

fn request_id(n: u64) -> RequestId {
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&n.to_be_bytes());
    RequestId(id)
}

fn withdrawal(n: u64) -> RecordWithdrawal {
    RecordWithdrawal {
        account: ACCOUNT,
        request_id: request_id(n),
        record: WithdrawalRecord {
            request_digest: Digest([n as u8; 32]),
            total: eur("0.01"),
            blind_signatures: vec![BlindSignature(n.to_be_bytes().to_vec())]
                .try_into()
                .unwrap(),
            at: AT,
        },
        issued: withdrawn(1),
    }
}

/// The coins spent by operation `n`: four per batch.
fn coins(n: u64) -> Vec<u32> {
    (0..4).map(|i| (n * 4 + i) as u32).collect()
}

/// Runs in the child process only: works until killed, printing an ACK line per durable answer.
#[test]
#[ignore = "run by crash_loses_nothing_acknowledged as a child process"]
fn crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let round: u64 = std::env::var(ROUND_VAR).unwrap().parse().unwrap();
    let store = Store::open(std::path::Path::new(&dir), Role::Issuer).unwrap();
    let committer = Arc::new(Committer::start(store.clone(), CommitConfig::default()));
    // Idempotent: a child killed while funding is finished by the next one.
    funded_account(&committer, 1, "1000000.00");
    let deadline = Instant::now() + Duration::from_secs(CHILD_MAX_SECONDS);
    let threads: Vec<_> = (0..CHILD_THREADS)
        .map(|thread| {
            let committer = committer.clone();
            std::thread::spawn(move || {
                for i in 0.. {
                    if Instant::now() > deadline {
                        break;
                    }
                    let n = round * 10_000_000 + thread * 1_000_000 + i;
                    committer.execute(withdrawal(n)).unwrap().unwrap();
                    println!("ACK W {n}");
                    let entries = coins(n).into_iter().map(|c| spend(c, 0)).collect();
                    let outcomes = committer.execute(CheckAndInsert { entries }).unwrap();
                    assert!(outcomes.iter().all(|o| *o == SpendOutcome::New));
                    println!("ACK S {n}");
                    std::io::stdout().flush().unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}

#[test]
fn crash_loses_nothing_acknowledged() {
    let dir = TempDir::new("crash");
    let mut acked_withdrawals = Vec::new();
    let mut acked_spends = Vec::new();
    for round in 0..4u64 {
        let round_text = round.to_string();
        let (mut child, reader) = common::child::spawn_ignored_test(
            "crash_child",
            &[
                (DIR_VAR, dir.0.as_os_str()),
                (ROUND_VAR, OsStr::new(&round_text)),
            ],
        );
        std::thread::sleep(Duration::from_millis(300 + 250 * round));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        for line in reader.join().unwrap() {
            let mut words = line.split_whitespace();
            match (
                words.next(),
                words.next(),
                words.next().and_then(|n| n.parse::<u64>().ok()),
            ) {
                (Some("ACK"), Some("W"), Some(n)) => acked_withdrawals.push(n),
                (Some("ACK"), Some("S"), Some(n)) => acked_spends.push(n),
                _ => {}
            }
        }
    }
    assert!(
        acked_withdrawals.len() > 20,
        "the children did too little work to test anything"
    );

    let store = Store::open(&dir.0, Role::Issuer).unwrap();
    for n in &acked_withdrawals {
        let record = withdrawals::withdrawal(&store, &ACCOUNT, &request_id(*n)).unwrap();
        assert_eq!(
            record.as_ref(),
            Some(&withdrawal(*n).record),
            "withdrawal {n} lost"
        );
    }
    // Balance and journal agree: credited = balance + withdrawn.
    let balance = ledger::account(&store, &ACCOUNT).unwrap().unwrap().balance;
    let (mut credited, mut withdrawn) = (0u64, 0u64);
    for entry in ledger::journal_entries(&store, &ACCOUNT, usize::MAX).unwrap() {
        match entry.reason {
            JournalReason::Credit { amount, .. } => credited += amount.minor_units(),
            JournalReason::Withdrawal { amount, .. } => withdrawn += amount.minor_units(),
            // A recoup credits the coin's value back.
            JournalReason::Recoup { amount, .. } => credited += amount.minor_units(),
            JournalReason::Opened => {}
        }
    }
    assert_eq!(credited, balance.minor_units() + withdrawn);
    assert!(withdrawn >= acked_withdrawals.len() as u64);

    // Every acknowledged spend is there, and none of those coins can be spent again.
    let committer = Committer::start(store, CommitConfig::default());
    for chunk in acked_spends.chunks(64) {
        let replays = chunk
            .iter()
            .flat_map(|n| coins(*n))
            .map(|c| spend(c, 0))
            .collect();
        let outcomes = committer
            .execute(CheckAndInsert { entries: replays })
            .unwrap();
        assert!(
            outcomes.iter().all(|o| *o == SpendOutcome::Replay),
            "a spend was lost"
        );
        let doubles = chunk
            .iter()
            .flat_map(|n| coins(*n))
            .map(|c| spend(c, 1))
            .collect();
        let outcomes = committer
            .execute(CheckAndInsert { entries: doubles })
            .unwrap();
        assert!(
            outcomes
                .iter()
                .all(|o| matches!(o, SpendOutcome::Conflict { .. }))
        );
    }
}
