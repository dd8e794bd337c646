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
/// It must not do I/O of its own: the committer may apply it again after a failed write, and it
/// runs on the committer's only thread.
pub trait Transaction: Send + 'static {
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
}

type Reply = Box<dyn FnOnce(Result<(), StorageError>) + Send>;
type Job = Box<dyn FnOnce(&GroupReader<'_>) -> (WriteSet, Reply) + Send>;

/// The committer thread of one store. Dropping it lets queued work finish, then stops the thread.
pub struct Committer {
    sender: Option<Sender<Job>>,
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
        let job: Job = Box::new(move |reader| match transaction.apply(reader) {
            Ok((output, writes)) => {
                let reply: Reply = Box::new(move |written| reply(written.map(|()| output)));
                (writes, reply)
            }
            Err(error) => (WriteSet::default(), Box::new(move |_| reply(Err(error)))),
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
            let _ = thread.join();
        }
    }
}

fn run(
    store: Store,
    config: CommitConfig,
    receiver: Receiver<Job>,
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
        let mut reader = GroupReader::new(&store);
        let mut changes = Vec::new();
        let mut replies = Vec::with_capacity(jobs.len());
        let last = jobs.len() - 1;
        for (index, job) in jobs.into_iter().enumerate() {
            let (writes, reply) = job(&reader);
            // The last transaction's writes are read by no one in the group: no overlay.
            let later_readers = (index < last).then_some(&mut reader);
            writes.stage(&mut changes, later_readers);
            replies.push(reply);
        }
        let started = Instant::now();
        let (written, synced) = if changes.is_empty() {
            (Ok(()), false)
        } else {
            (store.write_synced(&changes), true)
        };
        let write = started.elapsed();
        stats.write_us.fetch_add(write.as_micros() as u64, Relaxed);
        stats.groups.fetch_add(1, Relaxed);
        stats.transactions.fetch_add(count, Relaxed);
        metrics.group(replies.len(), synced.then_some(write));
        for reply in replies {
            reply(written.clone());
        }
        if memory_read.is_none_or(|at| at.elapsed() >= MEMORY_REFRESH) {
            memory_read = Some(Instant::now());
            metrics.memory(store.memory_usage());
        }
    }
}
