//! Several writers over one PostgreSQL database: two Stores, each with its committer (two
//! processes of one bank), race the same spends, withdrawals and debits from two threads. Each
//! writer's groups are checked against what they read (see `semper_storage::backend`), so the
//! outcome is the one a single writer would give: every coin new once, every idempotency key
//! taken once, no overdraft, one lease holder at a time. The server is a real one this test
//! starts, and stops.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use common::pg::PgServer;
use common::*;
use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{AccountId, Digest, RequestId};
use semper_storage::backend::{Backend, Change, PostgresBackend, Read};
use semper_storage::commit::Transaction;
use semper_storage::lease::{self, Fence, NotHolder, TakeLease};
use semper_storage::ledger::{self, LedgerError};
use semper_storage::location::schema_of;
use semper_storage::memory::MemoryUsage;
use semper_storage::schema::Column;
use semper_storage::spent::{CheckAndInsert, SpendEntry, SpendOutcome};
use semper_storage::store::Records;
use semper_storage::withdrawals::{RecordWithdrawal, WithdrawOutcome, WithdrawalRecord};
use semper_storage::{CommitConfig, Committer, Location, Role, StorageError, Store};

/// Two writers of one role's store in one database.
fn two_writers(conninfo: &str, role: Role) -> Vec<(Store, Committer)> {
    (0..2)
        .map(|_| {
            let store = Location::Postgres(conninfo.to_owned()).open(role).unwrap();
            assert!(store.shared());
            // Small groups, so that the two writers' groups interleave rather than each
            // writing everything in one.
            let config = CommitConfig {
                group_max_transactions: 2,
                ..CommitConfig::default()
            };
            let committer = Committer::start(store.clone(), config);
            (store, committer)
        })
        .collect()
}

