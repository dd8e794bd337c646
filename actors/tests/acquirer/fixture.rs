//! The acquirer tests' world: two real issuers in process behind an `IssuerGateway`, a fake
//! clearing house behind a `ClearingGateway` that also signs and serves settlement reports, coins
//! withdrawn for real, and deposit requests.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use semper_actors::acquirer::{
    AcquirerConfig, AcquirerHandle, AcquirerState, TrustedClearing, TrustedIssuer,
};
use semper_actors::clearing::ClearingError;
use semper_actors::clock::ManualClock;
use semper_actors::gateway::{ClearingGateway, GatewayError, GatewayFuture, IssuerGateway};
use semper_actors::issuer::{
    DenominationSchedule, IssuerConfig, IssuerError, IssuerHandle, IssuerState,
};
use semper_actors::retry::RetryConfig;
use semper_protocol::acquirer::totals_by_currency;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::cycle_id;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::{DenominationFees, SignedDenominationSet};
use semper_protocol::ids::{
    AccountId, BankId, BatchId, CoinId, ContractHash, Digest, MerchantId, RequestId, SubmissionId,
};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositRequest, SignedDepositRequest};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt, SubmissionReceipt};
use semper_protocol::messages::refund::{
    RefundAnswer, RefundRequest, SignedRefundNotice, SignedRefundRequest,
};
use semper_protocol::messages::settlement::{
    Obligation, SettlementReport, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::{CommitConfig, StorageError};

pub const ISSUER_1: BankId = BankId([1; 16]);
pub const ISSUER_2: BankId = BankId([3; 16]);
pub const ACQUIRER: BankId = BankId([2; 16]);
pub const OTHER_ACQUIRER: BankId = BankId([4; 16]);
pub const CLEARING: BankId = BankId([9; 16]);
pub const START: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);
const HOUR_MS: u64 = 3_600_000;

/// Runs `future` in a fresh actix system.
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(future)
}

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// A directory per test, removed at the end.
pub struct World {
    pub dir: PathBuf,
    pub clock: Arc<ManualClock>,
    pub clearing: Arc<FakeClearing>,
    /// The bank key of each acquirer, provisioned before anything starts.
    pub acquirer_keys: Vec<(BankId, VerifyingKey)>,
}

