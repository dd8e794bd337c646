//! Durable group commit: one thread applies every state change in order, writes each group with
//! one WAL fsync, and only then answers.

mod reader;
mod writes;

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, TrySendError};

pub use reader::GroupReader;
pub use writes::WriteSet;

use crate::error::StorageError;
use crate::metrics::{CommitMetrics, MEMORY_REFRESH};
use crate::store::Store;

/// A state change: reads through a [`GroupReader`], then says what to write and what to answer.
///
/// It must not do I/O of its own: the committer may apply it again (a clone of it) when another
/// writer of a shared store changed what its group read, and it runs on the committer's only
/// thread.
pub trait Transaction: Clone + Send + 'static {
    /// The answer, given to the caller once the writes are durable.
    type Output: Send + 'static;

    /// Decides the transaction's effect from the current state.
    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError>;
}

/// Bounds of the committer, from config.
#[derive(Clone, Copy, Debug)]
pub struct CommitConfig {
    /// The most transactions in one group (one fsync).
    pub group_max_transactions: usize,
    /// How long the first transaction of a group may wait for others before the write, in µs.
    /// Zero groups only what is already queued, which adds no latency.
    pub group_max_wait_us: u64,
    /// The most transactions waiting; beyond it, callers get [`StorageError::Busy`].
    pub queue_max_transactions: usize,
}

impl Default for CommitConfig {
    fn default() -> Self {
        Self {
            group_max_transactions: 256,
            group_max_wait_us: 0,
            queue_max_transactions: 4096,
        }
    }
}

/// Counters of the committer's work, for metrics and benchmarks.
#[derive(Debug, Default)]
pub struct CommitStats {
    /// Groups written.
    pub groups: std::sync::atomic::AtomicU64,
    /// Transactions committed.
    pub transactions: std::sync::atomic::AtomicU64,
    /// Time spent in synced writes, in µs.
    pub write_us: std::sync::atomic::AtomicU64,
    /// Groups applied again because another writer of a shared store changed what they read.
    pub conflicts: std::sync::atomic::AtomicU64,
}

/// How many times a group is applied over a shared store when other writers keep changing what
/// it read; then its callers get [`StorageError::Conflict`] (retryable).
pub const CONFLICT_ATTEMPTS_MAX: u32 = 8;

/// A queued transaction with its caller's reply: applied once, or again after a conflict, then
/// answered once.
trait Job: Send {
    /// Applies the transaction to `reader`'s state and keeps its answer; a clone of it when it
    /// may have to be applied again (`again`), so that a single writer never copies one.
    fn apply(&mut self, reader: &GroupReader<'_>, again: bool) -> WriteSet;

    /// Answers the caller with the kept answer once the writes are durable, or the error.
    fn reply(self: Box<Self>, written: Result<(), StorageError>);
}

/// The [`Job`] of a transaction `T` whose caller is answered by `F`.
struct Queued<T: Transaction, F> {
    transaction: Option<T>,
    output: Option<Result<T::Output, StorageError>>,
    reply: F,
}

impl<T, F> Job for Queued<T, F>
where
    T: Transaction,
    F: FnOnce(Result<T::Output, StorageError>) + Send + 'static,
{
    fn apply(&mut self, reader: &GroupReader<'_>, again: bool) -> WriteSet {
        let transaction = if again {
            self.transaction.clone()
        } else {
            self.transaction.take()
        };
        let Some(transaction) = transaction else {
            // Applied already and not kept: the committer never asks for that.
            self.output = Some(Err(StorageError::Closed));
            return WriteSet::new();
        };
        match transaction.apply(reader) {
            Ok((output, writes)) => {
                self.output = Some(Ok(output));
                writes
            }
            Err(error) => {
                self.output = Some(Err(error));
                WriteSet::new()
            }
        }
    }

    fn reply(self: Box<Self>, written: Result<(), StorageError>) {
        let answer = match self.output {
            Some(Ok(output)) => written.map(|()| output),
            Some(Err(error)) => Err(error),
            None => Err(written.err().unwrap_or(StorageError::Closed)),
        };
        (self.reply)(answer);
    }
}

/// The committer thread of one store. Dropping it lets queued work finish, then stops the thread.
pub struct Committer {
    sender: Option<Sender<Box<dyn Job>>>,
    thread: Option<JoinHandle<()>>,
    stats: std::sync::Arc<CommitStats>,
}

impl Committer {
    /// Starts the committer of `store`. Its metrics go to the recorder current here: install the
    /// process's recorder before starting committers.
    pub fn start(store: Store, config: CommitConfig) -> Self {
        let (sender, receiver) = crossbeam_channel::bounded(config.queue_max_transactions.max(1));
        let stats = std::sync::Arc::new(CommitStats::default());
        let thread_stats = stats.clone();
        let metrics = CommitMetrics::register(store.role());
        let thread = std::thread::Builder::new()
            .name(format!("semper-commit-{}", store.role().name()))
            .spawn(move || run(store, config, receiver, &thread_stats, &metrics))
            .ok();
        Self {
            sender: thread.as_ref().map(|_| sender),
            thread,
            stats,
        }
    }

