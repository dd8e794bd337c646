//! One bank served by two processes over one PostgreSQL database: each child process (this
//! test binary again, running the ignored `child::bank_process` test) hosts an issuer process,
//! an acquirer gateway calling that issuer process, and a clearing-house process, all three
//! roles' stores in the same database, the issuer's keys in one signer both reach over its
//! socket. The test hands deposits to a child on its stdin; a child prints what it answers and
//! every submission its gateway hands to the clearing house.
//!
//! - The same coin deposited through both gateways at once (checked by both issuer processes):
//!   with one permission, one deposit is accepted and the other a replay; with two permissions
//!   (a double spend), one is accepted and the other a conflict. The merchant is credited once
//!   per coin, and each coin is confirmed into the outbox once.
//! - The outbox: gateway 1 holds the outbox lease and stalls in the middle of a submission; it
//!   is killed (SIGKILL by PID), gateway 2 takes the lease over and sends the same stored
//!   submission, which the clearing house records once; then gateway 2 submits what follows.
//!   Every submission reaches the clearing house once, and the clearing house counts every
//!   confirmation once.

#[path = "../../../storage/tests/common/pg.rs"]
mod pg;
// The child process: the bank's three roles, deposits from stdin.
mod child;
// The test's side: the children, what they say, the wallet and the merchant.
mod parent;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use semper_actors::acquirer::{
    AcquirerConfig, AcquirerHandle, AcquirerState, TrustedClearing, TrustedIssuer,
};
use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState};
use semper_actors::clock::{Clock, SystemClock};
use semper_actors::gateway::{
    ClearingGateway, GatewayError, GatewayFuture, IssuerGateway, ReportSink,
};
use semper_actors::issuer::config::SignerChoice;
use semper_actors::issuer::{
    DenominationSchedule, IssuerConfig, IssuerHandle, IssuerState, withdraw,
};
use semper_actors::retry::RetryConfig;
use semper_actors::signer::{FileSigner, Signer};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::Participant;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::{AccountId, BankId, ContractHash, MerchantId, RequestId, SubmissionId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositRequest, DepositResult, SignedDepositRequest};
use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};
use semper_protocol::signed::Signed;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::acquirer::merchants::{self, RegisterMerchant};
use semper_storage::acquirer::outbox;
use semper_storage::acquirer::submissions::{self, SubmissionState};
use semper_storage::ledger::{Credit, OpenAccount};
use semper_storage::{CommitConfig, Location};

pub const ISSUER: BankId = BankId([1; 16]);
pub const ACQUIRER: BankId = BankId([2; 16]);
pub const CLEARING: BankId = BankId([9; 16]);
pub const MERCHANT: MerchantId = MerchantId([5; 16]);
pub const HOUR_MS: u64 = 3_600_000;

pub const CONNINFO_VAR: &str = "SEMPER_BANK_PROCESS_CONNINFO";
pub const DIR_VAR: &str = "SEMPER_BANK_PROCESS_DIR";
pub const NAME_VAR: &str = "SEMPER_BANK_PROCESS_NAME";
pub const STALL_VAR: &str = "SEMPER_BANK_PROCESS_STALL";
/// The longest a child lives, whatever happens to the test.
pub const CHILD_MAX: Duration = Duration::from_secs(120);
/// The longest the test waits for a child to say something.
pub const SAY_MAX: Duration = Duration::from_secs(30);

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

pub fn merchant_key() -> SigningKey {
    SigningKey::from_seed(&[55; 32])
}

pub fn signer_socket(dir: &Path) -> PathBuf {
    dir.join("signer.sock")
}

/// The issuer's config in every process: the shared database and signer, one EUR 1.00 series.
pub fn issuer_config(dir: &Path, conninfo: &str, acquirer_key: VerifyingKey) -> IssuerConfig {
    IssuerConfig {
        id: ISSUER,
        data_dir: dir.join("issuer"),
        store: Some(Location::Postgres(conninfo.to_owned())),
        signer: SignerChoice::Socket(signer_socket(dir)),
        commit: CommitConfig::default(),
        pool_threads: 1,
        mailbox_capacity: 64,
        in_flight_max: 64,
        schedule: DenominationSchedule {
            values: vec![eur("1.00")],
            key_size: RsaKeySize::Bits2048,
            withdraw_period_ms: 24 * HOUR_MS,
            deposit_grace_ms: 24 * HOUR_MS,
            retention_ms: 24 * HOUR_MS,
            lookahead_ms: HOUR_MS,
            rotation_check_ms: HOUR_MS,
            fees: Vec::new(),
        },
        acquirers: vec![(ACQUIRER, acquirer_key)],
        clearing: None,
        spent_shards: Default::default(),
        master: Default::default(),
    }
}

