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
//! # A swap
//!
//! A swap spends its coins and records its blind signatures in the main store:
//! [`SpentShards::check_swap`] spends each coin in its group first, by a digest of the swap
//! request (a refunded coin's allowance used there, with a mark of the swap), and the issuer
//! signs only once every coin was new or replayed, then records the swap in the main store,
//! idempotently by its request id. A crash between the two leaves the coins spent and nothing
//! signed or recorded; the retry replays the groups' verdicts, signs and records once
//! (docs/protocol.md §7.25).
//!
//! With one group (the default), none of this runs: the spent set stays in the issuer's main
//! store and [`CheckBatch`](crate::spent::CheckBatch) does it all in one write, as before.

use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use metrics::{Counter, Histogram};
use semper_protocol::amount::Amount;
use semper_protocol::ids::Digest;

use crate::CommitConfig;
use crate::commit::{Committer, Transaction};
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
use crate::swap_groups::{SpendSwapCoins, SwapCoin};

/// What a split spend check answers: as [`CheckBatch`](crate::spent::CheckBatch) does.
pub type BatchAnswer = Result<Result<Vec<SpendOutcome>, BatchIdReused>, StorageError>;

/// What the groups answer for a set of coins: each coin's verdict, in order.
pub type CoinsAnswer = Result<Vec<SpendOutcome>, StorageError>;

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
        self.check_coins(vec![entry], move |result| {
            reply(result.and_then(|outcomes| {
                outcomes.into_iter().next().ok_or(StorageError::Corrupt {
                    column: "spent_coins",
                    reason: "a shard group gave no outcome for its coin".into(),
                })
            }))
        });
    }

    /// The store of the group that holds the coin of spent-set key `key`, for reads.
    pub fn store_of(&self, key: &[u8]) -> Option<&Store> {
        self.store(self.map.group_of(key))
    }

    /// A swap's first step (see the module docs): spends each coin given in, or uses its refund
    /// allowance, in its own group, by the swap of digest `swap`; `reply` hears each coin's
    /// verdict, in order, as [`SpentShards::check_coins`] answers.
    pub fn check_swap(
        &self,
        swap: Digest,
        coins: Vec<SwapCoin>,
        reply: impl FnOnce(CoinsAnswer) + Send + 'static,
    ) {
        self.per_group(
            coins,
            |coin| spent_key(&coin.entry.denomination, &coin.entry.coin),
            move |coins| SpendSwapCoins { swap, coins },
            reply,
        );
    }

    /// Checks and spends `entries`, one insert-if-absent per group, in parallel; `reply` hears
    /// back exactly once, with every coin's verdict in order once every group's write is
    /// durable, or with the first failure (some groups may have written: a retry replays them).
    pub fn check_coins(
        &self,
        entries: Vec<SpendEntry>,
        reply: impl FnOnce(CoinsAnswer) + Send + 'static,
    ) {
        self.per_group(
            entries,
            |entry| spent_key(&entry.denomination, &entry.coin),
            |entries| CheckAndInsert { entries },
            reply,
        );
    }

    /// Splits `items` by their coin's group and runs `transaction` of each group's part in that
    /// group, in parallel; `reply` hears back exactly once, with the outcomes in `items`' order.
    pub(crate) fn per_group<I, T>(
        &self,
        items: Vec<I>,
        key: impl Fn(&I) -> [u8; 64],
        transaction: impl Fn(Vec<I>) -> T,
        reply: impl FnOnce(CoinsAnswer) + Send + 'static,
    ) where
        T: Transaction<Output = Vec<SpendOutcome>>,
    {
        let count = items.len();
        // Each coin's position, and the coin, by group: moved, not copied.
        let mut parts: Vec<(Vec<usize>, Vec<I>)> = Vec::with_capacity(self.groups.len());
        parts.resize_with(self.groups.len(), || (Vec::new(), Vec::new()));
        for (index, item) in items.into_iter().enumerate() {
            let group = self.map.group_of(&key(&item));
            let Some(part) = parts.get_mut(group) else {
                return reply(Err(StorageError::ShardMismatch(format!(
                    "the map placed a coin in group {group} of {}",
                    self.groups.len()
                ))));
            };
            part.0.push(index);
            part.1.push(item);
        }
        let pending = parts
            .iter()
            .filter(|(indexes, _)| !indexes.is_empty())
            .count();
        let gather = Arc::new(Mutex::new(Gather {
            outcomes: vec![None; count],
            pending,
            failed: None,
            reply: Some(Box::new(reply)),
        }));
        if pending == 0 {
            return finish(&gather);
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
                .submit_or_reply(transaction(part), move |result| {
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
                        finish(&gather);
                    }
                });
        }
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
        let main = main.clone();
        self.check_coins(entries, move |result| {
            let outcomes = match result {
                Ok(outcomes) => outcomes,
                // Some groups may have written: the retry replays their coins (module docs).
                Err(error) => return reply(Err(error)),
            };
            let confirmed = confirmed_amounts(amounts, &outcomes);
            main.submit_or_reply(ConfirmBatch { batch, confirmed }, move |result| {
                reply(result.map(|recorded| recorded.map(|()| outcomes)))
            });
        });
    }
}

/// What the groups answered so far.
struct Gather {
    outcomes: Vec<Option<SpendOutcome>>,
    pending: usize,
    failed: Option<StorageError>,
    reply: Option<Box<dyn FnOnce(CoinsAnswer) + Send>>,
}

/// Answers once every group has answered: every coin's verdict, or the first failure.
fn finish(gather: &Mutex<Gather>) {
    let (reply, outcomes, failed) = {
        let mut state = gather.lock().unwrap_or_else(|p| p.into_inner());
        let Some(reply) = state.reply.take() else {
            return;
        };
        (
            reply,
            std::mem::take(&mut state.outcomes),
            state.failed.take(),
        )
    };
    if let Some(error) = failed {
        return reply(Err(error));
    }
    reply(
        outcomes
            .into_iter()
            .collect::<Option<Vec<_>>>()
            // Every coin went to exactly one group, and every group answered for each of its
            // coins.
            .ok_or(StorageError::Corrupt {
                column: "spent_coins",
                reason: "a shard group answered for fewer coins than it was given".into(),
            }),
    )
}
