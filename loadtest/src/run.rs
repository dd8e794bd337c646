//! One load run from start to verdict: set the parties up, settle what was there before, drive
//! the workers (with settlement passes at an interval), settle everything, read the deployment's
//! books and check the invariants.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use semper_protocol::denomination::Denomination;
use semper_protocol::ids::BankId;

use crate::driver::closed::ClosedLoop;
use crate::driver::open::OpenLoop;
use crate::driver::{Pacing, run_worker};
use crate::invariants::{self, ClientBooks, Examples, ServerBooks};
use crate::progress::{self, Snapshot};
use crate::recorder::Recorder;
use crate::report::{LoadReport, Totals};
use crate::revoke;
use crate::settle;
use crate::target::Targets;
use crate::workload::{
    COINS_PER_REQUEST_MAX, FUNDING_WITHDRAWALS, MerchantSlot, OpError, OpKind, RETRY_ATTEMPTS_MAX,
    Recoupable, Retries, Shared, Stock, WalletSlot, Worker, Workload, finalize_deferred, now,
    outage, with_retries,
};
use semper_client::change::withdrawable_now;
use semper_client::parties::{Merchant, PartyError, Wallet, withdrawable};
use semper_client::{Api, ApiError};

/// The longest run, whatever the bounds say.
pub const DURATION_MAX: Duration = Duration::from_secs(24 * 3600);
/// Most workers.
pub const WORKERS_MAX: usize = 2048;
/// The share of refunds in the default mix.
pub const DEFAULT_REFUND_SHARE: f64 = 0.1;
/// The share of swaps in the default mix.
pub const DEFAULT_SWAP_SHARE: f64 = 0.05;
/// The share of recoups in the default mix: run only at issuers whose master key the load holds
/// (an issuer target's `master-key=`), since only a revocation makes coins recoupable.
pub const DEFAULT_RECOUP_SHARE: f64 = 0.02;
/// Coins of the revoked denomination each wallet withdraws before the run, to recoup.
pub const RECOUP_COINS_PER_WALLET: usize = 4;
/// Most extra settlement passes at the end while a refund the load was answered is in no
/// report yet (its issuer's confirmation still on its way to the acquirer).
pub const REFUND_SETTLE_ROUNDS_MAX: usize = 10;

/// How operations are paced.
#[derive(Clone, Debug)]
pub enum Mode {
    /// `workers` threads, each running operations back to back.
    Closed {
        /// Threads.
        workers: usize,
    },
    /// `rate_per_s` operations a second, spread over at most `workers` threads at once.
    Open {
        /// Target rate.
        rate_per_s: f64,
        /// Threads: operations in flight at most.
        workers: usize,
    },
}

impl Mode {
    fn workers(&self) -> usize {
        match self {
            Self::Closed { workers } | Self::Open { workers, .. } => *workers,
        }
    }
}

/// A load run.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// The deployment.
    pub targets: Targets,
    /// The load's shape.
    pub workload: Workload,
    /// Closed or open loop.
    pub mode: Mode,
    /// Stop starting operations after this long.
    pub duration: Option<Duration>,
    /// Stop after this many operations.
    pub operations: Option<u64>,
    /// Flush the outboxes and cut a cycle this often during the run (and always at the end).
    pub settle_interval: Option<Duration>,
    /// After the final cut, how long the reports may take to reach and be reconciled by every
    /// participant before the discrepancies are read.
    pub settle_wait: Duration,
    /// Show the live progress line on stderr.
    pub progress: bool,
    /// Operations that failed only because the deployment was down (no answer, or a coin still
    /// held by a deposit a crash interrupted: see `workload::outage`), e.g. while a crash-kill
    /// soak restarts it, break neither `operations.completed` nor the double-spend verdict; every
    /// request whose answer was lost is still asked for again at the end, and every other
    /// invariant holds as ever.
    pub tolerate_outages: bool,
    /// Attempts of a request the server answers busy, times out or does not answer, first
    /// included, each after the server's Retry-After; then the operation fails.
    pub retry_attempts_max: u32,
    /// Told when the timed phase starts and when it will end, for a harness that acts during it.
    pub phase: Option<Arc<LoadPhase>>,
    /// The `semper` binary whose `semper offline revoke` revokes a denomination at each issuer
    /// with a master key directory (for recoups); by default the one beside this program.
    pub offline_tool: Option<PathBuf>,
}

