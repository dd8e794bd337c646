//! What the clearing and reconciliation tests share: a clearing house in process, with a report sink
//! the test reads, and the confirmations and submissions the tests send it.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState};
use semper_actors::clock::ManualClock;
use semper_actors::gateway::{GatewayError, GatewayFuture, ReportSink};
use semper_actors::retry::RetryConfig;
use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::Participant;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::ids::{BankId, BatchId, CoinId, DenominationId, Digest, SubmissionId};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt};
use semper_protocol::messages::settlement::{
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendConfirmation, SpendConfirmation,
};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_storage::CommitConfig;
use tokio::sync::mpsc;

pub const CLEARING: BankId = BankId([9; 16]);
pub const ACQUIRER_1: BankId = BankId([11; 16]);
pub const ACQUIRER_2: BankId = BankId([12; 16]);
pub const ISSUER_1: BankId = BankId([21; 16]);
pub const ISSUER_2: BankId = BankId([22; 16]);
pub const START: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);
pub const HOUR_MS: u64 = 3_600_000;
/// How long a test waits for something that happens in the background.
pub const WAIT: Duration = Duration::from_secs(10);

/// A key per bank, from its id.
pub fn key(bank: BankId) -> SigningKey {
    SigningKey::from_seed(&[bank.0[0]; 32])
}

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// A report sink that hands each delivery to the test, after failing the first few.
pub struct TestSink {
    pub delivered: mpsc::UnboundedSender<(BankId, SignedSettlementReport)>,
    pub failures_left: AtomicUsize,
}

impl ReportSink for TestSink {
    fn deliver(
        &self,
        participant: BankId,
        report: SignedSettlementReport,
    ) -> GatewayFuture<'_, ()> {
        Box::pin(async move {
            let failing = self
                .failures_left
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if failing {
                return Err(GatewayError::retryable("link.down", "test link down"));
            }
            let _ = self.delivered.send((participant, report));
            Ok(())
        })
    }
}

pub type Deliveries = mpsc::UnboundedReceiver<(BankId, SignedSettlementReport)>;

pub struct Fixture {
    pub dir: PathBuf,
    pub clock: Arc<ManualClock>,
    pub cycle_max_submissions: u64,
    pub cycle_max_ms: u64,
    /// The issuer confirmation keys the clearing house knows, by issuer.
    pub issuer_keys: Vec<(BankId, SigningKey)>,
}

impl Fixture {
    pub fn new(name: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("semper-clearing-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self {
            dir,
            clock: Arc::new(ManualClock::new(START)),
            cycle_max_submissions: 1000,
            cycle_max_ms: HOUR_MS,
            issuer_keys: vec![(ISSUER_1, key(ISSUER_1)), (ISSUER_2, key(ISSUER_2))],
        }
    }

    pub fn config(&self) -> ClearingConfig {
        let acquirer = |bank| Participant {
            bank,
            acquirer_key: Some(*key(bank).verifying_key()),
            issuer_key: None,
        };
        let mut participants = vec![acquirer(ACQUIRER_1), acquirer(ACQUIRER_2)];
        participants.extend(self.issuer_keys.iter().map(|(bank, key)| Participant {
            bank: *bank,
            acquirer_key: None,
            issuer_key: Some(*key.verifying_key()),
        }));
        ClearingConfig {
            id: CLEARING,
            data_dir: self.dir.join("clearing"),
            store: None,
            commit: CommitConfig::default(),
            pool_threads: 2,
            mailbox_capacity: 64,
            in_flight_max: 64,
            participants,
            cycle_max_ms: self.cycle_max_ms,
            cycle_max_submissions: self.cycle_max_submissions,
            cycle_check_ms: 5,
            delivery: RetryConfig {
                attempts_max: 5,
                backoff_initial_ms: 1,
                backoff_max_ms: 4,
            },
        }
    }