/// The acquirer's config in every process: the shared database, outbox passes every 200 ms.
pub fn acquirer_config(dir: &Path, conninfo: &str, issuer: &IssuerState) -> AcquirerConfig {
    let clearing_key = ClearingState::provision(&dir.join("clearing")).unwrap();
    let retry = RetryConfig {
        attempts_max: 3,
        backoff_initial_ms: 5,
        backoff_max_ms: 20,
    };
    AcquirerConfig {
        id: ACQUIRER,
        data_dir: dir.join("acquirer"),
        store: Some(Location::Postgres(conninfo.to_owned())),
        commit: CommitConfig::default(),
        pool_threads: 1,
        mailbox_capacity: 64,
        in_flight_max: 64,
        batch_max_coins: 64,
        batch_max_delay_ms: 5,
        issuers: vec![TrustedIssuer {
            id: ISSUER,
            master_key: issuer.public_keys.master,
            confirmation_key: issuer.public_keys.confirmation,
        }],
        spend_retry: retry,
        clearing: TrustedClearing {
            id: CLEARING,
            key: clearing_key,
        },
        submission_max_confirmations: 16,
        submit_interval_ms: 200,
        submit_retry: retry,
    }
}

/// The clearing house's config in every process: the shared database; cycles never cut here.
pub fn clearing_config(
    dir: &Path,
    conninfo: &str,
    issuer: &IssuerState,
    acquirer_key: VerifyingKey,
) -> ClearingConfig {
    ClearingConfig {
        id: CLEARING,
        data_dir: dir.join("clearing"),
        store: Some(Location::Postgres(conninfo.to_owned())),
        commit: CommitConfig::default(),
        pool_threads: 1,
        mailbox_capacity: 64,
        in_flight_max: 64,
        participants: vec![
            Participant {
                bank: ISSUER,
                acquirer_key: None,
                issuer_key: Some(issuer.public_keys.confirmation),
            },
            Participant {
                bank: ACQUIRER,
                acquirer_key: Some(acquirer_key),
                issuer_key: None,
            },
        ],
        cycle_max_ms: HOUR_MS,
        cycle_max_submissions: 1_000,
        cycle_check_ms: 1_000,
        delivery: RetryConfig {
            attempts_max: 1,
            backoff_initial_ms: 1,
            backoff_max_ms: 1,
        },
    }
}

use parent::*;