    /// Queues `transaction`; `reply` gets its output once its writes are durable, or the error.
    /// Refuses with [`StorageError::Busy`] when the queue is full.
    pub fn submit<T: Transaction>(
        &self,
        transaction: T,
        reply: impl FnOnce(Result<T::Output, StorageError>) + Send + 'static,
    ) -> Result<(), StorageError> {
        let sender = self.sender.as_ref().ok_or(StorageError::Closed)?;
        let job: Box<dyn Job> = Box::new(Queued {
            transaction: Some(transaction),
            output: None,
            reply,
        });
        sender.try_send(job).map_err(|error| match error {
            TrySendError::Full(_) => StorageError::Busy,
            TrySendError::Disconnected(_) => StorageError::Closed,
        })
    }

    /// Like [`Committer::submit`], but a refusal (busy, closed) also goes to `reply`: the caller
    /// hears back exactly once, either way.
    pub fn submit_or_reply<T: Transaction>(
        &self,
        transaction: T,
        reply: impl FnOnce(Result<T::Output, StorageError>) + Send + 'static,
    ) {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(Some(reply)));
        let committed_slot = slot.clone();
        let take = |slot: &std::sync::Mutex<Option<_>>| {
            slot.lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .take()
        };
        let submitted = self.submit(transaction, move |result| {
            if let Some(reply) = take(&committed_slot) {
                reply(result);
            }
        });
        if let Err(error) = submitted
            && let Some(reply) = take(&slot)
        {
            reply(Err(error));
        }
    }

    /// Runs `transaction` and blocks until it is durable. For callers that own their thread.
    pub fn execute<T: Transaction>(&self, transaction: T) -> Result<T::Output, StorageError> {
        let (sender, receiver) = crossbeam_channel::bounded(1);
        self.submit(transaction, move |result| {
            // The caller may have gone; its answer then has no one to go to.
            let _ = sender.send(result);
        })?;
        receiver.recv().map_err(|_| StorageError::Closed)?
    }

    /// The committer's counters.
    pub fn stats(&self) -> &CommitStats {
        &self.stats
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            // Dropped on its own thread (a reply held the last handle on the committer's owner):
            // joining itself would fail. With the sender gone, its loop ends once this group's
            // replies are sent, and the thread exits by itself, closing the store.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

fn run(
    store: Store,
    config: CommitConfig,
    receiver: Receiver<Box<dyn Job>>,
    stats: &CommitStats,
    metrics: &CommitMetrics,
) {
    use std::sync::atomic::Ordering::Relaxed;
    let max = config.group_max_transactions.max(1);
    let wait = Duration::from_micros(config.group_max_wait_us);
    // When RocksDB's memory was last read for the gauges.
    let mut memory_read: Option<Instant> = None;
    while let Ok(first) = receiver.recv() {
        let mut jobs = vec![first];
        let deadline = Instant::now() + wait;
        while jobs.len() < max {
            match receiver.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) if wait.is_zero() => break,
                Err(_) => match receiver.recv_deadline(deadline) {
                    Ok(job) => jobs.push(job),
                    Err(_) => break,
                },
            }
        }
        let count = jobs.len() as u64;
        let started = Instant::now();
        let (written, synced) = write_group(&store, &mut jobs, &|| {
            stats.conflicts.fetch_add(1, Relaxed);
            metrics.conflict();
        });
        let write = started.elapsed();
        stats.write_us.fetch_add(write.as_micros() as u64, Relaxed);
        stats.groups.fetch_add(1, Relaxed);
        stats.transactions.fetch_add(count, Relaxed);
        metrics.group(jobs.len(), synced.then_some(write));
        for job in jobs {
            job.reply(written.clone());
        }
        if memory_read.is_none_or(|at| at.elapsed() >= MEMORY_REFRESH) {
            memory_read = Some(Instant::now());
            metrics.memory(store.memory_usage());
        }
    }
}

/// Applies the group's transactions in order and writes their changes in one durable write;
/// says how that went, and whether anything was written. Over a shared store, the write checks
/// what the group read, and on a conflict the whole group is applied again to fresh reads, up to
/// [`CONFLICT_ATTEMPTS_MAX`] times, each counted by `conflicted`.
fn write_group(
    store: &Store,
    jobs: &mut [Box<dyn Job>],
    conflicted: &dyn Fn(),
) -> (Result<(), StorageError>, bool) {
    let shared = store.shared();
    let mut attempts = 0;
    loop {
        attempts += 1;
        let again = shared && attempts < CONFLICT_ATTEMPTS_MAX;
        let mut reader = GroupReader::new(store, attempts == 1);
        let mut changes = Vec::new();
        let last = jobs.len().saturating_sub(1);
        for (index, job) in jobs.iter_mut().enumerate() {
            let writes = job.apply(&reader, again);
            // The last transaction's writes are read by no one in the group: no overlay.
            let later_readers = (index < last).then_some(&mut reader);
            writes.stage(&mut changes, later_readers);
        }
        if changes.is_empty() {
            return (Ok(()), false);
        }
        let written = if shared {
            reader
                .into_reads()
                .and_then(|reads| store.write_checked(&reads, &changes))
        } else {
            store.write_synced(&changes)
        };
        match written {
            Err(StorageError::Conflict(_)) if again => conflicted(),
            written => return (written, true),
        }
    }
}
