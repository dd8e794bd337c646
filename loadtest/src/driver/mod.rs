//! Drives the workers: each takes the next operation its [`Pacing`] hands out, runs it, and
//! records how long it took from when it started (closed loop) or was due (open loop).

pub mod closed;
pub mod open;

use std::sync::Mutex;
use std::time::Instant;

use rand::RngExt;

use crate::recorder::Recorder;
use crate::workload::{Shared, WalletSlot, Worker};

/// An operation handed out: its number, and when it was due (open loop).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot {
    /// Its number, from 0.
    pub index: u64,
    /// When it was due; `None` means "now" (closed loop).
    pub intended: Option<Instant>,
}

/// What hands operations to the workers.
pub trait Pacing: Sync {
    /// The next operation, once it is due; `None` when the run is over.
    fn next(&self) -> Option<Slot>;
}

/// Runs one worker over `wallets` until `pacing` ends, recording into `recorder` with times
/// relative to `start`; returns its wallets once every lost answer was asked for again.
pub fn run_worker(
    shared: &Shared,
    recorder: &Mutex<Recorder>,
    start: Instant,
    pacing: &dyn Pacing,
    wallets: Vec<WalletSlot>,
) -> Vec<WalletSlot> {
    let mut worker = Worker::new(shared, wallets);
    let mut rng = rand::rng();
    let stock_only = shared.workload.stock.only;
    while !stock_only || worker.has_ready_work() {
        let Some(slot) = pacing.next() else { break };
        let began = slot.intended.unwrap_or_else(Instant::now);
        let wanted = shared.workload.mix.choose(rng.random::<f64>());
        let (kind, result) = worker.execute(wanted);
        let ended = Instant::now();
        let mut recorder = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let since_start = ended.saturating_duration_since(start);
        match result {
            Ok(coins) => recorder.record(
                kind,
                since_start,
                ended.saturating_duration_since(began),
                coins,
            ),
            Err(error) => {
                recorder.record_error(kind, since_start);
                drop(recorder);
                shared.count_failure(format!("{}: {}", kind.name(), error.code()));
            }
        }
    }
    worker.finish()
}