impl World {
    pub fn new(name: &str, acquirers: &[BankId]) -> Self {
        let dir =
            std::env::temp_dir().join(format!("semper-acquirer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let acquirer_keys = acquirers
            .iter()
            .map(|id| {
                (
                    *id,
                    AcquirerState::provision(&acquirer_dir(&dir, *id)).unwrap(),
                )
            })
            .collect();
        Self {
            dir,
            clock: Arc::new(ManualClock::new(START)),
            clearing: Arc::new(FakeClearing::new()),
            acquirer_keys,
        }
    }

    fn issuer_config(&self, id: BankId, value: &str) -> IssuerConfig {
        self.issuer_config_settling(id, value, None, None)
    }

    /// An issuer's config whose denominations charge `refund_fee` on refunds, and that
    /// reconciles the reports of `clearing`.
    fn issuer_config_settling(
        &self,
        id: BankId,
        value: &str,
        refund_fee: Option<&str>,
        clearing: Option<(BankId, VerifyingKey)>,
    ) -> IssuerConfig {
        let fees = refund_fee.map(|fee| {
            let value = eur(value);
            let fees = DenominationFees {
                refund: eur(fee),
                ..DenominationFees::zero(value.currency())
            };
            (value, fees)
        });
        IssuerConfig {
            id,
            data_dir: self.dir.join(format!("issuer-{}", id.0[0])),
            store: None,
            signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
            master: Default::default(),
            commit: CommitConfig::default(),
            pool_threads: 1,
            mailbox_capacity: 64,
            in_flight_max: 64,
            schedule: DenominationSchedule {
                values: vec![eur(value)],
                fees: fees.into_iter().collect(),
                key_size: RsaKeySize::Bits2048,
                withdraw_period_ms: 24 * HOUR_MS,
                deposit_grace_ms: 24 * HOUR_MS,
                retention_ms: 24 * HOUR_MS,
                lookahead_ms: HOUR_MS,
                rotation_check_ms: HOUR_MS,
            },
            acquirers: self.acquirer_keys.clone(),
            clearing,
            spent_shards: Default::default(),
        }
    }

    /// Starts both issuers as [`World::start_issuers`] does, the first charging `refund_fee` on
    /// refunds, both reconciling the reports of `clearing`.
    pub fn start_issuers_settling(
        &self,
        refund_fee: &str,
        clearing: (BankId, VerifyingKey),
    ) -> Issuers {
        let start = |id, value, fee| {
            let config = self.issuer_config_settling(id, value, fee, Some(clearing));
            let state = IssuerState::open(&config, self.clock.clone()).unwrap();
            IssuerHandle::start(state, 64)
        };
        Issuers::new(vec![
            (ISSUER_1, start(ISSUER_1, "1.00", Some(refund_fee))),
            (ISSUER_2, start(ISSUER_2, "2.00", None)),
        ])
    }

    /// Starts both issuers (one denomination each: EUR 1.00 and EUR 2.00) in the current system.
    pub fn start_issuers(&self) -> Issuers {
        let start = |id, value| {
            let state =
                IssuerState::open(&self.issuer_config(id, value), self.clock.clone()).unwrap();
            IssuerHandle::start(state, 64)
        };
        Issuers::new(vec![
            (ISSUER_1, start(ISSUER_1, "1.00")),
            (ISSUER_2, start(ISSUER_2, "2.00")),
        ])
    }

    pub fn acquirer_config(&self, id: BankId, issuers: &Issuers) -> AcquirerConfig {
        AcquirerConfig {
            id,
            data_dir: acquirer_dir(&self.dir, id),
            store: None,
            commit: CommitConfig::default(),
            pool_threads: 1,
            mailbox_capacity: 256,
            in_flight_max: 256,
            batch_max_coins: 64,
            batch_max_delay_ms: 20,
            issuers: issuers.trusted.clone(),
            spend_retry: RetryConfig {
                attempts_max: 3,
                backoff_initial_ms: 1,
                backoff_max_ms: 5,
            },
            clearing: TrustedClearing {
                id: CLEARING,
                key: *self.clearing.key.verifying_key(),
            },
            submission_max_confirmations: 16,
            // Long: the tests drive the outbox with `flush_outbox`.
            submit_interval_ms: HOUR_MS,
            submit_retry: RetryConfig {
                attempts_max: 4,
                backoff_initial_ms: 1,
                backoff_max_ms: 5,
            },
        }
    }

    /// Opens and starts an acquirer, with its issuers' sets refreshed.
    pub async fn start_acquirer(
        &self,
        config: &AcquirerConfig,
        issuers: &Issuers,
    ) -> AcquirerHandle {
        let state = AcquirerState::open(config, self.clock.clone()).unwrap();
        let acquirer = AcquirerHandle::start(state, issuers.gateway.clone(), self.clearing.clone());
        assert_eq!(acquirer.refresh_denominations().await.unwrap(), 2);
        acquirer
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn acquirer_dir(root: &std::path::Path, id: BankId) -> PathBuf {
    root.join(format!("acquirer-{}", id.0[0]))
}

/// The issuers, their trust entries for an acquirer's config, and the gateway to them.
pub struct Issuers {
    pub handles: HashMap<BankId, IssuerHandle>,
    pub trusted: Vec<TrustedIssuer>,
    pub gateway: Arc<InProcessIssuers>,
}

impl Issuers {
    fn new(handles: Vec<(BankId, IssuerHandle)>) -> Self {
        let trusted = handles
            .iter()
            .map(|(id, handle)| TrustedIssuer {
                id: *id,
                master_key: handle.state().public_keys.master,
                confirmation_key: handle.state().public_keys.confirmation,
            })
            .collect();
        let handles: HashMap<_, _> = handles.into_iter().collect();
        Self {
            gateway: Arc::new(InProcessIssuers::new(handles.clone())),
            handles,
            trusted,
        }
    }

    /// No issuer at all: for an acquirer that only settles and answers from its books.
    pub fn none() -> Self {
        Self::new(Vec::new())
    }

    /// Withdraws `count` coins of `issuer`'s one denomination from a fresh funded account.
    pub async fn coins(&self, issuer: BankId, count: usize) -> Vec<WalletCoin> {
        let handle = &self.handles[&issuer];
        let account_key = SigningKey::generate(&mut rand::rng());
        let account = AccountId(rand::random());
        handle
            .open_account(
                account,
                *account_key.verifying_key(),
                Currency::new("EUR").unwrap(),
            )
            .await
            .unwrap();
        handle
            .credit(account, format!("funding-{account}"), eur("100.00"))
            .await
            .unwrap();
        let denomination = handle
            .denomination_set()
            .unwrap()
            .body()
            .fields()
            .denominations[0]
            .clone();
        let request_id = RequestId(rand::random());
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &account_key,
            account,
            request_id,
            &vec![denomination; count],
        )
        .unwrap();
        let response = handle.withdraw(request).await.unwrap();
        wallet::finalize_coins(request_id, planned, &response).unwrap()
    }
}

/// The real issuers, in process. Counts spend checks, and can lose answers: the issuer does the
/// work, and the acquirer hears a retryable failure instead of its answer.
pub struct InProcessIssuers {
    handles: HashMap<BankId, IssuerHandle>,
    /// Each spend check received: issuer, batch id and coin count.
    pub spend_checks: Mutex<Vec<(BankId, BatchId, usize)>>,
    /// How many of the next answers to lose.
    pub lose_answers: AtomicU32,
    /// Issuers whose link is down: their spend checks fail, retryably, before reaching them.
    pub down: Mutex<HashSet<BankId>>,
}

impl InProcessIssuers {
    pub fn new(handles: HashMap<BankId, IssuerHandle>) -> Self {
        Self {
            handles,
            spend_checks: Mutex::new(Vec::new()),
            lose_answers: AtomicU32::new(0),
            down: Mutex::new(HashSet::new()),
        }
    }

    pub fn spend_checks(&self) -> Vec<(BankId, BatchId, usize)> {
        self.spend_checks.lock().unwrap().clone()
    }
}

fn to_gateway(error: IssuerError) -> GatewayError {
    match error {
        IssuerError::Busy => GatewayError::retryable(error.code(), error.to_string()),
        other => GatewayError::refused(other.code(), other.to_string()),
    }
}

impl IssuerGateway for InProcessIssuers {
    fn denomination_set(&self, issuer: BankId) -> GatewayFuture<'_, SignedDenominationSet> {
        let set = self
            .handles
            .get(&issuer)
            .map(|h| (*h.denomination_set().unwrap()).clone());
        Box::pin(async move {
            set.ok_or_else(|| GatewayError::refused("link.unknown_peer", "no such issuer"))
        })
    }

    fn spend_check(
        &self,
        issuer: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse> {
        Box::pin(async move {
            let body = batch.body();
            self.spend_checks
                .lock()
                .unwrap()
                .push((issuer, body.batch_id, body.permissions.len()));
            if self.down.lock().unwrap().contains(&issuer) {
                return Err(GatewayError::retryable("link.down", "issuer unreachable"));
            }
            let handle = self
                .handles
                .get(&issuer)
                .ok_or_else(|| GatewayError::refused("link.unknown_peer", "no such issuer"))?;
            let answer = handle.spend_check(batch).await.map_err(to_gateway)?;
            let lost = self
                .lose_answers
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                return Err(GatewayError::retryable("link.timeout", "answer lost"));
            }
            Ok(answer)
        })
    }

    fn refund(
        &self,
        issuer: BankId,
        notice: SignedRefundNotice,
    ) -> GatewayFuture<'_, RefundAnswer> {
        Box::pin(async move {
            if self.down.lock().unwrap().contains(&issuer) {
                return Err(GatewayError::retryable("link.down", "issuer unreachable"));
            }
            let handle = self
                .handles
                .get(&issuer)
                .ok_or_else(|| GatewayError::refused("link.unknown_peer", "no such issuer"))?;
            let answer = handle.refund(notice).await.map_err(to_gateway)?;
            let lost = self
                .lose_answers
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok();
            if lost {
                return Err(GatewayError::retryable("link.timeout", "answer lost"));
            }
            Ok(answer)
        })
    }
}

/// A clearing house that counts each confirmation once, answers a retried submission with the
/// same receipt, can lose its answers (after counting) and can refuse one issuer's confirmations.
/// It signs reports of what it counted, and serves those published to a participant catching up.
pub struct FakeClearing {
    pub key: SigningKey,
    /// Every submission received, attempts included.
    pub received: Mutex<Vec<SignedSettlementSubmission>>,
    receipts: Mutex<HashMap<SubmissionId, SignedSubmissionReceipt>>,
    /// Each confirmation counted, by batch, with the submission that claimed it.
    pub claimed: Mutex<HashMap<BatchId, SubmissionId>>,
    /// Each refund settled, with the submission that claimed it.
    pub refunds_claimed: Mutex<HashMap<Digest, SubmissionId>>,
    /// How many of the next answers to lose.
    pub lose_answers: AtomicU32,
    /// How many of the next submissions find the clearing house's database out of reach (a
    /// failover): refused before anything is counted, as the real one refuses them then.
    pub storage_failures: AtomicU32,
    /// Confirmations of this issuer are refused.
    pub refuse_issuer: Mutex<Option<BankId>>,
    /// The number of the cycle new claims are counted in.
    pub cycle: AtomicU64,
    /// Each confirmation counted.
    counted: Mutex<Vec<Counted>>,
    /// The reports served to a participant catching up.
    reports: Mutex<Vec<SignedSettlementReport>>,
    /// How many times a participant asked for reports.
    pub reports_asked: AtomicU32,
}

/// A confirmation counted: cycle number, issuer, acquirer, batch and totals.
type Counted = (u64, BankId, BankId, BatchId, Vec<Amount>);

impl FakeClearing {
    fn new() -> Self {
        Self {
            key: SigningKey::from_seed(&[9; 32]),
            received: Mutex::new(Vec::new()),
            receipts: Mutex::new(HashMap::new()),
            claimed: Mutex::new(HashMap::new()),
            refunds_claimed: Mutex::new(HashMap::new()),
            lose_answers: AtomicU32::new(0),
            storage_failures: AtomicU32::new(0),
            refuse_issuer: Mutex::new(None),
            cycle: AtomicU64::new(1),
            counted: Mutex::new(Vec::new()),
            reports: Mutex::new(Vec::new()),
            reports_asked: AtomicU32::new(0),
        }
    }