    /// Starts the clearing house; its sink fails the first `failures` deliveries.
    pub fn start(&self, failures: usize) -> (ClearingHandle, Deliveries) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let sink = Arc::new(TestSink {
            delivered: sender,
            failures_left: AtomicUsize::new(failures),
        });
        let state = ClearingState::open(&self.config(), self.clock.clone()).unwrap();
        (ClearingHandle::start(state, sink, 64), receiver)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A coin key, from a number.
pub fn coin(n: u8) -> VerifyingKey {
    *SigningKey::from_seed(&[n; 32]).verifying_key()
}

/// `issuer`'s confirmation, signed with `signer`, of `coins` worth `each`, for batch `batch` of
/// `acquirer`.
pub fn confirmation_signed_by(
    signer: &SigningKey,
    issuer: BankId,
    acquirer: BankId,
    batch: u8,
    coins: &[u8],
    each: &str,
) -> SignedSpendConfirmation {
    let entries: Vec<ConfirmedSpend> = coins
        .iter()
        .map(|c| ConfirmedSpend {
            coin: CoinId::of(&coin(*c)),
            denomination: DenominationId([1; 32]),
            amount: each.parse().unwrap(),
            permission: Digest([*c; 32]),
        })
        .collect();
    let body = SpendConfirmation {
        issuer,
        acquirer,
        batch_id: BatchId([batch; 16]),
        confirmed_at: START,
        entries: entries.try_into().unwrap(),
    };
    Signed::sign(body, signer)
}

pub fn confirmation(
    issuer: BankId,
    acquirer: BankId,
    batch: u8,
    coins: &[u8],
    each: &str,
) -> SignedSpendConfirmation {
    confirmation_signed_by(&key(issuer), issuer, acquirer, batch, coins, each)
}

pub fn submission_signed_by(
    signer: &SigningKey,
    acquirer: BankId,
    id: u8,
    confirmations: Vec<SignedSpendConfirmation>,
) -> SignedSettlementSubmission {
    let body = SettlementSubmission {
        acquirer,
        submission_id: SubmissionId([id; 16]),
        submitted_at: START,
        confirmations: BoundedVec::new(confirmations).unwrap(),
        refunds: BoundedVec::empty(),
    };
    Signed::sign(body, signer)
}

pub fn submission(
    acquirer: BankId,
    id: u8,
    confirmations: Vec<SignedSpendConfirmation>,
) -> SignedSettlementSubmission {
    submission_signed_by(&key(acquirer), acquirer, id, confirmations)
}

pub fn claims(receipt: &SignedSubmissionReceipt) -> Vec<ClaimResult> {
    receipt.body().claims.to_vec()
}

pub fn already(acquirer: BankId, id: u8) -> ClaimResult {
    ClaimResult::AlreadyClaimed {
        acquirer,
        submission_id: SubmissionId([id; 16]),
    }
}

pub fn refused(code: &str) -> ClaimResult {
    ClaimResult::Refused { code: code.into() }
}

pub fn position(report: &SignedSettlementReport, bank: BankId, currency: &str) -> i64 {
    report
        .body()
        .fields()
        .net_positions
        .iter()
        .find(|p| p.bank == bank && p.currency.code() == currency)
        .map_or(0, |p| p.net_minor_units)
}

/// The next `count` deliveries, sorted by participant.
pub async fn deliveries(
    receiver: &mut Deliveries,
    count: usize,
) -> Vec<(BankId, SignedSettlementReport)> {
    let mut got = Vec::new();
    for _ in 0..count {
        let next = tokio::time::timeout(WAIT, receiver.recv()).await;
        got.push(next.expect("a delivery in time").expect("the sink is open"));
    }
    got.sort_by_key(|(bank, _)| *bank);
    got
}

pub fn run<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(future)
}

/// Waits until every handle on a stopped actor's state is gone, so its DB is closed.
pub fn wait_until_closed<T>(state: Weak<T>) {
    let deadline = std::time::Instant::now() + WAIT;
    while state.upgrade().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the state was never dropped"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
