//! The spent set split over shard groups: each coin's record lives in the one group the
//! [`ShardMap`] gives it, each group is a store of its own (its own RocksDB directory or its own
//! PostgreSQL cluster) with its own committer, and a spend-check batch is split by group.
//!
//! # Why a split batch is safe
//!
//! No transaction spans groups. A batch's coins are checked and inserted by one
//! [`CheckAndInsert`] per group, each atomic in its own group, in parallel; once every group has
//! answered, the batch's record (its digest and confirmed totals, [`ConfirmBatch`]) is written in
//! the issuer's main store. A crash, or a failed group, between those writes leaves some groups
//! written and others not, and no confirmation: the acquirer got no answer (or an error) and
//! retries the same batch, with the same permissions. Every coin's verdict is decided by its own
//! group's insert-if-absent, and a retry replays it: a coin inserted before the crash is found
//! with the same permission digest and answered [`SpendOutcome::Replay`], which the confirmation
//! lists like a new coin; a coin never written is [`SpendOutcome::New`] now. So the retry's
//! confirmation lists exactly the coins the uninterrupted batch would have listed. A coin is
//! only ever in one group, and that group's committer decides its insert alone, so among any
//! permissions for one coin, whatever the batches and processes, exactly one is ever inserted;
//! any other gets [`SpendOutcome::Conflict`] with the inserted permission as proof. No coin is
//! accepted twice.
//!
//! # What a confirmation record means when its write failed
//!
//! Spent coins without a confirmation record are coins whose batch was never answered: no
//! confirmation was signed, so no settlement report can list it, and no money has moved for
//! them. The acquirer's outbox retries the batch until it is answered, and the retry writes the
//! record. Until then the depositor's coins are spent and not yet credited, which is the state
//! of any deposit in flight. Two bodies under one batch id racing each other (an acquirer's bug)
//! may both insert their coins before one of them is refused [`BatchIdReused`] at the record:
//! its coins stay spent, by their own valid permissions, and replay in the batch that sends them
//! again.
//!
//! # A recoup
//!
//! A recoup spends one coin and credits an account in the main store, which no write spans
//! either: [`SpentShards::check_coin`] spends the coin in its group first, by a digest of the
//! recoup request (so that only that request's retry replays it), and the issuer then credits
//! and records the recoup in the main store, idempotently by its withdrawal slot. A crash
//! between the two leaves the coin spent and nothing credited; the retry replays the group's
//! verdict and credits once. Any deposit or swap in between finds the coin spent, with the
//! recoup permission as proof (docs/protocol.md §7.26).
//!
//! With one group (the default), none of this runs: the spent set stays in the issuer's main
//! store and [`CheckBatch`](crate::spent::CheckBatch) does it all in one write, as before.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use metrics::{Counter, Histogram};
use semper_protocol::amount::Amount;

use crate::CommitConfig;
use crate::commit::Committer;
use crate::error::StorageError;
use crate::location::Location;
use crate::metrics::{SPENT_SHARD_COINS, SPENT_SHARD_SECONDS};
use crate::schema::{Column, META_SPENT_SHARD_GROUP, META_SPENT_SHARD_MAP, spent_key};
use crate::shard_map::ShardMap;
use crate::spent::{
    BatchIdReused, CheckAndInsert, ConfirmBatch, SpendBatch, SpendEntry, SpendOutcome, batch_key,
    confirmed_amounts, id_reused,
};
use crate::store::{Role, Store};

/// What a split spend check answers: as [`CheckBatch`](crate::spent::CheckBatch) does.
pub type BatchAnswer = Result<Result<Vec<SpendOutcome>, BatchIdReused>, StorageError>;

/// Called with a group's number once that group's part of a batch is durable, before the batch
/// goes on: a fault-injection point for crash tests (nothing else sets it).
pub type AfterGroupCommit = Arc<dyn Fn(usize) + Send + Sync>;

/// One shard group: its store, its committer, and its series.
struct Group {
    store: Store,
    committer: Committer,
    coins: Counter,
    seconds: Histogram,
}

/// The spent set's shard groups, with the map that places coins in them.
pub struct SpentShards {
    map: ShardMap,
    groups: Vec<Group>,
    main: Store,
    after_group_commit: OnceLock<AfterGroupCommit>,
}