    /// The true obligations of cycle `sequence`: what it counted, per issuer, acquirer and
    /// currency.
    pub fn obligations(&self, sequence: u64) -> Vec<Obligation> {
        let mut grouped: BTreeMap<(BankId, BankId, Currency), (u64, Vec<BatchId>)> =
            BTreeMap::new();
        for (cycle, issuer, acquirer, batch, totals) in self.counted.lock().unwrap().iter() {
            for total in totals.iter().filter(|_| *cycle == sequence) {
                let entry = grouped
                    .entry((*issuer, *acquirer, total.currency()))
                    .or_default();
                entry.0 += total.minor_units();
                entry.1.push(*batch);
            }
        }
        grouped
            .into_iter()
            .map(
                |((issuer, acquirer, currency), (units, batches))| Obligation {
                    issuer,
                    acquirer,
                    amount: Amount::from_minor_units(currency, units),
                    confirmations: BoundedVec::new(batches).unwrap(),
                },
            )
            .collect()
    }

    /// The report of cycle `sequence` with `obligations`, signed by `key`.
    pub fn report(
        sequence: u64,
        obligations: Vec<Obligation>,
        key: &SigningKey,
    ) -> SignedSettlementReport {
        let body = SettlementReport::new(
            CLEARING,
            cycle_id(CLEARING, sequence),
            sequence,
            START,
            obligations,
        )
        .unwrap();
        Signed::sign(body, key)
    }

