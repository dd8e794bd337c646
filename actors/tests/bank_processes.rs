//! One bank served by two processes over one PostgreSQL database: each child process (this test
//! binary again, running the ignored `bank_process` test) hosts an issuer process, an acquirer
//! gateway calling that issuer process, and a clearing-house process, all three roles' stores
//! in the same database, the issuer's keys in one signer both reach over its socket. The test
//! hands deposits to a child on its stdin; a child prints what it answers and every submission
//! its gateway hands to the clearing house.
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

#[path = "../../storage/tests/common/pg.rs"]
mod pg;

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

const ISSUER: BankId = BankId([1; 16]);
const ACQUIRER: BankId = BankId([2; 16]);
const CLEARING: BankId = BankId([9; 16]);
const MERCHANT: MerchantId = MerchantId([5; 16]);
const HOUR_MS: u64 = 3_600_000;

const CONNINFO_VAR: &str = "SEMPER_BANK_PROCESS_CONNINFO";
const DIR_VAR: &str = "SEMPER_BANK_PROCESS_DIR";
const NAME_VAR: &str = "SEMPER_BANK_PROCESS_NAME";
const STALL_VAR: &str = "SEMPER_BANK_PROCESS_STALL";
/// The longest a child lives, whatever happens to the test.
const CHILD_MAX: Duration = Duration::from_secs(120);
/// The longest the test waits for a child to say something.
const SAY_MAX: Duration = Duration::from_secs(30);

fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

fn merchant_key() -> SigningKey {
    SigningKey::from_seed(&[55; 32])
}

fn signer_socket(dir: &Path) -> PathBuf {
    dir.join("signer.sock")
}

/// The issuer's config in every process: the shared database and signer, one EUR 1.00 series.
fn issuer_config(dir: &Path, conninfo: &str, acquirer_key: VerifyingKey) -> IssuerConfig {
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
        },
        acquirers: vec![(ACQUIRER, acquirer_key)],
        clearing: None,
        spent_shards: Default::default(),
    }
}

/// The acquirer's config in every process: the shared database, outbox passes every 200 ms.
fn acquirer_config(dir: &Path, conninfo: &str, issuer: &IssuerState) -> AcquirerConfig {
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
fn clearing_config(
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

/// The issuer process of this child, as its gateway's only issuer.
struct OwnIssuer(IssuerHandle);

impl IssuerGateway for OwnIssuer {
    fn denomination_set(&self, _: BankId) -> GatewayFuture<'_, SignedDenominationSet> {
        let set = (*self.0.denomination_set()).clone();
        Box::pin(async move { Ok(set) })
    }

    fn spend_check(
        &self,
        _: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse> {
        Box::pin(async move {
            self.0
                .spend_check(batch)
                .await
                .map_err(|e| GatewayError::refused(e.code(), e.to_string()))
        })
    }
}

/// The clearing-house process of this child. Prints `SUBMIT <id> <process>` for each submission
/// handed to it; a stalling one prints `SUBMITTING <id> <process>` and never hands it over.
struct PrintingClearing {
    inner: ClearingHandle,
    name: String,
    stall: bool,
}

impl ClearingGateway for PrintingClearing {
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        let id = hex::encode(submission.body().submission_id.as_bytes());
        Box::pin(async move {
            if self.stall {
                say(&format!("SUBMITTING {id} {}", self.name));
                std::future::pending::<()>().await;
            }
            say(&format!("SUBMIT {id} {}", self.name));
            ClearingGateway::submit(&self.inner, submission).await
        })
    }

    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        ClearingGateway::reports_after(&self.inner, after_sequence, limit)
    }
}

/// Delivers reports nowhere: no cycle is cut in these tests.
struct NoSink;

impl ReportSink for NoSink {
    fn deliver(&self, _: BankId, _: SignedSettlementReport) -> GatewayFuture<'_, ()> {
        Box::pin(async { Ok(()) })
    }
}

fn say(line: &str) {
    println!("{line}");
    std::io::stdout().flush().unwrap();
}

/// One coin's result, in a word: `accepted`, `replay`, `conflict` or the refusal's code.
fn word(result: &DepositResult) -> String {
    match result {
        DepositResult::Accepted => "accepted".into(),
        DepositResult::Replay => "replay".into(),
        DepositResult::Conflict { .. } => "conflict".into(),
        DepositResult::Refused { code } => code.clone(),
    }
}