#[test]
fn one_bank_in_two_processes_over_one_database() {
    let server = pg::PgServer::start();
    let conninfo = server.create_database("bank");
    let dir = std::env::temp_dir().join(format!("semper-bank-processes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // The bank's keys, made before any process starts: the acquirer's and the clearing house's
    // (one key store each, shared by their processes), and the issuer's in one signer.
    let acquirer_key = AcquirerState::provision(&dir.join("acquirer")).unwrap();
    ClearingState::provision(&dir.join("clearing")).unwrap();
    let signer: Arc<dyn Signer> = Arc::new(
        FileSigner::open(
            &dir.join("signer"),
            Arc::new(SystemClock),
            Default::default(),
        )
        .unwrap(),
    );
    let listener = semper_actors::signer::server::bind(&signer_socket(&dir)).unwrap();
    std::thread::spawn(move || semper_actors::signer::server::serve(listener, signer));

    let (sender, receiver) = std::sync::mpsc::channel();
    let mut lines = Lines {
        receiver,
        seen: Vec::new(),
    };
    // Process 1 starts first: it holds the leases, and it stalls in its first submission.
    let mut one = Process::start("1", &dir, &conninfo, true, sender.clone());
    lines.take("READY 1");
    let mut two = Process::start("2", &dir, &conninfo, false, sender);
    lines.take("READY 2");

    // The test's own issuer and acquirer, over the same database: they lead nothing.
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let issuer =
        IssuerState::open(&issuer_config(&dir, &conninfo, acquirer_key), clock.clone()).unwrap();
    let acquirer =
        AcquirerState::open(&acquirer_config(&dir, &conninfo, &issuer), clock.clone()).unwrap();
    assert!(!issuer.rotation.leads() && !acquirer.outbox_lease.leads());
    let registered = acquirer.committer.execute(RegisterMerchant {
        merchant: MERCHANT,
        public_key: *merchant_key().verifying_key(),
    });
    assert!(matches!(registered, Ok(Ok(_))), "{registered:?}");
    let coins = withdraw_coins(&issuer, 3);

    // The same coin through both gateways at once: one permission twice, and a double spend.
    let same = pay(&coins[0], 1);
    let first = deposit(1, vec![same.clone(), pay(&coins[1], 2)]);
    let second = deposit(2, vec![same, pay(&coins[1], 3)]);
    let answers = settle(
        &mut lines,
        &mut [(&mut one, "a", &first), (&mut two, "b", &second)],
    );
    let (a, b) = (&answers[0], &answers[1]);
    assert_eq!(
        sorted(vec![a[0].clone(), b[0].clone()]),
        ["accepted", "replay"]
    );
    assert_eq!(
        sorted(vec![a[1].clone(), b[1].clone()]),
        ["accepted", "conflict"]
    );
    let balance = |acquirer: &AcquirerState| {
        merchants::merchant(&acquirer.store, &MERCHANT)
            .unwrap()
            .unwrap()
            .balances
            .to_vec()
    };
    assert_eq!(balance(&acquirer), [eur("2.00")]);
    let said: Vec<String> = lines
        .all()
        .into_iter()
        .filter(|l| l.starts_with("ANSWER"))
        .collect();
    println!("answers: {said:?}");

    // Process 1 runs the outbox, and stalls in the middle of its submission: it dies there, and
    // process 2 sends the same stored submission.
    let stalled = lines.take("SUBMITTING ");
    let stalled_id = stalled.strip_suffix(" 1").unwrap().to_owned();
    one.kill();
    let killed = Instant::now();
    // (Under load a gateway may lose the lease and take it back before this: the stalled
    // submission is the one to follow, whoever sent the others.)
    let sent = lines.take(&format!("SUBMIT {stalled_id} "));
    assert_eq!(sent, "2");
    println!("outbox taken over {:?} after SIGKILL", killed.elapsed());
    let id = submission_id(&stalled_id);
    wait_until("the receipt stored", || {
        submissions::submission(&acquirer.store, &id)
            .unwrap()
            .is_some_and(|record| matches!(record.state, SubmissionState::Answered(_)))
    });

    // Then process 2 takes deposits and submits them.
    let third = deposit(3, vec![pay(&coins[2], 4)]);
    let c = settle(&mut lines, &mut [(&mut two, "c", &third)]);
    assert_eq!(c, [["accepted"]]);
    wait_until("the outbox emptied", || {
        outbox::depth(&acquirer.store).unwrap() == 0
            && submissions::pending_ids(&acquirer.store, 8)
                .unwrap()
                .is_empty()
    });
    assert_eq!(balance(&acquirer), [eur("3.00")]);

    // Every submission reached the clearing house once, and it counted every confirmation once:
    // the first deposit's batch and the third's (in two submissions, or more if the lease moved
    // under load).
    drop(two);
    let mut submitted: Vec<String> = lines
        .all()
        .into_iter()
        .filter_map(|line| line.strip_prefix("SUBMIT ").map(str::to_owned))
        .map(|line| line.split(' ').next().unwrap().to_owned())
        .collect();
    submitted.sort();
    let count = submitted.len();
    submitted.dedup();
    assert!(count >= 2 && count == submitted.len(), "{submitted:?}");
    let clearing_store = Location::Postgres(conninfo.clone())
        .open(semper_storage::Role::Clearing)
        .unwrap();
    let cycle = semper_storage::clearing::open_cycle(&clearing_store)
        .unwrap()
        .unwrap();
    assert_eq!((cycle.submissions, cycle.confirmations), (count as u64, 2));
    assert!(
        submissions::refused_claims(&acquirer.store, 8)
            .unwrap()
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