    /// Serves `report` to a participant catching up.
    pub fn publish(&self, report: SignedSettlementReport) {
        self.reports.lock().unwrap().push(report);
    }

    pub fn received(&self) -> Vec<SignedSettlementSubmission> {
        self.received.lock().unwrap().clone()
    }

    fn receipt(&self, submission: &SignedSettlementSubmission) -> SignedSubmissionReceipt {
        let body = submission.body();
        let mut receipts = self.receipts.lock().unwrap();
        if let Some(receipt) = receipts.get(&body.submission_id) {
            return receipt.clone();
        }
        let refused = *self.refuse_issuer.lock().unwrap();
        let cycle = self.cycle.load(Ordering::SeqCst);
        let mut claimed = self.claimed.lock().unwrap();
        let claims = body
            .confirmations
            .iter()
            .map(|confirmation| {
                let confirmation = confirmation.body();
                if Some(confirmation.issuer) == refused {
                    return ClaimResult::Refused {
                        code: "confirmation.unknown_issuer".into(),
                    };
                }
                match claimed.get(&confirmation.batch_id) {
                    Some(earlier) => ClaimResult::AlreadyClaimed {
                        acquirer: body.acquirer,
                        submission_id: *earlier,
                    },
                    None => {
                        claimed.insert(confirmation.batch_id, body.submission_id);
                        self.counted.lock().unwrap().push((
                            cycle,
                            confirmation.issuer,
                            body.acquirer,
                            confirmation.batch_id,
                            totals_by_currency(confirmation).unwrap(),
                        ));
                        ClaimResult::Claimed
                    }
                }
            })
            .collect::<Vec<_>>();
        let mut settled = self.refunds_claimed.lock().unwrap();
        let refund_claims = body
            .refunds
            .iter()
            .map(|refund| match settled.get(&refund.body().refund) {
                Some(earlier) => ClaimResult::AlreadyClaimed {
                    acquirer: body.acquirer,
                    submission_id: *earlier,
                },
                None => {
                    settled.insert(refund.body().refund, body.submission_id);
                    ClaimResult::Claimed
                }
            })
            .collect::<Vec<_>>();
        let receipt = Signed::sign(
            SubmissionReceipt {
                clearing: CLEARING,
                acquirer: body.acquirer,
                submission_id: body.submission_id,
                cycle: cycle_id(CLEARING, cycle),
                cycle_sequence: cycle,
                received_at: START,
                claims: BoundedVec::new(claims).unwrap(),
                refund_claims: BoundedVec::new(refund_claims).unwrap(),
            },
            &self.key,
        );
        receipts.insert(body.submission_id, receipt.clone());
        receipt
    }
}

impl ClearingGateway for FakeClearing {
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        self.received.lock().unwrap().push(submission.clone());
        if take_one(&self.storage_failures) {
            // What the clearing house answers when its store is out of reach, through the same
            // conversion its in-process gateway and its link answer use.
            let error = ClearingError::from(StorageError::Unavailable(
                "FATAL: terminating connection due to unexpected postmaster exit".into(),
            ));
            return Box::pin(async move { Err(GatewayError::from(error)) });
        }
        let receipt = self.receipt(&submission);
        let lost = take_one(&self.lose_answers);
        Box::pin(async move {
            if lost {
                Err(GatewayError::retryable("link.timeout", "answer lost"))
            } else {
                Ok(receipt)
            }
        })
    }

    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        self.reports_asked.fetch_add(1, Ordering::SeqCst);
        // Taken now, not when the answer is awaited: a caller has its page once it has asked.
        let mut after: Vec<_> = self
            .reports
            .lock()
            .unwrap()
            .iter()
            .filter(|report| report.body().fields().sequence > after_sequence)
            .cloned()
            .collect();
        after.sort_by_key(|report| report.body().fields().sequence);
        after.truncate(limit as usize);
        Box::pin(async move { Ok(after) })
    }
}

