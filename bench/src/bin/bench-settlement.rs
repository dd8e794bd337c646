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

use semper_actors::clearing::{ClearingHandle, ClearingState};
use semper_actors::clock::SystemClock;
use semper_bench::in_flight::in_flight;
use semper_bench::in_process::DiscardReports;
use semper_bench::link_node::{LinkedClearing, Parties};
use semper_bench::settlement::{
    ACQUIRERS, CONFIRMATION_COINS, Keys, POOL_THREADS, SUBMISSION_CONFIRMATIONS,
    SUBMISSION_DEPOSITS, check_receipts, check_report, clearing_config, receipt_of, submissions,
    submit_request,
};
use semper_link::{FRAME_PAYLOAD_MAX_BYTES, Limits, Link, LinkConfig, LinkSocket, LinkTransport};
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::messages::link::LinkRequest;

/// Submissions in flight, on each path.
const IN_FLIGHT: usize = 2;
/// Rounds; each runs every measure once on the round's submissions.
const ROUNDS: usize = 9;
/// Submissions per round.
const ROUND_SUBMISSIONS: usize = 4;
/// The longest one submission may take over the link, queueing included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

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

async fn run(dir: &Path) -> anyhow::Result<()> {
    let keys = Keys::generate();
    let submissions = submissions(&keys, ROUNDS * ROUND_SUBMISSIONS, ACQUIRERS.len())?;
    let request_bytes = submit_request(&submissions[0]).len();
    anyhow::ensure!(
        request_bytes <= FRAME_PAYLOAD_MAX_BYTES,
        "a submission of {SUBMISSION_DEPOSITS} deposits does not fit a frame"
    );

    // The clearing house behind the link, on its own thread, and one in process.
    let parties = Parties::generate()?;
    let linked_config = clearing_config(&dir.join("linked"), &keys);
    let linked_key = ClearingState::provision(&linked_config.data_dir)?;
    let linked = LinkedClearing::start_clearing(
        linked_config,
        LinkSocket::Bind(SocketAddr::from(([127, 0, 0, 1], 0))),
        &parties,
        LinkTransport::default(),
    )?;
    let local_config = clearing_config(&dir.join("local"), &keys);
    let local_key = ClearingState::provision(&local_config.data_dir)?;
    let local = ClearingHandle::start(
        ClearingState::open(&local_config, Arc::new(SystemClock))?,
        Arc::new(DiscardReports),
        local_config.mailbox_capacity,
    );
    let mut links = HashMap::new();
    for (bank, identity) in ACQUIRERS.iter().zip(parties.acquirers.iter().cloned()) {
        let mut config = LinkConfig::new(
            linked.addr,
            parties.clearing.bank(),
            identity,
            parties.trust.clone(),
        );
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
                            async move {
                                let answer = link.request(request.to_bytes()).await?;
                                receipt_of(&answer)
                            }
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
    check_report(&linked.inner.handle.cut_cycle().await?, &submissions)?;
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