/// When a run's timed phase ends, once it has started: a crash-kill soak kills the deployment
/// only while operations run, never during setup or the final checks. Also the retries so far,
/// for a harness that samples them while the run goes on.
#[derive(Debug, Default)]
pub struct LoadPhase {
    ends: std::sync::OnceLock<Instant>,
    retries: std::sync::OnceLock<Arc<std::sync::atomic::AtomicU64>>,
}

impl LoadPhase {
    /// When the timed phase stops starting operations; `None` until it has started.
    pub fn ends(&self) -> Option<Instant> {
        self.ends.get().copied()
    }

    /// Requests sent again so far (setup included), each after a retryable answer; 0 before
    /// the run has begun.
    pub fn retries(&self) -> u64 {
        self.retries
            .get()
            .map_or(0, |total| total.load(Ordering::Relaxed))
    }
}

/// Why a run could not be made (a broken invariant is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The configuration does not make a run.
    #[error("configuration: {0}")]
    Config(String),
    /// Setting up failed.
    #[error("setup: {what}: {source}")]
    Setup {
        /// The step.
        what: String,
        /// Why.
        source: PartyError,
    },
}

fn setup(what: impl Into<String>) -> impl FnOnce(ApiError) -> LoadError {
    let what = what.into();
    move |error| LoadError::Setup {
        what,
        source: PartyError::Api(error),
    }
}

impl LoadConfig {
    /// The command line's defaults against `targets`: a closed loop of 4 workers for 20 s,
    /// 16 wallets, 8 merchants, 4 coins a payment, 16 a withdrawal, 20 % withdrawals, 5 % double
    /// spends, 5 % replays, 10 % refunds, 5 % swaps, 2 % recoups (where an issuer's master key
    /// is given), a settlement pass every 5 s, 2 s for the last reports to arrive.
    pub fn new(targets: Targets) -> Self {
        Self {
            targets,
            workload: Workload {
                wallets: 16,
                merchants: 8,
                coins_per_payment: 4,
                coins_per_withdraw: 16,
                funding_withdrawals: FUNDING_WITHDRAWALS,
                mix: crate::workload::Mix {
                    withdraw: 0.2,
                    double_spend: 0.05,
                    replay: 0.05,
                    refund: DEFAULT_REFUND_SHARE,
                    swap: DEFAULT_SWAP_SHARE,
                    recoup: DEFAULT_RECOUP_SHARE,
                },
                stock: Stock::default(),
            },
            mode: Mode::Closed { workers: 4 },
            duration: Some(Duration::from_secs(20)),
            operations: None,
            settle_interval: Some(Duration::from_secs(5)),
            settle_wait: Duration::from_secs(2),
            progress: false,
            tolerate_outages: false,
            retry_attempts_max: RETRY_ATTEMPTS_MAX,
            phase: None,
            offline_tool: None,
        }
    }

    fn validate(&self) -> Result<(), LoadError> {
        let bad = |text: String| Err(LoadError::Config(text));
        let w = &self.workload;
        if self.duration.is_none() && self.operations.is_none() {
            return bad("give a duration or a number of operations: a run must end".into());
        }
        if self.mode.workers() == 0 || self.mode.workers() > WORKERS_MAX {
            return bad(format!("workers must be in 1..={WORKERS_MAX}"));
        }
        if let Mode::Open { rate_per_s, .. } = self.mode
            && !(rate_per_s > 0.0 && rate_per_s.is_finite())
        {
            return bad(format!("rate must be positive: {rate_per_s}"));
        }
        for (name, coins) in [
            ("coins per payment", w.coins_per_payment),
            ("coins per withdrawal", w.coins_per_withdraw),
        ] {
            if coins == 0 || coins > COINS_PER_REQUEST_MAX {
                return bad(format!("{name} must be in 1..={COINS_PER_REQUEST_MAX}"));
            }
        }
        if w.merchants == 0 || w.wallets == 0 {
            return bad("there must be wallets and merchants".into());
        }
        w.mix.validate().map_err(LoadError::Config)?;
        if self.targets.issuers.is_empty() || self.targets.acquirers.is_empty() {
            return bad("there must be an issuer and an acquirer".into());
        }
        if let Some(missing) = self.targets.acquirers.iter().find(|a| a.bank.is_none()) {
            return bad(format!(
                "acquirer {} needs its bank id (,id=...): deposits name it",
                missing.url
            ));
        }
        Ok(())
    }
}