impl SpentShards {
    /// Opens the store of each group at `locations` (one per group of `map`, in order), and
    /// checks that `main` (the issuer's store) and every group were placed under this very map;
    /// the first open records it. Refused ([`StorageError::ShardMismatch`]) when the spent set
    /// already lives in `main` (it was not sharded before), when the map changed, or when a
    /// group's store is another group's.
    pub fn open(
        map: ShardMap,
        locations: &[Location],
        main: &Store,
        commit: CommitConfig,
    ) -> Result<Self, StorageError> {
        if locations.len() != map.groups() || map.groups() < 2 {
            return Err(StorageError::ShardMismatch(format!(
                "{} locations for a map of {} groups (a sharded spent set has at least 2)",
                locations.len(),
                map.groups()
            )));
        }
        let fingerprint = map.fingerprint();
        match main.get(Column::Meta, META_SPENT_SHARD_MAP)? {
            Some(recorded) if recorded != fingerprint => {
                return Err(StorageError::ShardMismatch(
                    "the shard map (bucket ranges, group count or shard secret) differs from \
                     the one the spent set was placed under; re-sharding is not supported"
                        .into(),
                ));
            }
            Some(_) => {}
            None => {
                if !main.scan_from(Column::SpentCoins, &[], 1)?.is_empty() {
                    return Err(StorageError::ShardMismatch(
                        "the issuer's own store holds spent coins: its spent set was not \
                         sharded, and moving it into shard groups is not supported"
                            .into(),
                    ));
                }
                main.write_synced(&[(
                    Column::Meta,
                    META_SPENT_SHARD_MAP.to_vec(),
                    Some(fingerprint.to_vec()),
                )])?;
            }
        }
        let mut groups = Vec::with_capacity(locations.len());
        for (number, location) in locations.iter().enumerate() {
            let store = location.open(Role::SpentShard)?;
            let mut identity = fingerprint.to_vec();
            identity.extend_from_slice(&(number as u64).to_be_bytes());
            match store.get(Column::Meta, META_SPENT_SHARD_GROUP)? {
                Some(recorded) if recorded != identity => {
                    return Err(StorageError::ShardMismatch(format!(
                        "shard group {number} ({location:?}) holds another group's coins, or \
                         was placed under another map"
                    )));
                }
                Some(_) => {}
                None => store.write_synced(&[(
                    Column::Meta,
                    META_SPENT_SHARD_GROUP.to_vec(),
                    Some(identity),
                )])?,
            }
            let label = number.to_string();
            groups.push(Group {
                committer: Committer::start(store.clone(), commit),
                store,
                coins: metrics::counter!(SPENT_SHARD_COINS, "shard" => label.clone()),
                seconds: metrics::histogram!(SPENT_SHARD_SECONDS, "shard" => label),
            });
        }
        Ok(Self {
            map,
            groups,
            main: main.clone(),
            after_group_commit: OnceLock::new(),
        })
    }

    /// Refuses a store whose spent set was sharded to an issuer started without its groups: its
    /// coins are in the groups, and checking them in `main` would accept them again.
    pub fn check_unsharded(main: &Store) -> Result<(), StorageError> {
        match main.get(Column::Meta, META_SPENT_SHARD_MAP)? {
            None => Ok(()),
            Some(_) => Err(StorageError::ShardMismatch(
                "the issuer's spent set is sharded: configure its shard groups".into(),
            )),
        }
    }

    /// Sets the [`AfterGroupCommit`] fault-injection point (once; later calls do nothing).
    pub fn set_after_group_commit(&self, hook: AfterGroupCommit) {
        let _ = self.after_group_commit.set(hook);
    }

    /// The map.
    pub fn map(&self) -> &ShardMap {
        &self.map
    }

    /// Group `number`'s store, for reads.
    pub fn store(&self, number: usize) -> Option<&Store> {
        self.groups.get(number).map(|g| &g.store)
    }

    /// Group `number`'s committer.
    pub fn committer(&self, number: usize) -> Option<&Committer> {
        self.groups.get(number).map(|g| &g.committer)
    }

    /// Checks and spends one coin, alone, in its own group (a recoup's first step: see the
    /// module docs); `reply` hears back once that group's write is durable, with its verdict.
    pub fn check_coin(
        &self,
        entry: SpendEntry,
        reply: impl FnOnce(Result<SpendOutcome, StorageError>) + Send + 'static,
    ) {
        let number = self
            .map
            .group_of(&spent_key(&entry.denomination, &entry.coin));
        let Some(group) = self.groups.get(number) else {
            return reply(Err(StorageError::ShardMismatch(format!(
                "the map placed a coin in group {number} of {}",
                self.groups.len()
            ))));
        };
        group.coins.increment(1);
        let (seconds, hook) = (
            group.seconds.clone(),
            self.after_group_commit.get().cloned(),
        );
        let started = Instant::now();
        group.committer.submit_or_reply(
            CheckAndInsert {
                entries: vec![entry],
            },
            move |result| {
                seconds.record(started.elapsed().as_secs_f64());
                if result.is_ok()
                    && let Some(hook) = &hook
                {
                    hook(number);
                }
                reply(result.and_then(|outcomes| {
                    outcomes.into_iter().next().ok_or(StorageError::Corrupt {
                        column: "spent_coins",
                        reason: "a shard group gave no outcome for its coin".into(),
                    })
                }))
            },
        );
    }

