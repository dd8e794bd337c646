//! `bench-settlement`: settlement submissions over loopback QUIC against the same submissions
//! handed to a clearing house in process, in one run.
//!
//! - Measure: a clearing house node on its own thread and actix system, as another process would
//!   be, behind a real `LinkServer` with pinned mutual TLS that serves `BankHandler`. Two
//!   acquirers, each over its own `Link`, send `LinkRequest::Submit`s, 2 in flight; each answer is
//!   decoded into its receipt.
//! - Reference: the same submissions handed to a second clearing house's `ClearingHandle` in
//!   process, with its own DB, 2 in flight.
//!
//! A deposit is one coin an issuer confirmed: one entry of a confirmation. Each submission holds
//! [`SUBMISSION_DEPOSITS`] of them, in confirmations of [`CONFIRMATION_COINS`] coins alternately
//! from two issuers, signed with the issuer confirmation keys both clearing houses are
//! configured with, so no RSA work is needed. Both clearing houses commit durably (the default
//! `CommitConfig`).
//!
//! Beside them, the link request's encoding and its decoding alone, one submission at a time:
//! the part of the link's cost that is not the network.
//!
//! The three run in rounds, in an order that rotates each round, because the load of a shared
//! 2-core VM drifts within seconds. Every receipt must claim every confirmation; at the end each
//! clearing house's cycle is cut, and its report's obligations must add up to the deposits
//! submitted, per issuer and acquirer.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rayon::prelude::*;
use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState};
use semper_actors::clock::{Clock as _, SystemClock};
use semper_actors::retry::RetryConfig;
use semper_bench::in_flight::in_flight;
use semper_bench::in_process::DiscardReports;
use semper_link::{
    FRAME_PAYLOAD_MAX_BYTES, Identity, Limits, Link, LinkConfig, LinkServer, LinkServerConfig,
    Role, RoleSet, TrustStore, TrustedPeer, Validity,
};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::Participant;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::ids::{BankId, BatchId, DenominationId, Digest, SubmissionId};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt};
use semper_protocol::messages::settlement::{
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendConfirmation, SpendConfirmation,
};
use semper_protocol::signed::Signed;
use semper_server::interbank::{BankHandler, HostedRoles};
use semper_storage::CommitConfig;

/// Deposits in one submission.
const SUBMISSION_DEPOSITS: usize = 10_000;
/// Coins in one issuer confirmation: about one micro-batch's share of one issuer.
const CONFIRMATION_COINS: usize = 250;
/// Confirmations in one submission.
const SUBMISSION_CONFIRMATIONS: usize = SUBMISSION_DEPOSITS / CONFIRMATION_COINS;
/// Submissions in flight, on each path.
const IN_FLIGHT: usize = 2;
/// Rounds; each runs every measure once on the round's submissions.
const ROUNDS: usize = 9;
/// Submissions per round.
const ROUND_SUBMISSIONS: usize = 4;
/// Threads of each clearing house's pool.
const POOL_THREADS: usize = 2;
/// The longest one submission may take over the link, queueing included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
const CLEARING: BankId = BankId([9; 16]);
const ACQUIRERS: [BankId; 2] = [BankId([11; 16]), BankId([12; 16])];
const ISSUERS: [BankId; 2] = [BankId([21; 16]), BankId([22; 16])];
/// What one coin of each issuer is worth, in euro cents, so each issuer's share of a report
/// shows.
const COIN_CENTS: [u64; 2] = [100, 200];

/// What is timed: the reference, the measure, and the link request's codec on its own (whose
/// encoding and decoding are timed apart).
#[derive(Clone, Copy)]
enum Measure {
    InProcess,
    Link,
    Codec,
}

const MEASURES: [Measure; 3] = [Measure::InProcess, Measure::Link, Measure::Codec];