/// Takes one from `counter` unless it is zero: whether it did.
fn take_one(counter: &AtomicU32) -> bool {
    counter
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
}

/// A merchant: its id and key.
pub struct Merchant {
    pub id: MerchantId,
    pub key: SigningKey,
}

impl Merchant {
    pub fn new(n: u8) -> Self {
        Self {
            id: MerchantId([n; 16]),
            key: SigningKey::from_seed(&[100 + n; 32]),
        }
    }

    /// The wallet's permission to pay this merchant at `acquirer` with `coin`, for contract `contract`.
    pub fn paid(
        &self,
        coin: &WalletCoin,
        acquirer: BankId,
        contract: u8,
    ) -> SignedDepositPermission {
        wallet::sign_deposit_permission(
            coin,
            ContractHash([contract; 32]),
            self.id,
            acquirer,
            START,
        )
    }

    /// A deposit request of `permissions`, signed by the merchant, refundable for ever.
    pub fn deposit(
        &self,
        deposit_id: u8,
        permissions: Vec<SignedDepositPermission>,
    ) -> SignedDepositRequest {
        self.deposit_until(deposit_id, permissions, Timestamp::from_unix_ms(u64::MAX))
    }

    /// A deposit request of `permissions`, signed by the merchant, refundable until
    /// `refund_deadline`.
    pub fn deposit_until(
        &self,
        deposit_id: u8,
        permissions: Vec<SignedDepositPermission>,
        refund_deadline: Timestamp,
    ) -> SignedDepositRequest {
        let body = DepositRequest {
            merchant: self.id,
            deposit_id: RequestId([deposit_id; 16]),
            permissions: BoundedVec::new(permissions).unwrap(),
            refund_deadline,
        };
        Signed::sign(body, &self.key)
    }