    /// Checks and spends `entries` for `batch`, split by group, then records the batch through
    /// `main` (the committer of the store given at open); `reply` hears back exactly once.
    pub fn check_batch(
        &self,
        main: &Arc<Committer>,
        batch: SpendBatch,
        entries: Vec<SpendEntry>,
        reply: impl FnOnce(BatchAnswer) + Send + 'static,
    ) {
        // A reused id is refused before any coin is touched, as the unsharded path refuses it;
        // the record's own check catches a reuse that races this one.
        match self.main.get(Column::SpendBatches, &batch_key(&batch)) {
            Ok(stored) => {
                if id_reused(&batch, stored) {
                    return reply(Ok(Err(BatchIdReused)));
                }
            }
            Err(error) => return reply(Err(error)),
        }
        let amounts: Vec<Amount> = entries.iter().map(|e| e.amount).collect();
        let count = entries.len();
        // Each coin's position in the batch, and the coin, by group: moved, not copied.
        let mut parts: Vec<(Vec<usize>, Vec<SpendEntry>)> =
            vec![(Vec::new(), Vec::new()); self.groups.len()];
        for (index, entry) in entries.into_iter().enumerate() {
            let group = self
                .map
                .group_of(&spent_key(&entry.denomination, &entry.coin));
            parts[group].0.push(index);
            parts[group].1.push(entry);
        }
        let pending = parts
            .iter()
            .filter(|(indexes, _)| !indexes.is_empty())
            .count();
        let gather = Arc::new(Mutex::new(Gather {
            outcomes: vec![None; count],
            pending,
            failed: None,
            finish: Some(Box::new(Finish {
                main: main.clone(),
                batch,
                amounts,
                reply: Box::new(reply),
            })),
        }));
        if pending == 0 {
            return take_finish(&gather);
        }
        for (number, (indexes, part)) in parts.into_iter().enumerate() {
            if indexes.is_empty() {
                continue;
            }
            let group = &self.groups[number];
            group.coins.increment(part.len() as u64);
            // The reply runs on the group's committer thread: it holds nothing that could stop
            // that committer (which would join its own thread).
            let (gather, seconds, hook) = (
                gather.clone(),
                group.seconds.clone(),
                self.after_group_commit.get().cloned(),
            );
            let started = Instant::now();
            group
                .committer
                .submit_or_reply(CheckAndInsert { entries: part }, move |result| {
                    seconds.record(started.elapsed().as_secs_f64());
                    if result.is_ok()
                        && let Some(hook) = &hook
                    {
                        hook(number);
                    }
                    let last = {
                        let mut state = gather.lock().unwrap_or_else(|p| p.into_inner());
                        match result {
                            Ok(outcomes) => {
                                for (index, outcome) in indexes.into_iter().zip(outcomes) {
                                    state.outcomes[index] = Some(outcome);
                                }
                            }
                            Err(error) => {
                                state.failed.get_or_insert(error);
                            }
                        }
                        state.pending -= 1;
                        state.pending == 0
                    };
                    if last {
                        take_finish(&gather);
                    }
                });
        }
    }
}

/// What the groups answered so far.
struct Gather {
    outcomes: Vec<Option<SpendOutcome>>,
    pending: usize,
    failed: Option<StorageError>,
    finish: Option<Box<Finish>>,
}

/// What is left to do once every group has answered.
struct Finish {
    main: Arc<Committer>,
    batch: SpendBatch,
    amounts: Vec<Amount>,
    reply: Box<dyn FnOnce(BatchAnswer) + Send>,
}

/// Records the batch once every group has answered (or answers the first failure).
fn take_finish(gather: &Mutex<Gather>) {
    let (finish, outcomes, failed) = {
        let mut state = gather.lock().unwrap_or_else(|p| p.into_inner());
        let Some(finish) = state.finish.take() else {
            return;
        };
        (
            finish,
            std::mem::take(&mut state.outcomes),
            state.failed.take(),
        )
    };
    let Finish {
        main,
        batch,
        amounts,
        reply,
    } = *finish;
    if let Some(error) = failed {
        // Some groups may have written: the retry replays their coins (see the module docs).
        return reply(Err(error));
    }
    let Some(outcomes) = outcomes.into_iter().collect::<Option<Vec<_>>>() else {
        // Every coin went to exactly one group, and every group answered for each of its coins.
        return reply(Err(StorageError::Corrupt {
            column: "spent_coins",
            reason: "a shard group answered for fewer coins than it was given".into(),
        }));
    };
    let confirmed = confirmed_amounts(amounts, &outcomes);
    main.submit_or_reply(ConfirmBatch { batch, confirmed }, move |result| {
        reply(result.map(|recorded| recorded.map(|()| outcomes)))
    });
}