fn main() -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("semper-bench-settlement-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = actix::System::new().block_on(run(&dir));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Every key of the run: the acquirers' bank keys and the issuers' confirmation keys.
struct Keys {
    acquirers: [SigningKey; 2],
    issuers: [SigningKey; 2],
}

async fn run(dir: &Path) -> anyhow::Result<()> {
    let keys = Keys {
        acquirers: [(); 2].map(|_| SigningKey::generate(&mut rand::rng())),
        issuers: [(); 2].map(|_| SigningKey::generate(&mut rand::rng())),
    };
    let submissions = submissions(&keys)?;
    let request_bytes = LinkRequest::Submit(Box::new(submissions[0].clone()))
        .to_bytes()
        .len();
    anyhow::ensure!(
        request_bytes <= FRAME_PAYLOAD_MAX_BYTES,
        "a submission of {SUBMISSION_DEPOSITS} deposits does not fit a frame"
    );

    // The clearing house behind the link, on its own thread, and one in process.
    let identity =
        |bank| Identity::generate(bank, Validity::starting_now(Duration::from_secs(86_400)));
    let clearing_identity = identity(CLEARING)?;
    let acquirer_identities = [identity(ACQUIRERS[0])?, identity(ACQUIRERS[1])?];
    let mut peers = vec![TrustedPeer {
        bank: CLEARING,
        roles: RoleSet::of(&[Role::Clearing]),
        certificate: clearing_identity.certificate().clone(),
    }];
    for (bank, identity) in ACQUIRERS.iter().zip(&acquirer_identities) {
        peers.push(TrustedPeer {
            bank: *bank,
            roles: RoleSet::of(&[Role::Acquirer]),
            certificate: identity.certificate().clone(),
        });
    }
    let trust = Arc::new(TrustStore::new(peers)?);
    let linked_config = clearing_config(&dir.join("linked"), &keys);
    let linked_key = ClearingState::provision(&linked_config.data_dir)?;
    let linked = LinkedClearing::start(linked_config, clearing_identity, trust.clone())?;
    let local_config = clearing_config(&dir.join("local"), &keys);
    let local_key = ClearingState::provision(&local_config.data_dir)?;
    let local = ClearingHandle::start(
        ClearingState::open(&local_config, Arc::new(SystemClock))?,
        Arc::new(DiscardReports),
        local_config.mailbox_capacity,
    );
    let mut links = HashMap::new();
    for (bank, identity) in ACQUIRERS.iter().zip(acquirer_identities) {
        let mut config = LinkConfig::new(linked.addr, CLEARING, identity, trust.clone());
        config.limits = Limits {
            request_timeout: REQUEST_TIMEOUT,
            max_in_flight: IN_FLIGHT,
        };
        links.insert(*bank, Link::connect(config).await?);
    }

    // In process and over the link, by their place in `MEASURES`; the codec's two halves apart.
    let mut elapsed = [Duration::ZERO; 2];
    let (mut encoding, mut decoding) = (Duration::ZERO, Duration::ZERO);
    for (round, batch) in submissions.chunks(ROUND_SUBMISSIONS).enumerate() {
        for step in 0..MEASURES.len() {
            let which = (round + step) % MEASURES.len();
            let started = Instant::now();
            match MEASURES[which] {
                Measure::InProcess => {
                    let receipts = in_flight(
                        IN_FLIGHT,
                        batch.iter().cloned().map(|submission| {
                            let local = local.clone();
                            async move { local.submit(submission).await }
                        }),
                    )
                    .await?;
                    elapsed[which] += started.elapsed();
                    check_receipts(&receipts, batch, &local_key)?;
                }
                Measure::Link => {
                    let receipts = in_flight(
                        IN_FLIGHT,
                        batch.iter().map(|submission| {
                            let link = links[&submission.body().acquirer].clone();
                            let request = LinkRequest::Submit(Box::new(submission.clone()));
                            async move { submit_over(&link, request).await }
                        }),
                    )
                    .await?;
                    elapsed[which] += started.elapsed();
                    check_receipts(&receipts, batch, &linked_key)?;
                }
                Measure::Codec => {
                    for submission in batch {
                        let started = Instant::now();
                        let request = LinkRequest::Submit(Box::new(submission.clone()));
                        let bytes = request.to_bytes();
                        encoding += started.elapsed();
                        let started = Instant::now();
                        let decoded = LinkRequest::from_bytes(&bytes)?;
                        decoding += started.elapsed();
                        anyhow::ensure!(decoded == request, "a request must decode as encoded");
                    }
                }
            }
        }
    }

    check_report(&local.cut_cycle().await?, &submissions)?;
    check_report(&linked.handle.cut_cycle().await?, &submissions)?;
    for link in links.values() {
        link.close().await;
    }
    linked.stop()?;

    let deposits = (submissions.len() * SUBMISSION_DEPOSITS) as f64;
    let rate = |i: usize| deposits / elapsed[i].as_secs_f64();
    let codec_rate = |time: Duration| deposits / time.as_secs_f64();
    let per_submission = |rate: f64| rate / SUBMISSION_DEPOSITS as f64;
    println!(
        "settlement, submissions of {SUBMISSION_DEPOSITS} deposits ({SUBMISSION_CONFIRMATIONS} \
         confirmations of {CONFIRMATION_COINS} coins; {request_bytes} bytes as a link request, the \
         frame limit is {FRAME_PAYLOAD_MAX_BYTES}), {} acquirers, {IN_FLIGHT} in flight, \
         {POOL_THREADS} pool threads, {ROUNDS} rounds in rotating order:",
        ACQUIRERS.len()
    );
    println!("| measure | deposits/s | submissions/s |");
    println!("| --- | --- | --- |");
    println!(
        "| reference: `ClearingHandle::submit` in process | {:.0} | {:.1} |",
        rate(0),
        per_submission(rate(0))
    );
    println!(
        "| `LinkRequest::Submit` over loopback QUIC, mutual TLS, to `BankHandler` | {:.0} | {:.1} |",
        rate(1),
        per_submission(rate(1))
    );
    println!(
        "| the request's encoding alone (a clone, then `to_bytes`) | {:.0} | {:.1} |",
        codec_rate(encoding),
        per_submission(codec_rate(encoding))
    );
    println!(
        "| the request's decoding alone (`from_bytes`) | {:.0} | {:.1} |",
        codec_rate(decoding),
        per_submission(codec_rate(decoding))
    );
    println!();
    println!("| ratio | value | target |");
    println!("| --- | --- | --- |");
    println!(
        "| over the link / in process | {:.2} | - |",
        rate(1) / rate(0)
    );
    Ok(())
}

/// A clearing house that knows both acquirers and both issuers, and never cuts a cycle by itself
/// during the run.
fn clearing_config(data_dir: &Path, keys: &Keys) -> ClearingConfig {
    let mut participants: Vec<Participant> = ACQUIRERS
        .iter()
        .zip(&keys.acquirers)
        .map(|(bank, key)| Participant {
            bank: *bank,
            acquirer_key: Some(*key.verifying_key()),
            issuer_key: None,
        })
        .collect();
    participants.extend(
        ISSUERS
            .iter()
            .zip(&keys.issuers)
            .map(|(bank, key)| Participant {
                bank: *bank,
                acquirer_key: None,
                issuer_key: Some(*key.verifying_key()),
            }),
    );
    ClearingConfig {
        id: CLEARING,
        data_dir: data_dir.to_path_buf(),
        commit: CommitConfig::default(),
        pool_threads: POOL_THREADS,
        mailbox_capacity: 64,
        in_flight_max: 64,
        participants,
        cycle_max_ms: u64::MAX,
        cycle_max_submissions: u64::MAX,
        cycle_check_ms: 1_000,
        delivery: RetryConfig {
            attempts_max: 1,
            backoff_initial_ms: 1,
            backoff_max_ms: 1,
        },
    }
}

/// Every submission of the run, alternately from each acquirer; every coin is new.
fn submissions(keys: &Keys) -> anyhow::Result<Vec<SignedSettlementSubmission>> {
    let count = ROUNDS * ROUND_SUBMISSIONS;
    let coins: Vec<VerifyingKey> = (0..count * SUBMISSION_DEPOSITS)
        .into_par_iter()
        .map(|n| {
            let mut seed = [0u8; 32];
            seed[..8].copy_from_slice(&(n as u64).to_be_bytes());
            *SigningKey::from_seed(&seed).verifying_key()
        })
        .collect();
    let eur = Currency::new("EUR")?;
    let now = SystemClock.now();
    let mut next_batch = 0u64;
    let mut out = Vec::with_capacity(count);
    for (s, coins) in coins.chunks(SUBMISSION_DEPOSITS).enumerate() {
        let acquirer = s % ACQUIRERS.len();
        let confirmations: Vec<SignedSpendConfirmation> = coins
            .chunks(CONFIRMATION_COINS)
            .enumerate()
            .map(|(c, coins)| {
                let issuer = c % ISSUERS.len();
                next_batch += 1;
                let mut batch_id = [0u8; 16];
                batch_id[..8].copy_from_slice(&next_batch.to_be_bytes());
                let entries: Vec<ConfirmedSpend> = coins
                    .iter()
                    .map(|coin| ConfirmedSpend {
                        coin: *coin,
                        denomination: DenominationId([issuer as u8; 32]),
                        amount: Amount::from_minor_units(eur, COIN_CENTS[issuer]),
                        permission: Digest(*coin.as_bytes()),
                    })
                    .collect();
                let body = SpendConfirmation {
                    issuer: ISSUERS[issuer],
                    acquirer: ACQUIRERS[acquirer],
                    batch_id: BatchId(batch_id),
                    confirmed_at: now,
                    entries: BoundedVec::new(entries).expect("250 coins fit a confirmation"),
                };
                Signed::sign(body, &keys.issuers[issuer])
            })
            .collect();
        let mut submission_id = [0u8; 16];
        submission_id[..8].copy_from_slice(&(s as u64).to_be_bytes());
        let body = SettlementSubmission {
            acquirer: ACQUIRERS[acquirer],
            submission_id: SubmissionId(submission_id),
            submitted_at: now,
            confirmations: BoundedVec::new(confirmations)
                .expect("40 confirmations fit a submission"),
        };
        out.push(Signed::sign(body, &keys.acquirers[acquirer]));
    }
    Ok(out)
}

/// Sends a submission over `link` and reads the receipt out of the answer.
async fn submit_over(
    link: &Link,
    request: LinkRequest,
) -> Result<SignedSubmissionReceipt, anyhow::Error> {
    let answer = link.request(request.to_bytes()).await?;
    match LinkResponse::from_bytes(&answer)? {
        LinkResponse::Receipt(receipt) => Ok(*receipt),
        _ => anyhow::bail!("the clearing house answered a submission with something else"),
    }
}

/// Each receipt must be the clearing house's, for its submission, with every confirmation
/// claimed.
fn check_receipts(
    receipts: &[SignedSubmissionReceipt],
    submissions: &[SignedSettlementSubmission],
    clearing_key: &VerifyingKey,
) -> anyhow::Result<()> {
    anyhow::ensure!(receipts.len() == submissions.len());
    for (receipt, submission) in receipts.iter().zip(submissions) {
        receipt.verify(clearing_key)?;
        let body = receipt.body();
        anyhow::ensure!(body.submission_id == submission.body().submission_id);
        anyhow::ensure!(
            body.claims.len() == SUBMISSION_CONFIRMATIONS
                && body.claims.iter().all(|c| *c == ClaimResult::Claimed),
            "every confirmation of a submission must be claimed"
        );
    }
    Ok(())
}

/// The cycle's report must owe, per issuer and acquirer, exactly the coins submitted, and list
/// every confirmation.
fn check_report(
    report: &SignedSettlementReport,
    submissions: &[SignedSettlementSubmission],
) -> anyhow::Result<()> {
    let mut expected: HashMap<(BankId, BankId), (u64, usize)> = HashMap::new();
    for submission in submissions {
        for confirmation in submission.body().confirmations.iter() {
            let body = confirmation.body();
            let total = confirmation
                .total()?
                .context("a confirmation confirms coins")?;
            let (sum, count) = expected.entry((body.issuer, body.acquirer)).or_default();
            *sum += total.minor_units();
            *count += 1;
        }
    }
    let obligations = &report.body().fields().obligations;
    anyhow::ensure!(obligations.len() == expected.len());
    for obligation in obligations.iter() {
        anyhow::ensure!(
            expected.get(&(obligation.issuer, obligation.acquirer))
                == Some(&(
                    obligation.amount.minor_units(),
                    obligation.confirmations.len()
                )),
            "an obligation differs from the deposits submitted"
        );
    }
    Ok(())
}

/// A clearing house node on its own thread and actix system, serving the link.
struct LinkedClearing {
    /// The clearing house's handle, for the operator's cut-off.
    handle: ClearingHandle,
    /// Where its link server listens.
    addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    thread: std::thread::JoinHandle<anyhow::Result<()>>,
}

impl LinkedClearing {
    fn start(
        config: ClearingConfig,
        identity: Identity,
        trust: Arc<TrustStore>,
    ) -> anyhow::Result<Self> {
        let (started, receiver) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            actix::System::new().block_on(async move {
                let state = ClearingState::open(&config, Arc::new(SystemClock))?;
                let handle =
                    ClearingHandle::start(state, Arc::new(DiscardReports), config.mailbox_capacity);
                let roles = HostedRoles {
                    clearing: Some(handle.clone()),
                    ..Default::default()
                };
                let server = LinkServer::bind(
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    LinkServerConfig::new(identity, trust),
                    BankHandler::new(roles),
                )?;
                let _ = started.send((handle, server.local_addr()));
                // Sent at the end of the run, or dropped if the run fails.
                let _ = stopped.await;
                server.shutdown(Duration::from_secs(1)).await;
                anyhow::Ok(())
            })
        });
        match receiver.recv() {
            Ok((handle, addr)) => Ok(Self {
                handle,
                addr,
                stop,
                thread,
            }),
            Err(_) => match thread.join() {
                Ok(result) => Err(result
                    .err()
                    .unwrap_or_else(|| anyhow::anyhow!("the clearing node stopped at start"))),
                Err(_) => anyhow::bail!("the clearing node panicked at start"),
            },
        }
    }

    fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the clearing node panicked"))?
    }
}