    /// This merchant's refund of `amount` of `coin`, paid for `contract`, signed by its key.
    pub fn refund(
        &self,
        refund_id: u8,
        coin: &WalletCoin,
        contract: u8,
        amount: &str,
    ) -> SignedRefundRequest {
        let body = RefundRequest {
            merchant: self.id,
            refund_id: RequestId([refund_id; 16]),
            contract_hash: ContractHash([contract; 32]),
            denomination: coin.coin().denomination,
            coin: CoinId::of(&coin.coin().public_key),
            amount: eur(amount),
        };
        Signed::sign(body, &self.key)
    }
}

/// Opens a stopped acquirer's state again, from the same data dir: first waits until every
/// handle on the old state is gone, then until its drop (on whichever thread let go last) has
/// closed the DB.
pub fn reopen(
    stopped: Weak<AcquirerState>,
    config: &AcquirerConfig,
    clock: Arc<ManualClock>,
) -> Arc<AcquirerState> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while stopped.upgrade().is_some() {
        assert!(Instant::now() < deadline, "the state was never dropped");
        std::thread::sleep(Duration::from_millis(10));
    }
    loop {
        match AcquirerState::open(config, clock.clone()) {
            Ok(state) => return state,
            Err(error) if Instant::now() < deadline => {
                assert_eq!(error.code(), "storage.rocksdb", "{error}");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(error) => panic!("the old DB was never closed: {error}"),
        }
    }
}