/// The child's side: the bank's three roles over the shared database, deposits from stdin
/// (`<tag> <hex of the signed request>`), answers on stdout (`ANSWER <tag> <word>...` or
/// `ANSWER <tag> ERR <code>`), until stdin closes or it is killed.
#[test]
#[ignore = "the child process of the bank_processes tests"]
fn bank_process() {
    let (Ok(conninfo), Ok(dir), Ok(name)) = (
        std::env::var(CONNINFO_VAR),
        std::env::var(DIR_VAR),
        std::env::var(NAME_VAR),
    ) else {
        return;
    };
    let stall = std::env::var(STALL_VAR).is_ok();
    let dir = PathBuf::from(dir);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let (lines, mut requests) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    actix::System::new().block_on(async move {
        let acquirer_key = AcquirerState::provision(&dir.join("acquirer")).unwrap();
        let issuer =
            IssuerState::open(&issuer_config(&dir, &conninfo, acquirer_key), clock.clone())
                .unwrap();
        let acquirer =
            AcquirerState::open(&acquirer_config(&dir, &conninfo, &issuer), clock.clone()).unwrap();
        let clearing = ClearingState::open(
            &clearing_config(&dir, &conninfo, &issuer, acquirer_key),
            clock,
        )
        .unwrap();
        let clearing = ClearingHandle::start(clearing, Arc::new(NoSink), 64);
        let issuer = IssuerHandle::start(issuer, 64);
        let acquirer = AcquirerHandle::start(
            acquirer,
            Arc::new(OwnIssuer(issuer.clone())),
            Arc::new(PrintingClearing {
                inner: clearing,
                name: name.clone(),
                stall,
            }),
        );
        // The rotation lease's holder may still be making the keys: wait for them.
        let started = Instant::now();
        while acquirer.refresh_denominations().await.unwrap_or(0) == 0 {
            assert!(started.elapsed() < SAY_MAX, "no denominations");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        say(&format!("READY {name}"));
        let deadline = tokio::time::sleep(CHILD_MAX);
        tokio::pin!(deadline);
        loop {
            let line = tokio::select! {
                line = requests.recv() => match line { Some(line) => line, None => break },
                () = &mut deadline => break,
            };
            let Some((tag, request)) = line.split_once(' ') else {
                continue;
            };
            let request = SignedDepositRequest::from_bytes(&hex::decode(request).unwrap()).unwrap();
            let (acquirer, tag) = (acquirer.clone(), tag.to_owned());
            actix::spawn(async move {
                match acquirer.deposit(request).await {
                    Ok(response) => {
                        let words: Vec<String> = response.results.iter().map(word).collect();
                        say(&format!("ANSWER {tag} {}", words.join(" ")));
                    }
                    Err(error) => say(&format!("ANSWER {tag} ERR {}", error.code())),
                }
            });
        }
    });
}

/// A child process, killed by its PID when dropped.
struct Process {
    child: Child,
    stdin: ChildStdin,
}

impl Process {
    fn start(name: &str, dir: &Path, conninfo: &str, stall: bool, lines: Sender<String>) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .args([
                "bank_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CONNINFO_VAR, conninfo)
            .env(DIR_VAR, dir)
            .env(NAME_VAR, name)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        if stall {
            command.env(STALL_VAR, "1");
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, stdin }
    }

    /// Hands the child a deposit, tagged.
    fn deposit(&mut self, tag: &str, request: &SignedDepositRequest) {
        writeln!(self.stdin, "{tag} {}", hex::encode(request.to_bytes())).unwrap();
        self.stdin.flush().unwrap();
    }

    /// SIGKILL, by PID.
    fn kill(&mut self) {
        let status = Command::new("kill")
            .args(["-KILL", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.kill();
        }
    }
}

/// What the children said, each line taken once by the test.
struct Lines {
    receiver: Receiver<String>,
    seen: Vec<(String, bool)>,
}

impl Lines {
    /// Waits for a line starting with `prefix`, not taken yet; takes it and returns the rest.
    fn take(&mut self, prefix: &str) -> String {
        let started = Instant::now();
        loop {
            if let Some((line, taken)) = self
                .seen
                .iter_mut()
                .find(|(line, taken)| !*taken && line.starts_with(prefix))
            {
                *taken = true;
                return line[prefix.len()..].to_owned();
            }
            let left = SAY_MAX.saturating_sub(started.elapsed());
            match self.receiver.recv_timeout(left) {
                Ok(line) => self.seen.push((said(&line), false)),
                Err(_) => panic!(
                    "nothing starting with `{prefix}` within {SAY_MAX:?}: {:?}",
                    self.seen
                ),
            }
        }
    }

    /// Every line said so far, taken or not.
    fn all(&mut self) -> Vec<String> {
        let more: Vec<String> = self.receiver.try_iter().map(|line| said(&line)).collect();
        self.seen.extend(more.into_iter().map(|line| (line, false)));
        self.seen.iter().map(|(line, _)| line.clone()).collect()
    }
}

/// What a child said on a line: the test harness writes its own words before the first.
fn said(line: &str) -> String {
    ["READY ", "ANSWER ", "SUBMIT ", "SUBMITTING "]
        .iter()
        .filter_map(|word| line.find(word))
        .min()
        .map_or_else(|| line.to_owned(), |at| line[at..].to_owned())
}

/// Hands each request to its process at once, then retries each until it has a final answer
/// (an incomplete deposit is retried with the same request, as a merchant would); one word per
/// coin of each.
fn settle(
    lines: &mut Lines,
    deposits: &mut [(&mut Process, &str, &SignedDepositRequest)],
) -> Vec<Vec<String>> {
    let mut answers = vec![None; deposits.len()];
    for attempt in 0..20 {
        for (index, (process, tag, request)) in deposits.iter_mut().enumerate() {
            if answers[index].is_none() {
                process.deposit(&format!("{tag}{attempt}"), request);
            }
        }
        for (index, (_, tag, _)) in deposits.iter().enumerate() {
            if answers[index].is_some() {
                continue;
            }
            let answer = lines.take(&format!("ANSWER {tag}{attempt} "));
            match answer.strip_prefix("ERR ") {
                None => answers[index] = Some(answer.split(' ').map(str::to_owned).collect()),
                Some("deposit.incomplete" | "deposit.coin_in_flight") => {}
                Some(code) => panic!("deposit {tag} refused: {code}"),
            }
        }
        if answers.iter().all(Option::is_some) {
            return answers.into_iter().flatten().collect();
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("a deposit never completed: {answers:?}");
}

/// Withdraws `count` EUR 1.00 coins through `issuer`, from a fresh funded account.
fn withdraw_coins(issuer: &Arc<IssuerState>, count: usize) -> Vec<WalletCoin> {
    let account_key = SigningKey::generate(&mut rand::rng());
    let account = AccountId(rand::random());
    let at = issuer.clock.now();
    let currency = Currency::new("EUR").unwrap();
    let public_key = *account_key.verifying_key();
    let opened = issuer.committer.execute(OpenAccount {
        account,
        public_key,
        currency,
        at,
    });
    assert!(matches!(opened, Ok(Ok(_))), "{opened:?}");
    let credited = issuer.committer.execute(Credit {
        account,
        reference: "funding".into(),
        amount: eur("100.00"),
        at,
    });
    assert!(matches!(credited, Ok(Ok(_))), "{credited:?}");
    let denomination = issuer.published_set().body().fields().denominations[0].clone();
    let request_id = RequestId(rand::random());
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &account_key,
        account,
        request_id,
        &vec![denomination; count],
    )
    .unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    withdraw::run(issuer.clone(), request, move |answer| {
        let _ = sender.send(answer);
    });
    let response = receiver.recv_timeout(SAY_MAX).unwrap().unwrap();
    wallet::finalize_coins(request_id, planned, &response).unwrap()
}

fn pay(coin: &WalletCoin, contract: u8) -> SignedDepositPermission {
    wallet::sign_deposit_permission(
        coin,
        ContractHash([contract; 32]),
        MERCHANT,
        ACQUIRER,
        SystemClock.now(),
    )
}

fn deposit(id: u8, permissions: Vec<SignedDepositPermission>) -> SignedDepositRequest {
    let body = DepositRequest {
        merchant: MERCHANT,
        deposit_id: RequestId([id; 16]),
        permissions: BoundedVec::new(permissions).unwrap(),
    };
    Signed::sign(body, &merchant_key())
}

fn sorted(mut words: Vec<String>) -> Vec<String> {
    words.sort();
    words
}

fn submission_id(hex_id: &str) -> SubmissionId {
    SubmissionId(hex::decode(hex_id).unwrap().try_into().unwrap())
}

/// Polls `done` every 50 ms until it holds, for at most [`SAY_MAX`].
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(started.elapsed() < SAY_MAX, "{what} not within {SAY_MAX:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

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
    let sent = lines.take("SUBMIT ");
    assert_eq!(sent, format!("{stalled_id} 2"));
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
            && submissions::submission(&acquirer.store, &id)
                .unwrap()
                .is_some()
            && lines
                .all()
                .iter()
                .filter(|l| l.starts_with("SUBMIT "))
                .count()
                >= 2
    });
    assert_eq!(balance(&acquirer), [eur("3.00")]);

    // Every submission reached the clearing house once, and it counted every confirmation once:
    // the first deposit's batch and the third's.
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
    assert_eq!((count, submitted.len()), (2, 2), "{submitted:?}");
    let clearing_store = Location::Postgres(conninfo.clone())
        .open(semper_storage::Role::Clearing)
        .unwrap();
    let cycle = semper_storage::clearing::open_cycle(&clearing_store)
        .unwrap()
        .unwrap();
    assert_eq!((cycle.submissions, cycle.confirmations), (2, 2));
    assert!(
        submissions::refused_claims(&acquirer.store, 8)
            .unwrap()
            .is_empty()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