/// Runs `work(writer)` on each writer at once (from a barrier), each submitting all its
/// transactions before waiting for any answer, so that both committers form groups that race.
fn race<T: Transaction>(
    writers: &[(Store, Committer)],
    work: impl Fn(usize) -> Vec<T> + Sync,
) -> Vec<Vec<Result<T::Output, StorageError>>>
where
    T::Output: std::fmt::Debug,
{
    let barrier = Barrier::new(writers.len());
    std::thread::scope(|scope| {
        let handles: Vec<_> = writers
            .iter()
            .enumerate()
            .map(|(index, (_, committer))| {
                let (barrier, work) = (&barrier, &work);
                scope.spawn(move || {
                    let transactions = work(index);
                    barrier.wait();
                    let answers: Vec<_> = transactions
                        .into_iter()
                        .map(|transaction| {
                            let (sender, receiver) = crossbeam_channel::bounded(1);
                            committer
                                .submit(transaction, move |answer| {
                                    let _ = sender.send(answer);
                                })
                                .unwrap();
                            receiver
                        })
                        .collect();
                    answers
                        .into_iter()
                        .map(|receiver| receiver.recv().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .collect()
    })
}

const COINS: u32 = 400;
const BATCH_COINS: u32 = 10;

/// Writer `w` spends coin `c` with permission `w + 1`, except every tenth coin, which both
/// spend with the same permission (one request reaching both).
fn spend_of(writer: usize, coin: u32) -> SpendEntry {
    if coin.is_multiple_of(10) {
        spend(coin, 9)
    } else {
        spend(coin, writer as u32 + 1)
    }
}

fn every_coin_is_new_once(server: &PgServer) {
    let conninfo = server.create_database("coins");
    let writers = two_writers(&conninfo, Role::Issuer);
    let answers = race(&writers, |writer| {
        // The second writer goes through the coins in the other order, so that batches meet
        // at every coin rather than one trailing the other.
        let mut batches: Vec<CheckAndInsert> = (0..COINS / BATCH_COINS)
            .map(|batch| CheckAndInsert {
                entries: (batch * BATCH_COINS..(batch + 1) * BATCH_COINS)
                    .map(|coin| spend_of(writer, coin))
                    .collect(),
            })
            .collect();
        if writer == 1 {
            batches.reverse();
        }
        batches
    });
    let outcomes: Vec<Vec<SpendOutcome>> = answers
        .into_iter()
        .enumerate()
        .map(|(writer, answers)| {
            let mut outcomes: Vec<SpendOutcome> = answers
                .into_iter()
                .flat_map(|answer| answer.unwrap())
                .collect();
            if writer == 1 {
                // Back to coin order: the batches were reversed, not the coins within them.
                let mut by_coin = vec![SpendOutcome::New; outcomes.len()];
                for (position, outcome) in outcomes.drain(..).enumerate() {
                    let batch =
                        (COINS / BATCH_COINS) as usize - 1 - position / BATCH_COINS as usize;
                    by_coin[batch * BATCH_COINS as usize + position % BATCH_COINS as usize] =
                        outcome;
                }
                outcomes = by_coin;
            }
            outcomes
        })
        .collect();
    let mut raced = 0;
    for coin in 0..COINS {
        let (first, second) = (&outcomes[0][coin as usize], &outcomes[1][coin as usize]);
        let (winner, loser) = match (first, second) {
            (SpendOutcome::New, other) => (0, other),
            (other, SpendOutcome::New) => (1, other),
            _ => panic!("coin {coin}: no writer had it new: {first:?}, {second:?}"),
        };
        raced += usize::from(winner == 1);
        let expected = if coin.is_multiple_of(10) {
            SpendOutcome::Replay
        } else {
            SpendOutcome::Conflict {
                earlier: spend_of(winner, coin).permission,
            }
        };
        assert_eq!(loser, &expected, "coin {coin}: the other writer's outcome");
        // What is stored is the winner's spend, whichever store reads it.
        for (store, _) in &writers {
            let again = Committer::start(store.clone(), CommitConfig::default())
                .execute(CheckAndInsert {
                    entries: vec![spend_of(winner, coin)],
                })
                .unwrap();
            assert_eq!(again, vec![SpendOutcome::Replay], "coin {coin}");
        }
    }
    eprintln!("coins: {raced} of {COINS} won by the second writer");
}

/// The PostgreSQL backend, with a count of the spent-set records its store read.
struct CountedReads {
    backend: PostgresBackend,
    spent_reads: AtomicUsize,
}

impl CountedReads {
    fn count(&self, column: Column, records: usize) {
        if column == Column::SpentCoins {
            self.spent_reads.fetch_add(records, Ordering::SeqCst);
        }
    }

    fn spent_reads(&self) -> usize {
        self.spent_reads.load(Ordering::SeqCst)
    }
}

impl Backend for CountedReads {
    fn get(&self, column: Column, key: &[u8]) -> Result<Option<Vec<u8>>, StorageError> {
        self.count(column, 1);
        self.backend.get(column, key)
    }

    fn multi_get(
        &self,
        column: Column,
        keys: &[&[u8]],
    ) -> Result<Vec<Option<Vec<u8>>>, StorageError> {
        self.count(column, keys.len());
        self.backend.multi_get(column, keys)
    }

    fn scan_prefix(
        &self,
        column: Column,
        prefix: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.count(column, 1);
        self.backend.scan_prefix(column, prefix, limit)
    }

    fn scan_from(
        &self,
        column: Column,
        start: &[u8],
        limit: usize,
    ) -> Result<Records, StorageError> {
        self.count(column, 1);
        self.backend.scan_from(column, start, limit)
    }

    fn for_each_key(
        &self,
        column: Column,
        visit: &mut dyn FnMut(&[u8]),
    ) -> Result<(), StorageError> {
        self.count(column, 1);
        self.backend.for_each_key(column, visit)
    }

    fn write_synced(&self, changes: &[Change]) -> Result<(), StorageError> {
        self.backend.write_synced(changes)
    }

    fn shared(&self) -> bool {
        self.backend.shared()
    }

    fn write_checked(&self, reads: &[Read], changes: &[Change]) -> Result<(), StorageError> {
        self.backend.write_checked(reads, changes)
    }

    fn memory_usage(&self) -> MemoryUsage {
        self.backend.memory_usage()
    }
}

/// Over a shared store, coins this process has not seen are not read before they are marked
/// spent: the write inserts them without `ON CONFLICT`, and that is their check (one statement
/// a group, as with one writer). A coin another writer spent meanwhile fails that insert, and
/// the group is applied again with every coin read: the double spend is refused with the other
/// writer's permission as proof, the rest of the batch is new. Coins this process spent, or
/// found spent, are read: a replay is a replay, at the first attempt.
fn unseen_coins_are_checked_by_the_insert(server: &PgServer) {
    let conninfo = server.create_database("unread");
    let counted = Arc::new(CountedReads {
        backend: PostgresBackend::connect_in_schema(&conninfo, schema_of(Role::Issuer)).unwrap(),
        spent_reads: AtomicUsize::new(0),
    });
    let store = Store::with_backend(counted.clone(), Role::Issuer).unwrap();
    assert!(store.shared());
    let committer = Committer::start(store.clone(), CommitConfig::default());
    let other = Location::Postgres(conninfo).open(Role::Issuer).unwrap();
    let other_committer = Committer::start(other.clone(), CommitConfig::default());
    let check = |committer: &Committer, entries: Vec<SpendEntry>| {
        committer.execute(CheckAndInsert { entries }).unwrap()
    };

    let fresh: Vec<SpendEntry> = (0..300).map(|coin| spend(coin, 1)).collect();
    assert_eq!(
        check(&committer, fresh.clone()),
        vec![SpendOutcome::New; 300]
    );
    assert_eq!(counted.spent_reads(), 0, "fresh coins were read");

    // The other writer spends coin 1000; this process has not seen it.
    assert_eq!(
        check(&other_committer, vec![spend(1000, 2)]),
        vec![SpendOutcome::New]
    );
    assert_eq!(
        check(
            &committer,
            vec![spend(1001, 1), spend(1000, 1), spend(1002, 1)]
        ),
        vec![
            SpendOutcome::New,
            SpendOutcome::Conflict {
                earlier: spend(1000, 2).permission
            },
            SpendOutcome::New,
        ]
    );
    // The group applied again read all three.
    assert_eq!(counted.spent_reads(), 3);
    for (coin, permission) in [(1000, 2), (1001, 1), (1002, 1)] {
        let key =
            semper_storage::schema::spent_key(&spend(coin, 1).denomination, &spend(coin, 1).coin);
        let (digest, _) = semper_storage::spent::spent_by(&other, &key)
            .unwrap()
            .unwrap();
        assert_eq!(
            digest,
            spend(coin, permission).permission_digest,
            "coin {coin}"
        );
    }

    // Its own coins, and the one it found spent, are read (no conflict): replays, and the
    // double spend's proof again.
    let mut again = fresh;
    again.push(spend(1000, 1));
    let mut expected = vec![SpendOutcome::Replay; 300];
    expected.push(SpendOutcome::Conflict {
        earlier: spend(1000, 2).permission,
    });
    assert_eq!(check(&committer, again), expected);
    assert_eq!(counted.spent_reads(), 3 + 301);
}

fn withdrawal(account: AccountId, request: u16, total: &str) -> RecordWithdrawal {
    let mut id = [0u8; 16];
    id[..2].copy_from_slice(&request.to_be_bytes());
    let mut digest = [0u8; 32];
    digest[..2].copy_from_slice(&request.to_be_bytes());
    RecordWithdrawal {
        account,
        request_id: RequestId(id),
        record: WithdrawalRecord {
            request_digest: Digest(digest),
            total: eur(total),
            blind_signatures: vec![BlindSignature(vec![request as u8; 256])]
                .try_into()
                .unwrap(),
            at: AT,
        },
        issued: withdrawn(1),
    }
}

/// The coins of [`WITHDRAWN`] in the books, summed over both writers' rows.
fn issued_coins(store: &Store) -> u64 {
    let counts = semper_storage::issued::issued(store).unwrap();
    assert!(counts.iter().all(|count| count.denomination == WITHDRAWN));
    counts.iter().map(|count| count.coins).sum()
}

fn balance(store: &Store, account: &AccountId) -> Amount {
    ledger::account(store, account).unwrap().unwrap().balance
}

/// Both writers get the same 30 withdrawals (a wallet's retry reaching the other process):
/// each is debited once, the other answer a replay of it.
fn every_withdrawal_is_debited_once(server: &PgServer) {
    let conninfo = server.create_database("withdrawals");
    let writers = two_writers(&conninfo, Role::Issuer);
    let account = funded_account(&writers[0].1, 1, "100.00");
    let journal_before = ledger::journal_entries(&writers[0].0, &account, 100)
        .unwrap()
        .len();
    let answers = race(&writers, |_| {
        (0..30)
            .map(|request| withdrawal(account, request, "1.00"))
            .collect()
    });
    for (request, outcomes) in answers[0].iter().zip(&answers[1]).enumerate() {
        let outcomes = [outcomes.0, outcomes.1];
        let recorded = outcomes
            .iter()
            .filter(|answer| matches!(answer, Ok(Ok(WithdrawOutcome::Recorded(_)))))
            .count();
        let replayed = outcomes
            .iter()
            .filter(|answer| matches!(answer, Ok(Ok(WithdrawOutcome::Replayed(_)))))
            .count();
        assert_eq!(
            (recorded, replayed),
            (1, 1),
            "request {request}: {outcomes:?}"
        );
    }
    for (store, _) in &writers {
        // Each withdrawal's coin counted once, by whichever writer recorded it.
        assert_eq!(issued_coins(store), 30);
        assert_eq!(balance(store, &account), eur("70.00"));
        assert_eq!(
            ledger::journal_entries(store, &account, 100).unwrap().len(),
            journal_before + 30
        );
    }
}

/// Both writers debit one account of 10.00 by 15 withdrawals of 1.00 each: exactly ten are
/// debited, whichever writer took them, and the balance ends at zero, never below.
fn no_overdraft_across_writers(server: &PgServer) {
    let conninfo = server.create_database("debits");
    let writers = two_writers(&conninfo, Role::Issuer);
    let account = funded_account(&writers[0].1, 2, "10.00");
    let journal_before = ledger::journal_entries(&writers[0].0, &account, 100)
        .unwrap()
        .len();
    let answers = race(&writers, |writer| {
        (0..15)
            .map(|request| withdrawal(account, writer as u16 * 100 + request, "1.00"))
            .collect()
    });
    let all: Vec<_> = answers.into_iter().flatten().collect();
    let recorded = all
        .iter()
        .filter(|answer| matches!(answer, Ok(Ok(WithdrawOutcome::Recorded(_)))))
        .count();
    let refused = all
        .iter()
        .filter(|answer| matches!(answer, Ok(Err(LedgerError::InsufficientFunds { .. }))))
        .count();
    assert_eq!((recorded, refused), (10, 20), "{all:?}");
    for (store, _) in &writers {
        assert_eq!(issued_coins(store), 10);
        assert_eq!(balance(store, &account), eur("0.00"));
        assert_eq!(
            ledger::journal_entries(store, &account, 100).unwrap().len(),
            journal_before + 10
        );
    }
}

/// One database holds a bank's three roles, each store in its own schema.
fn roles_share_a_database(server: &PgServer) {
    let conninfo = server.create_database("bank");
    for role in [Role::Issuer, Role::Acquirer, Role::Clearing] {
        let store = Location::Postgres(conninfo.clone()).open(role).unwrap();
        assert_eq!(store.role(), role);
    }
}

/// A transaction fenced by a lease's tenure: writes a marker only while the tenure holds.
#[derive(Clone)]
struct Fenced(Fence);

impl Transaction for Fenced {
    type Output = Result<(), NotHolder>;

    fn apply(
        self,
        reader: &semper_storage::commit::GroupReader<'_>,
    ) -> Result<(Self::Output, semper_storage::commit::WriteSet), StorageError> {
        let mut writes = semper_storage::commit::WriteSet::new();
        if let Err(refused) = lease::check(reader, &self.0)? {
            return Ok((Err(refused), writes));
        }
        writes.put(
            semper_storage::schema::Column::Meta,
            b"fenced".to_vec(),
            self.0.generation.to_be_bytes().to_vec(),
        );
        Ok((Ok(()), writes))
    }
}

/// Two processes race for one lease: exactly one takes it; the other takes it only once it has
/// expired, at the next generation; from then on the first's fenced writes are refused, however
/// sure it is of its tenure.
fn one_lease_holder_at_a_time(server: &PgServer) {
    let conninfo = server.create_database("leases");
    let writers = two_writers(&conninfo, Role::Clearing);
    let take = |holder: u64, now_ms: u64| TakeLease {
        name: "test.lease",
        holder,
        now_ms,
        ttl_ms: 1_000,
    };
    let answers = race(&writers, |writer| vec![take(writer as u64 + 1, 10_000)]);
    let taken: Vec<&Fence> = answers
        .iter()
        .filter_map(|answers| answers[0].as_ref().unwrap().as_ref())
        .collect();
    assert_eq!(taken.len(), 1, "{answers:?}");
    let first = taken[0].clone();
    assert_eq!(first.generation, 1);
    let (holder, other) = (first.holder, 3 - first.holder);
    let committer = |holder: u64| &writers[holder as usize - 1].1;
    // Renewed by its holder, refused to the other until it expires.
    assert_eq!(
        committer(holder).execute(take(holder, 10_500)).unwrap(),
        Some(first.clone())
    );
    assert_eq!(committer(other).execute(take(other, 11_000)).unwrap(), None);
    assert_eq!(
        committer(holder).execute(Fenced(first.clone())).unwrap(),
        Ok(())
    );
    // Expired: the other takes it, at the next generation, and the first is fenced off.
    let second = committer(other)
        .execute(take(other, 11_500))
        .unwrap()
        .unwrap();
    assert_eq!((second.holder, second.generation), (other, 2));
    assert_eq!(
        committer(holder).execute(Fenced(first.clone())).unwrap(),
        Err(NotHolder { name: "test.lease" })
    );
    assert_eq!(committer(other).execute(Fenced(second)).unwrap(), Ok(()));
    assert_eq!(
        committer(holder).execute(take(holder, 11_600)).unwrap(),
        None
    );
    let record = lease::lease(&writers[0].0, "test.lease").unwrap().unwrap();
    assert_eq!((record.holder, record.generation), (other, 2));
}

#[test]
fn two_writers_over_one_postgres_database() {
    let server = PgServer::start();
    roles_share_a_database(&server);
    unseen_coins_are_checked_by_the_insert(&server);
    every_coin_is_new_once(&server);
    every_withdrawal_is_debited_once(&server);
    no_overdraft_across_writers(&server);
    one_lease_holder_at_a_time(&server);
}