/// Runs the load described by `config` and checks the invariants at the end. The report says
/// which invariants broke; an error means no verdict could be reached.
pub fn run(config: LoadConfig) -> Result<LoadReport, LoadError> {
    config.validate()?;
    let workers = config.mode.workers();
    let mut workload = config.workload.clone();
    // Each worker owns its wallets.
    workload.wallets = workload.wallets.max(workers);
    let retries = Retries::new(config.retry_attempts_max);
    if let Some(phase) = &config.phase {
        let _ = phase.retries.set(retries.total_counter());
    }
    let targets = &config.targets;

    // Settle whatever was there before, so that the reports checked are the run's own.
    let mut clearings = targets.clearing_apis();
    let mut acquirers: Vec<(Api, String)> = targets
        .acquirers
        .iter()
        .map(|a| (a.api(), bank_text(a.bank)))
        .collect();
    settle::flush_until_empty(&mut acquirers, &retries).map_err(setup("first outbox flush"))?;
    let cycles_after = settle::cut(&mut clearings, &retries).map_err(setup("first cycle cut"))?;
    let mut discrepancy_marks = Vec::new();
    for (party, endpoint, path) in reconciling_parties(targets) {
        let mut api = endpoint.api();
        let seen = settle::discrepancies(&mut api, &retries, path, 0)
            .map_err(setup(format!("{party} discrepancies")))?;
        discrepancy_marks.push((party, endpoint.clone(), path, seen.count));
    }

    // The parties.
    let run_tag = format!("{:016x}", rand::random::<u64>());
    let mut issuers = Vec::new();
    let mut issuer_denominations = Vec::new();
    for endpoint in &targets.issuers {
        let mut api = endpoint.api();
        let set = with_retries(&retries, || api.denominations())
            .map_err(setup(format!("denominations of {}", endpoint.url)))?;
        let denomination = withdrawable(&set, now()).ok_or_else(|| {
            LoadError::Config(format!(
                "issuer {} has no withdrawable denomination",
                endpoint.url
            ))
        })?;
        issuer_denominations.push(withdrawable_now(&set, now()));
        issuers.push((api, set.body().fields().issuer, denomination));
    }
    let mut merchants = Vec::new();
    for m in 0..workload.merchants {
        let acquirer = m % targets.acquirers.len();
        let endpoint = &targets.acquirers[acquirer];
        let bank = endpoint
            .bank
            .ok_or_else(|| LoadError::Config("acquirer id".into()))?;
        let merchant = Merchant::register(&mut acquirers[acquirer].0, bank).map_err(|source| {
            LoadError::Setup {
                what: format!("register a merchant at {}", endpoint.url),
                source,
            }
        })?;
        merchants.push(MerchantSlot { merchant, acquirer });
    }
    let mut per_worker: Vec<Vec<WalletSlot>> = (0..workers).map(|_| Vec::new()).collect();
    for w in 0..workload.wallets {
        let issuer = w % issuers.len();
        let (api, issuer_bank, denomination) = &mut issuers[issuer];
        let funding = WalletSlot::funding(denomination, &workload);
        let reference = format!("semper-load-{run_tag}-{w}");
        let wallet =
            Wallet::open(api, funding.currency(), funding, &reference).map_err(|source| {
                LoadError::Setup {
                    what: format!("open a wallet at {}", targets.issuers[issuer].url),
                    source,
                }
            })?;
        per_worker[w % workers].push(WalletSlot {
            wallet,
            issuer,
            issuer_bank: *issuer_bank,
            denomination: denomination.clone(),
            pouch: Vec::new(),
            spent: Default::default(),
            credited_minor: funding.minor_units(),
            withdrawn_minor: 0,
            withdraw_fees_minor: 0,
            withdrawn_coins: 0,
            top_ups: 0,
            top_up_unanswered: false,
            ready: Default::default(),
            recoupable: Vec::new(),
            recouped_minor: 0,
        });
    }
    let revoked = if workload.mix.recoup > 0.0 {
        let mut acquirer_apis: Vec<Api> = targets.acquirers.iter().map(|a| a.api()).collect();
        prepare_recoups(
            &config,
            &retries,
            &mut issuers,
            &mut acquirer_apis,
            &mut per_worker,
            &mut issuer_denominations,
        )?
    } else {
        Vec::new()
    };
    let shared = Shared {
        targets: targets.clone(),
        workload: workload.clone(),
        merchants,
        books: Mutex::new(ClientBooks {
            revoked,
            ..ClientBooks::default()
        }),
        retries,
        failures: Mutex::new(BTreeMap::new()),
        tolerate_outages: config.tolerate_outages,
        issuer_denominations,
    };

    let stock_started = Instant::now();
    let per_worker = make_stock(&shared, per_worker, workload.stock)?;
    let stock_s = stock_started.elapsed().as_secs_f64();

    // The load.
    let recorder = Mutex::new(Recorder::new());
    let duration = config.duration.unwrap_or(DURATION_MAX).min(DURATION_MAX);
    let operations = config.operations.unwrap_or(u64::MAX);
    let start = Instant::now();
    if let Some(phase) = &config.phase {
        let _ = phase.ends.set(start + duration);
    }
    let pacing: Box<dyn Pacing> = match config.mode {
        Mode::Closed { .. } => Box::new(ClosedLoop::new(operations, start + duration)),
        Mode::Open { rate_per_s, .. } => {
            Box::new(OpenLoop::new(start, rate_per_s, operations, duration))
        }
    };
    let done = AtomicBool::new(false);
    let mut wallets: Vec<WalletSlot> = Vec::new();
    std::thread::scope(|scope| {
        let handles: Vec<_> = per_worker
            .into_iter()
            .map(|slots| {
                let (shared, recorder, pacing) = (&shared, &recorder, pacing.as_ref());
                scope.spawn(move || run_worker(shared, recorder, start, pacing, slots))
            })
            .collect();
        if let Some(interval) = config.settle_interval {
            let (shared, recorder, done) = (&shared, &recorder, &done);
            scope.spawn(move || settle_periodically(shared, recorder, start, interval, done));
        }
        if config.progress {
            let (shared, recorder, done) = (&shared, &recorder, &done);
            let planned = config.duration;
            scope.spawn(move || {
                progress::show(done, planned, || {
                    let (ops, coins, errors) = lock(recorder).counts();
                    Snapshot {
                        elapsed: start.elapsed(),
                        ops,
                        coins,
                        errors,
                        retries: shared.retries.total(),
                    }
                })
            });
        }
        for handle in handles {
            match handle.join() {
                Ok(slots) => wallets.extend(slots),
                Err(_) => shared.count_failure("worker: panicked".into()),
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    let elapsed = start.elapsed();
    finalize_deferred(&shared, &mut wallets);

    // Settle everything, then read the deployment's books.
    let server = final_books(&config, &shared, &wallets, cycles_after, &discrepancy_marks);
    let mut books = std::mem::take(&mut *shared.books.lock().unwrap_or_else(|e| e.into_inner()));
    books.wallets = wallets.iter().map(WalletSlot::book).collect();
    let failures = shared
        .failures
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone();
    let mut verdicts = invariants::check(&books, &server);
    let counted: BTreeMap<String, u64> = failures
        .iter()
        .filter(|(code, _)| {
            let code = code.rsplit(": ").next().unwrap_or(code);
            !(config.tolerate_outages && outage(code))
        })
        .map(|(code, count)| (code.clone(), *count))
        .collect();
    verdicts.push(invariants::operations_completed(&counted));

    let recorder = recorder.into_inner().unwrap_or_else(|e| e.into_inner());
    let (ops, coins, errors) = recorder.counts();
    let seconds = elapsed.as_secs_f64().max(1e-9);
    let mut targets_text: Vec<String> = Vec::new();
    targets_text.extend(targets.issuers.iter().map(|e| format!("issuer {}", e.url)));
    targets_text.extend(
        targets
            .acquirers
            .iter()
            .map(|e| format!("acquirer {} ({})", e.url, bank_text(e.bank))),
    );
    targets_text.push(format!("clearing {}", targets.clearing.url));
    Ok(LoadReport {
        mode: match config.mode {
            Mode::Closed { .. } => "closed".into(),
            Mode::Open { .. } => "open".into(),
        },
        workers,
        rate_per_s: match config.mode {
            Mode::Open { rate_per_s, .. } => Some(rate_per_s),
            Mode::Closed { .. } => None,
        },
        workload,
        targets: targets_text,
        elapsed_s: elapsed.as_secs_f64(),
        stock_s,
        total: Totals {
            ops,
            coins,
            errors,
            ops_per_s: ops as f64 / seconds,
            coins_per_s: coins as f64 / seconds,
        },
        operations: recorder.summaries(elapsed),
        retries: shared.retries.total(),
        retries_by_code: shared.retries.by_code(),
        failures,
        cycles_after,
        reports: server.reports.len(),
        books,
        invariants: verdicts,
        series: recorder.series(),
    })
}

/// Makes coins recoupable at each issuer whose master key the load holds: the lowest-valued
/// denomination other than the one the load withdraws is chosen, each of the issuer's wallets
/// withdraws [`RECOUP_COINS_PER_WALLET`] coins of it, and it is revoked (see
/// [`crate::revoke`]); swaps no longer ask for it. What was revoked, as `issuer: denomination`.
fn prepare_recoups(
    config: &LoadConfig,
    retries: &Retries,
    issuers: &mut [(Api, BankId, Denomination)],
    acquirers: &mut [Api],
    per_worker: &mut [Vec<WalletSlot>],
    issuer_denominations: &mut [Vec<Denomination>],
) -> Result<Vec<String>, LoadError> {
    let mut revoked = Vec::new();
    for (i, endpoint) in config.targets.issuers.iter().enumerate() {
        let Some(master_key) = &endpoint.master_key else {
            continue;
        };
        let tool = config
            .offline_tool
            .clone()
            .or_else(revoke::default_tool)
            .ok_or_else(|| {
                LoadError::Config(
                    "recoups need the semper binary to revoke with (--semper PATH)".into(),
                )
            })?;
        let (api, bank, withdrawn) = &mut issuers[i];
        let Some(doomed) = (issuer_denominations[i].iter())
            .filter(|d| d.value() != withdrawn.value())
            .min_by_key(|d| d.value().minor_units())
            .cloned()
        else {
            continue;
        };
        issuer_denominations[i].retain(|d| d.id() != doomed.id());
        let slots = per_worker.iter_mut().flatten().filter(|s| s.issuer == i);
        for slot in slots {
            let withdrawal = slot
                .wallet
                .withdraw(api, &doomed, RECOUP_COINS_PER_WALLET)
                .map_err(|source| LoadError::Setup {
                    what: format!("withdraw coins to recoup at {}", endpoint.url),
                    source,
                })?;
            let coins = withdrawal.coins.len() as u64;
            slot.withdrawn_minor += doomed.value().minor_units() * coins;
            slot.withdraw_fees_minor += doomed.fees().withdraw.minor_units() * coins;
            slot.withdrawn_coins += coins;
            for (index, coin) in withdrawal.coins.into_iter().enumerate() {
                slot.recoupable.push(Recoupable {
                    withdrawal: withdrawal.request.clone(),
                    index: index as u32,
                    coin,
                });
            }
        }
        revoke::revoke(
            &tool,
            master_key,
            doomed.id(),
            api,
            acquirers,
            retries,
            &std::env::temp_dir(),
        )
        .map_err(|error| LoadError::Config(format!("revoke at {}: {error}", endpoint.url)))?;
        revoked.push(format!("{bank}: {}", doomed.id()));
    }
    Ok(revoked)
}

/// Makes each worker's wallets' stock ready, the workers in parallel.
fn make_stock(
    shared: &Shared,
    per_worker: Vec<Vec<WalletSlot>>,
    stock: Stock,
) -> Result<Vec<Vec<WalletSlot>>, LoadError> {
    if stock.is_empty() {
        return Ok(per_worker);
    }
    std::thread::scope(|scope| {
        let handles: Vec<_> = per_worker
            .into_iter()
            .map(|slots| {
                scope.spawn(move || {
                    let mut worker = Worker::new(shared, slots);
                    let made = worker.make_stock(stock);
                    made.map(|()| worker.finish())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                let made = handle
                    .join()
                    .map_err(|_| LoadError::Config("a stocking worker panicked".into()))?;
                made.map_err(|error| LoadError::Setup {
                    what: "make the stock ready".into(),
                    source: match error {
                        OpError::Party(party) => party,
                        OpError::Api(api) => PartyError::Api(api),
                    },
                })
            })
            .collect()
    })
}

fn lock(recorder: &Mutex<Recorder>) -> std::sync::MutexGuard<'_, Recorder> {
    recorder.lock().unwrap_or_else(|e| e.into_inner())
}

fn bank_text(bank: Option<BankId>) -> String {
    bank.map(|b| b.to_string()).unwrap_or_default()
}

/// Every party that reconciles: each issuer and each acquirer, with its discrepancies path.
fn reconciling_parties(targets: &Targets) -> Vec<(String, &crate::target::Endpoint, &'static str)> {
    let mut parties = Vec::new();
    for endpoint in &targets.issuers {
        parties.push((
            format!("issuer at {}", endpoint.url),
            endpoint,
            "/v1/issuer/discrepancies",
        ));
    }
    for endpoint in &targets.acquirers {
        parties.push((
            format!("acquirer {} at {}", bank_text(endpoint.bank), endpoint.url),
            endpoint,
            "/v1/acquirer/discrepancies",
        ));
    }
    parties
}

/// A settlement pass every `interval` until `done`: each acquirer's outbox flushed, then the
/// cycle cut.
fn settle_periodically(
    shared: &Shared,
    recorder: &Mutex<Recorder>,
    start: Instant,
    interval: Duration,
    done: &AtomicBool,
) {
    let mut clearings = shared.targets.clearing_apis();
    let mut acquirers: Vec<(Api, String)> = shared
        .targets
        .acquirers
        .iter()
        .map(|a| (a.api(), bank_text(a.bank)))
        .collect();
    let mut next = start + interval;
    while !done.load(Ordering::Relaxed) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(50));
            continue;
        }
        next += interval;
        let began = Instant::now();
        let mut outcome = Ok(());
        for (api, bank) in acquirers.iter_mut() {
            if let Err(error) = settle::flush(api, &shared.retries, bank) {
                outcome = Err(error);
            }
        }
        if outcome.is_ok() {
            outcome = settle::cut(&mut clearings, &shared.retries).map(|_| ());
        }
        let ended = Instant::now();
        let mut recorder = lock(recorder);
        match outcome {
            Ok(()) => recorder.record(OpKind::Settle, ended - start, ended - began, 0),
            Err(error) => {
                recorder.record_error(OpKind::Settle, ended - start);
                drop(recorder);
                shared.count_failure(format!("settle: {}", error.code().unwrap_or("http.io")));
            }
        }
    }
}

/// Settles everything and reads what the invariants compare; what cannot be read is noted in
/// the books (and breaks an invariant), not an error.
fn final_books(
    config: &LoadConfig,
    shared: &Shared,
    wallets: &[WalletSlot],
    cycles_after: u64,
    marks: &[(String, crate::target::Endpoint, &'static str, u64)],
) -> ServerBooks {
    let retries = &shared.retries;
    let targets = &config.targets;
    let mut server = ServerBooks::default();
    let mut unreadable = Examples::default();
    let mut acquirers: Vec<(Api, String)> = targets
        .acquirers
        .iter()
        .map(|a| (a.api(), bank_text(a.bank)))
        .collect();
    let mut clearings = targets.clearing_apis();
    let mut clearing = targets.clearing.api();
    match settle::flush_until_empty(&mut acquirers, retries) {
        Ok(outboxes) => server.outboxes = outboxes,
        Err(error) => unreadable.push(format!("final outbox flush: {error}")),
    }
    if let Err(error) = settle::cut(&mut clearings, retries) {
        unreadable.push(format!("final cycle cut: {error}"));
    }
    // Reports reach the participants on their own; an outbox pass also makes an acquirer
    // fetch the ones it missed.
    std::thread::sleep(config.settle_wait);
    for (api, bank) in acquirers.iter_mut() {
        if let Err(error) = settle::flush(api, retries, bank) {
            unreadable.push(format!("acquirer {bank} outbox pass: {error}"));
        }
    }
    std::thread::sleep(config.settle_wait / 4);

    let mut issuer_apis: Vec<Api> = targets.issuers.iter().map(|e| e.api()).collect();
    for slot in wallets {
        let api = &mut issuer_apis[slot.issuer];
        let account = slot.wallet.account;
        match with_retries(retries, || api.account(account)) {
            Ok(view) => {
                (server.wallet_balances).insert(account.to_string(), view.balance.minor_units());
            }
            Err(error) => unreadable.push(format!("account {account}: {error}")),
        }
    }
    for merchant in &shared.merchants {
        let (api, bank) = &mut acquirers[merchant.acquirer];
        let id = merchant.merchant.id;
        match with_retries(retries, || api.merchant(id)) {
            Ok(view) => {
                for balance in view.balances {
                    let currency = balance.currency().code().to_owned();
                    *server
                        .merchant_credits
                        .entry((bank.clone(), id.to_string(), currency))
                        .or_default() += balance.minor_units();
                }
            }
            Err(error) => unreadable.push(format!("merchant {id}: {error}")),
        }
    }
    match settle::reports_after(&mut clearing, retries, cycles_after) {
        Ok(reports) => server.reports = reports,
        Err(error) => unreadable.push(format!("settlement reports: {error}")),
    }
    // A refund is answered before its issuer confirms it to the acquirer, which settles the
    // confirmation: while one answered is in no report, settle again (a bounded few times).
    let answered: Vec<String> = (shared.books.lock().unwrap_or_else(|e| e.into_inner()))
        .refunds
        .iter()
        .map(|refund| refund.refund.clone())
        .collect();
    for _ in 0..REFUND_SETTLE_ROUNDS_MAX {
        let reported: std::collections::HashSet<&str> = (server.reports.iter())
            .flat_map(|r| &r.refunds)
            .flat_map(|o| o.refunds.iter().map(String::as_str))
            .collect();
        if answered.iter().all(|id| reported.contains(id.as_str())) {
            break;
        }
        std::thread::sleep(config.settle_wait / 2);
        if let Ok(outboxes) = settle::flush_until_empty(&mut acquirers, retries) {
            server.outboxes = outboxes;
        }
        let _ = settle::cut(&mut clearings, retries);
        // As after the final cut: the report reaches every participant before they are read.
        std::thread::sleep(config.settle_wait);
        if let Ok(reports) = settle::reports_after(&mut clearing, retries, cycles_after) {
            server.reports = reports;
        }
    }
    for (party, endpoint, path, from) in marks {
        let mut api = endpoint.api();
        match settle::discrepancies(&mut api, retries, path, *from) {
            Ok(found) => server.new_discrepancies.push((party.clone(), found)),
            Err(error) => unreadable.push(format!("{party} discrepancies: {error}")),
        }
    }
    server.unreadable = unreadable;
    server
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{EMBEDDED_ACQUIRER_ID, Endpoint, parse_bank_id};

    fn config() -> LoadConfig {
        let endpoint = Endpoint::new("127.0.0.1:1".parse().unwrap(), Some("token".into()));
        LoadConfig::new(Targets::single(endpoint))
    }

    #[test]
    fn the_defaults_make_a_run() {
        let config = config();
        assert!(config.validate().is_ok());
        assert_eq!(
            config.targets.acquirers[0].bank,
            parse_bank_id(EMBEDDED_ACQUIRER_ID).ok()
        );
    }

    #[test]
    fn a_run_without_an_end_or_with_bad_knobs_is_refused() {
        let refused = |change: fn(&mut LoadConfig)| {
            let mut config = config();
            change(&mut config);
            matches!(config.validate(), Err(LoadError::Config(_)))
        };
        assert!(refused(|c| {
            c.duration = None;
            c.operations = None;
        }));
        assert!(refused(|c| c.mode = Mode::Closed { workers: 0 }));
        assert!(refused(|c| {
            c.mode = Mode::Open {
                rate_per_s: 0.0,
                workers: 4,
            }
        }));
        assert!(refused(|c| c.workload.coins_per_payment = 0));
        assert!(refused(|c| c.workload.coins_per_withdraw = 257));
        assert!(refused(|c| c.workload.mix.replay = 0.9));
        assert!(refused(|c| c.targets.acquirers[0].bank = None));
        assert!(!refused(|c| {
            c.duration = None;
            c.operations = Some(10);
        }));
    }
}
