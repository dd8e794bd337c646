//! `bench-atm`: the emulated ATM carrier (issue 6) measured three ways, as markdown tables.
//!
//! 1. The emulator's own capacity: frames through AAL5 segmentation, one circuit end at OC-12c
//!    (CBR at the line rate, shaped) and the far end's reassembly, on one thread and simulated
//!    time, every frame checked. Reference: the OC-3c cell rate.
//! 2. Settlement goodput over emulated OC-3c with no loss: real `LinkRequest::Submit`s from one
//!    acquirer over a `Link` on an `AtmSocket` (UDP cells on loopback, CBR at the line rate,
//!    shaped) to a clearing house node whose `LinkServer` (pinned mutual TLS, `BankHandler`)
//!    is on another `AtmSocket`; beside it the same over plain loopback QUIC, and both again
//!    to a [`DigestSink`] instead of the clearing house, which shows the link alone.
//! 3. The same over circuits that lose cells, at several cell-loss ratios, without and with a
//!    one-way propagation delay, to the clearing house, with the link's sender as it was (CUBIC,
//!    MTU discovery), with BBR, and as the ATM carrier now sets it by default (pacing to the
//!    CBR contract, 31-cell datagrams), side by side in one run, in rounds (medians compared),
//!    with each sender's window, round trips and losses.
//! 4. Settlement over OC-12c, before and after, to the clearing house and the sink: where it
//!    is capped.
//!
//! Arguments pick parts: `capacity`, `goodput`, `loss`, `oc12c` (default: all).
//!
//! Goodput is the bytes of the encoded submissions (the link requests' payloads) answered per
//! second, from the first request to the last answer; the answers' bytes are given apart. Its
//! reference is what one OC-3c circuit carries in cell payloads: 353,207 × 48 × 8 b/s.
//!
//! Every submission must be answered exactly once: one answer per request, one call of the
//! server's handler per request sent (none of one not sent); every receipt must verify and
//! claim its whole submission, and each clearing house's cut report must owe exactly the
//! deposits submitted (so none was counted twice); every sink answer must be its request's
//! digest. A failed check ends the run; the loss table prints the count checked.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use semper_actors::clearing::ClearingState;
use semper_atm::aal5::cells_for_payload;
use semper_atm::cell::CELL_PAYLOAD_BYTES;
use semper_atm::{AtmSocket, AtmStats, CircuitConfig, ImpairmentConfig, LineRate};
use semper_bench::atm_host::{AtmHost, udp_receive_buffer_drops};
use semper_bench::cell_rate::{cells_through, crc32_bytes_per_s};
use semper_bench::crc_reference::crc32_sliced_by_8;
use semper_bench::in_flight::in_flight;
use semper_bench::link_node::{LinkNode, LinkedClearing, Parties};
use semper_bench::settlement::{
    CLEARING, Keys, SUBMISSION_DEPOSITS, check_receipts, check_report, clearing_config, receipt_of,
    submissions, submit_request,
};
use semper_bench::sink::{DigestSink, digest};
use semper_link::{Congestion, Handler, Limits, Link, LinkConfig, LinkSocket, LinkTransport};
use semper_protocol::messages::settlement::SignedSettlementSubmission;
use semper_server::config::transport_of;

/// AAL5 payloads of the emulator's capacity runs: an Ethernet MTU and the classical IP over
/// ATM MTU (RFC 2225).
const CAPACITY_FRAME_BYTES: [usize; 2] = [1_500, 9_180];
/// The most frames of one capacity run.
const CAPACITY_FRAMES_MAX: usize = 400_000;
/// The longest one capacity run may take.
const CAPACITY_TIME_MAX: Duration = Duration::from_secs(3);
/// How long the CRC-32 is timed alone.
const CRC_TIME_MAX: Duration = Duration::from_secs(1);
/// The capacity target, in multiples of the OC-3c cell rate.
const CAPACITY_TARGET_X_OC3C: f64 = 10.0;
/// Submissions one link run may send.
const RUN_SUBMISSIONS: usize = 32;
/// No new submission starts once a run has taken this long (those in flight finish).
const RUN_SEND_TIME_MAX: Duration = Duration::from_secs(6);
/// How often a run samples its sender's round trip.
const SENDER_SAMPLE_EVERY: Duration = Duration::from_millis(5);
/// The most round-trip samples one run keeps (a run's sending is bounded in time, its tail is not).
const SENDER_SAMPLES_MAX: usize = 20_000;
/// Submissions in flight on the link.
const IN_FLIGHT: usize = 4;
/// The longest one submission may take, queueing included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Cell-loss ratios of the loss table.
const CELL_LOSS_RATIOS: [f64; 4] = [0.0, 1e-5, 1e-4, 1e-3];
/// Rounds of each row of the loss table: the host's load moves a single run's goodput by tens
/// of percent, so each setting runs this many times and the median is compared.
const LOSS_ROUNDS: usize = 3;
/// The cell-loss ratios at which the new settings must not lose goodput against the old.
const NO_REGRESSION_CLRS: [f64; 2] = [0.0, 1e-5];
/// One-way propagation delays of the loss table.
const DELAYS_MS: [u64; 2] = [0, 10];
/// Seeds every circuit's impairments, so a run's losses can be drawn again.
const SEED: u64 = 2026;
/// The goodput target, as a share of the circuit's cell payload rate.
const GOODPUT_TARGET_SHARE: f64 = 0.80;
/// Issue 23's targets with 10 ms one way: the least share of the line at CLR 1e-4 and 1e-3.
const LOSS_TARGETS: [(f64, f64); 2] = [(1e-4, 0.70), (1e-3, 0.40)];
/// The one-way delay of issue 23's targets.
const LOSS_TARGET_DELAY_MS: u64 = 10;

/// A link sender's settings, as the loss table compares them.
#[derive(Clone, Copy)]
enum Setting {
    /// As the link was before issue 23 over every carrier: CUBIC, MTU discovery from 1200.
    Before,
    /// quinn's BBR, in whole-cell datagrams.
    Bbr,
    /// What the server now sets for an ATM carrier by default (`transport_of`).
    After,
}

impl Setting {
    const ALL: [Self; 3] = [Self::Before, Self::Bbr, Self::After];

    fn label(self) -> &'static str {
        match self {
            Self::Before => "before (CUBIC, MTU discovery)",
            Self::Bbr => "BBR, 1472-byte datagrams",
            Self::After => "after (contract pacing, 1472-byte datagrams)",
        }
    }

    /// The sender's settings over `circuit`.
    fn transport(self, circuit: &CircuitConfig) -> LinkTransport {
        let after = transport_of(Some(circuit), None);
        match self {
            Self::Before => LinkTransport::default(),
            Self::Bbr => LinkTransport {
                congestion: Congestion::Bbr,
                datagram: after.datagram,
            },
            Self::After => after,
        }
    }
}

/// What a link run goes over.
enum Carrier {
    /// Plain UDP on loopback.
    Quic,
    /// An emulated circuit per end, cells in UDP on loopback, and the senders' settings.
    Atm(CircuitConfig, LinkTransport),
}

impl Carrier {
    fn transport(&self) -> LinkTransport {
        match self {
            Self::Quic => LinkTransport::default(),
            Self::Atm(_, transport) => *transport,
        }
    }

    fn line(&self) -> LineRate {
        match self {
            Self::Quic => LineRate::Oc3c,
            Self::Atm(circuit, _) => circuit.line,
        }
    }
}

/// What serves the link.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Target {
    /// A clearing house node: `BankHandler` over `ClearingHandle`, durable.
    Clearing,
    /// A [`DigestSink`]: the link alone.
    Sink,
}

impl Target {
    fn label(self) -> &'static str {
        match self {
            Self::Clearing => "clearing house",
            Self::Sink => "digest sink",
        }
    }
}

/// What one link run carried, and how.
struct Run {
    submissions: usize,
    elapsed: Duration,
    /// Each submission's time from its request to its answer.
    latencies: Vec<Duration>,
    request_bytes: u64,
    answer_bytes: u64,
    /// The acquirer's socket's counters over the timed part (ATM only).
    acquirer: Option<AtmStats>,
    /// The clearing house's socket's counters over the timed part (ATM only).
    clearing: Option<AtmStats>,
    /// The host's UDP datagrams dropped for a full receive buffer over the timed part.
    udp_drops: Option<u64>,
    /// The circuit's line.
    line: LineRate,
    /// The acquirer's QUIC sender at the end of the run: its window, round trip and losses.
    sender: Option<Sender>,
}

/// What the acquirer's QUIC sender (quinn's path counters) showed over a run.
#[derive(Clone, Copy)]
struct Sender {
    /// The congestion window at the end, bytes.
    cwnd_bytes: u64,
    /// The smoothed round trip over the run, median and 90th percentile of the samples.
    rtt_p50: Duration,
    rtt_p90: Duration,
    /// The least round trip.
    min_rtt: Duration,
    /// Packets sent, and lost (QUIC retransmitted what they held).
    sent_packets: u64,
    lost_packets: u64,
}

impl Sender {
    /// The sender's counters at the end of a run, with the round trips sampled during it.
    fn of(link: &Link, rtts: &[Duration]) -> Option<Self> {
        let stats = link.connection_stats()?;
        let mut rtts = rtts.to_vec();
        rtts.sort();
        let rank = |p: usize| {
            let i = (rtts.len() * p).div_ceil(100).saturating_sub(1);
            rtts.get(i).copied().unwrap_or(stats.path.rtt)
        };
        Some(Self {
            cwnd_bytes: stats.path.cwnd,
            rtt_p50: rank(50),
            rtt_p90: rank(90),
            min_rtt: stats.path.min_rtt,
            sent_packets: stats.path.sent_packets,
            lost_packets: stats.path.lost_packets,
        })
    }

    /// "cwnd KB; RTT p50 / p90 / least ms; lost of sent packets".
    fn text(&self) -> String {
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        format!(
            "{:.0} KB; {:.1} / {:.1} / {:.1} ms; {} of {}",
            self.cwnd_bytes as f64 / 1e3,
            ms(self.rtt_p50),
            ms(self.rtt_p90),
            ms(self.min_rtt),
            self.lost_packets,
            self.sent_packets,
        )
    }
}

/// Samples `link`'s smoothed round trip every [`SENDER_SAMPLE_EVERY`] until aborted.
fn sample_rtt(link: Link) -> (tokio::task::JoinHandle<()>, Rc<RefCell<Vec<Duration>>>) {
    let samples = Rc::new(RefCell::new(Vec::new()));
    let kept = samples.clone();
    let task = actix::spawn(async move {
        loop {
            if let Some(stats) = link.connection_stats()
                && kept.borrow().len() < SENDER_SAMPLES_MAX
            {
                kept.borrow_mut().push(stats.path.rtt);
            }
            tokio::time::sleep(SENDER_SAMPLE_EVERY).await;
        }
    });
    (task, samples)
}

/// What every link run shares.
struct Bench {
    dir: PathBuf,
    keys: Keys,
    parties: Parties,
    submissions: Vec<SignedSettlementSubmission>,
    requests: Vec<Vec<u8>>,
    digests: Vec<u64>,
    /// The ATM sockets' threads: the clearing house's end, then the acquirer's.
    hosts: [AtmHost; 2],
}

/// The parts a run prints.
struct Parts {
    capacity: bool,
    goodput: bool,
    loss: bool,
    oc12c: bool,
}

impl Parts {
    fn from_args() -> anyhow::Result<Self> {
        let args: Vec<String> = std::env::args().skip(1).collect();
        let all = args.is_empty();
        for arg in &args {
            anyhow::ensure!(
                ["capacity", "goodput", "loss", "oc12c"].contains(&arg.as_str()),
                "unknown part {arg:?}: capacity, goodput, loss or oc12c"
            );
        }
        let has = |name: &str| all || args.iter().any(|arg| arg == name);
        Ok(Self {
            capacity: has("capacity"),
            goodput: has("goodput"),
            loss: has("loss"),
            oc12c: has("oc12c"),
        })
    }
}

fn main() -> anyhow::Result<()> {
    let parts = Parts::from_args()?;
    if parts.capacity {
        capacity()?;
    }
    let dir = std::env::temp_dir().join(format!("semper-bench-atm-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let result = actix::System::new().block_on(links(&dir, &parts));
    let _ = std::fs::remove_dir_all(&dir);
    result
}

/// Part 1: the emulator's cell rate on one thread.
fn capacity() -> anyhow::Result<()> {
    let config = CircuitConfig {
        line: LineRate::Oc12c,
        ..CircuitConfig::default()
    };
    let oc3c = LineRate::Oc3c.cells_per_s() as f64;
    let oc12c = LineRate::Oc12c.cells_per_s() as f64;
    println!(
        "## The emulator's capacity\n\nOne thread, simulated time: AAL5 segmentation, an OC-12c \
         circuit end (CBR at the line rate, shaped, no impairments; cells encoded with their \
         HEC), then the far end's HEC check and reassembly; every frame compared with what was \
         sent. Up to {CAPACITY_FRAMES_MAX} frames or {} s per size.\n",
        CAPACITY_TIME_MAX.as_secs()
    );
    println!(
        "| frame (AAL5 payload) bytes | frames | cells | cells/s | × OC-3c ({oc3c:.0} cells/s) | \
         × OC-12c | target | sending side alone: cells/s (× OC-3c) | receiving side alone: \
         cells/s (× OC-3c) |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut last_ns_per_cell = 0.0;
    for frame_bytes in CAPACITY_FRAME_BYTES {
        let run = cells_through(&config, frame_bytes, CAPACITY_FRAMES_MAX, CAPACITY_TIME_MAX)?;
        let rate = run.cells_per_s();
        last_ns_per_cell = 1e9 / rate;
        println!(
            "| {frame_bytes} | {} | {} | {rate:.0} | {:.1} | {:.2} | ≥ {CAPACITY_TARGET_X_OC3C:.0} × OC-3c: \
             {} | {:.0} ({:.1}) | {:.0} ({:.1}) |",
            run.frames,
            run.cells,
            rate / oc3c,
            rate / oc12c,
            verdict(rate / oc3c >= CAPACITY_TARGET_X_OC3C),
            run.sent_cells_per_s(),
            run.sent_cells_per_s() / oc3c,
            run.received_cells_per_s(),
            run.received_cells_per_s() / oc3c,
        );
    }
    let pdu_bytes = cells_for_payload(CAPACITY_FRAME_BYTES[1]) * CELL_PAYLOAD_BYTES;
    let crate_bytes_per_s = crc32_bytes_per_s(semper_atm::crc::crc32, pdu_bytes, CRC_TIME_MAX);
    let ours_bytes_per_s = crc32_bytes_per_s(crc32_sliced_by_8, pdu_bytes, CRC_TIME_MAX);
    let ns_per_cell = |bytes_per_s: f64| 1e9 * CELL_PAYLOAD_BYTES as f64 / bytes_per_s;
    println!(
        "\nThe AAL5 CRC-32 alone ({pdu_bytes}-byte PDUs): the `crc` crate's slicing-by-16 \
         (`semper_atm::crc`) {:.0} MB/s, {:.0} ns per cell payload; the hand-written \
         slicing-by-8 it replaced {:.0} MB/s, {:.0} ns. It runs twice per cell (to send, to \
         check): {:.0} ns of the {last_ns_per_cell:.0} ns each cell took in the last run above.\n",
        crate_bytes_per_s / 1e6,
        ns_per_cell(crate_bytes_per_s),
        ours_bytes_per_s / 1e6,
        ns_per_cell(ours_bytes_per_s),
        2.0 * ns_per_cell(crate_bytes_per_s),
    );
    Ok(())
}

/// Parts 2, 3 and 4: settlement over the links.
async fn links(dir: &Path, parts: &Parts) -> anyhow::Result<()> {
    let keys = Keys::generate();
    // One acquirer: one circuit to the clearing house, whose rate is the reference.
    let submissions = submissions(&keys, RUN_SUBMISSIONS, 1)?;
    let requests: Vec<Vec<u8>> = submissions.iter().map(submit_request).collect();
    let digests = requests.iter().map(|r| digest(r)).collect();
    let bench = Bench {
        dir: dir.to_path_buf(),
        keys,
        parties: Parties::generate()?,
        submissions,
        requests,
        digests,
        hosts: [AtmHost::start()?, AtmHost::start()?],
    };
    let mut index = 0;
    if parts.goodput {
        goodput(&bench, &mut index).await?;
    }
    if parts.loss {
        loss(&bench, &mut index).await?;
    }
    if parts.oc12c {
        oc12c(&bench, &mut index).await?;
    }
    Ok(())
}

/// Part 2: settlement over OC-3c with no loss, beside plain QUIC.
async fn goodput(bench: &Bench, index: &mut usize) -> anyhow::Result<()> {
    let mut next = || {
        *index += 1;
        *index
    };
    let line_bps = circuit_payload_bps(LineRate::Oc3c);
    println!(
        "## Settlement goodput over emulated OC-3c, no loss\n\nOne acquirer, one `Link`, \
         {IN_FLIGHT} submissions in flight, up to {RUN_SUBMISSIONS} submissions of \
         {SUBMISSION_DEPOSITS} deposits ({} bytes each as a link request); no new one after \
         {} s. ATM: `AtmSocket::bind_udp` on 127.0.0.1 at both ends, OC-3c, CBR at the line \
         rate, shaped, no impairments; the sockets' tasks on a thread per end. Goodput: request \
         bytes answered per second, as a share of the circuit's cell payload rate \
         {:.1} Mb/s (353,207 cells/s × 48 bytes). Latency: request to answer, per submission \
         (p99 of {RUN_SUBMISSIONS} is the slowest). Cells and frames: `AtmSocket::stats()` over \
         the timed part.\n",
        bench.requests[0].len(),
        RUN_SEND_TIME_MAX.as_secs(),
        line_bps / 1e6
    );
    println!(
        "| carrier | served by | submissions | goodput Mb/s | share of {:.1} | answers kb/s | \
         latency p50 / p99 ms | acquirer → CH: cells / frames | CH → acquirer: cells / frames \
         | line busy | request bytes per cell payload byte | host UDP receive-buffer drops | \
         sender: line busy; cwnd; RTT p50 / p90 / least; packets lost of sent |",
        line_bps / 1e6
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let lossless = atm_config(LineRate::Oc3c, 0.0, 0);
    let mut atm_shares = Vec::new();
    for target in [Target::Clearing, Target::Sink] {
        for (label, carrier) in [
            ("plain QUIC, loopback UDP", Carrier::Quic),
            (
                "ATM OC-3c, before",
                Carrier::Atm(lossless.clone(), Setting::Before.transport(&lossless)),
            ),
            (
                "ATM OC-3c, after",
                Carrier::Atm(lossless.clone(), Setting::After.transport(&lossless)),
            ),
        ] {
            let run = measure(bench, next(), &carrier, target).await?;
            if let Carrier::Atm(..) = carrier {
                atm_shares.push((label, target, run.goodput_bps() / line_bps));
            }
            println!(
                "| {label} | {} | {} | {:.1} | {:.0} % | {:.1} | {} | {} | {} | {} | {} | {} | {} |",
                target.label(),
                run.submissions,
                run.goodput_bps() / 1e6,
                100.0 * run.goodput_bps() / line_bps,
                run.answer_bytes as f64 * 8.0 / run.elapsed.as_secs_f64() / 1e3,
                run.latency_ms(),
                cells_frames(run.acquirer.as_ref()),
                cells_frames(run.clearing.as_ref()),
                run.line_busy(),
                run.payload_per_cell_byte(),
                run.udp_drops_text(),
                run.sender_text(),
            );
        }
    }
    println!(
        "\ntarget: goodput over ATM OC-3c ≥ {:.0} % of {:.1} Mb/s",
        GOODPUT_TARGET_SHARE * 100.0,
        line_bps / 1e6
    );
    for (label, target, share) in atm_shares {
        println!(
            "- {label}, {}: {:.0} %, {}",
            target.label(),
            100.0 * share,
            verdict(share >= GOODPUT_TARGET_SHARE)
        );
    }
    println!();

    println!();
    Ok(())
}

/// Part 3: OC-3c against cell loss and delay, each setting side by side, to the clearing house.
async fn loss(bench: &Bench, index: &mut usize) -> anyhow::Result<()> {
    let line_bps = circuit_payload_bps(LineRate::Oc3c);
    println!(
        "## Goodput and latency against cell loss\n\nAs above, to the clearing house, over ATM \
         OC-3c with the cell-loss ratio (CLR) and one-way propagation delay given, the same at \
         both ends (seed {SEED}); each row runs the link's sender three ways: {}; {}; {}; in \
         {LOSS_ROUNDS} rounds, each round in another order. Goodput: the median round in Mb/s, \
         as a share of {:.1} Mb/s, and the range of the rounds; latency p50 / p99 in ms, cells \
         lost (by the line, each direction) and frames dropped (by reassembly, at each end): \
         the median round's. Submissions: all rounds', each answered exactly once (checked). \
         Host UDP receive-buffer drops: all rounds'.\n",
        Setting::Before.label(),
        Setting::Bbr.label(),
        Setting::After.label(),
        line_bps / 1e6,
    );
    println!(
        "| CLR | delay ms (one way) | before: goodput | before: latency | BBR: goodput | BBR: \
         latency | after: goodput | after: latency | submissions, each answered once: before / \
         BBR / after | after: cells lost → CH / → acquirer | after: frames dropped at CH / at \
         acquirer | host UDP receive-buffer drops before / BBR / after |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut verdicts = Vec::new();
    let mut no_regression = Vec::new();
    let mut senders = Vec::new();
    let mut answered = 0;
    for delay_ms in DELAYS_MS {
        for clr in CELL_LOSS_RATIOS {
            let circuit = atm_config(LineRate::Oc3c, clr, delay_ms);
            let mut rounds: [Vec<Run>; 3] = Default::default();
            for round in 0..LOSS_ROUNDS {
                // Each setting in each place of the order once every three rounds, so that a
                // drift of the host's load favours none.
                for k in 0..Setting::ALL.len() {
                    let i = (round + k) % Setting::ALL.len();
                    *index += 1;
                    let setting = Setting::ALL[i];
                    let carrier = Carrier::Atm(circuit.clone(), setting.transport(&circuit));
                    rounds[i].push(measure(bench, *index, &carrier, Target::Clearing).await?);
                }
            }
            answered += rounds
                .iter()
                .flatten()
                .map(|run| run.submissions)
                .sum::<usize>();
            let medians = rounds.each_ref().map(|runs| median_run(runs));
            let [before, bbr, after] = medians;
            let (to, from) = (
                after.acquirer.unwrap_or_default(),
                after.clearing.unwrap_or_default(),
            );
            let goodput = |runs: &[Run]| {
                let shares = runs.iter().map(|run| 100.0 * run.goodput_bps() / line_bps);
                let (low, high) =
                    shares.fold((f64::MAX, 0.0_f64), |(l, h), x| (l.min(x), h.max(x)));
                let median = median_run(runs).goodput_bps();
                format!(
                    "{:.1} ({:.0} %; {low:.0}–{high:.0} %)",
                    median / 1e6,
                    100.0 * median / line_bps
                )
            };
            let submitted = |runs: &[Run]| runs.iter().map(|run| run.submissions).sum::<usize>();
            let drops = |runs: &[Run]| {
                runs.iter()
                    .map(|run| run.udp_drops)
                    .sum::<Option<u64>>()
                    .map_or("-".to_owned(), |n| n.to_string())
            };
            println!(
                "| {clr:e} | {delay_ms} | {} | {} | {} | {} | {} | {} | {} / {} / {} | {} / {} | {} / {} | {} / {} / {} |",
                goodput(&rounds[0]),
                before.latency_ms(),
                goodput(&rounds[1]),
                bbr.latency_ms(),
                goodput(&rounds[2]),
                after.latency_ms(),
                submitted(&rounds[0]),
                submitted(&rounds[1]),
                submitted(&rounds[2]),
                to.cells_lost,
                from.cells_lost,
                from.frames_dropped,
                to.frames_dropped,
                drops(&rounds[0]),
                drops(&rounds[1]),
                drops(&rounds[2]),
            );
            senders.push(format!(
                "| {clr:e} | {delay_ms} | {} | {} | {} |",
                before.sender_text(),
                bbr.sender_text(),
                after.sender_text()
            ));
            let share = |run: &Run| run.goodput_bps() / line_bps;
            if NO_REGRESSION_CLRS.contains(&clr) {
                no_regression.push((clr, delay_ms, share(before), share(after)));
            }
            if delay_ms == LOSS_TARGET_DELAY_MS {
                for (target_clr, target) in LOSS_TARGETS {
                    if clr == target_clr {
                        verdicts.push((clr, target, share(after)));
                    }
                }
            }
        }
    }
    println!(
        "\nThe acquirer's QUIC sender in the median round (quinn's path counters; the round trip \
         sampled every {} ms while it sent): the share of the line's time its cells took, the \
         congestion window at the end, the smoothed RTT's median and 90th percentile over the \
         run and the least RTT, and the packets lost of those sent.\n",
        SENDER_SAMPLE_EVERY.as_millis()
    );
    println!("| CLR | delay ms (one way) | before | BBR | after |");
    println!("| --- | --- | --- | --- | --- |");
    for row in senders {
        println!("{row}");
    }
    println!(
        "\nevery submission answered exactly once: {answered} submissions in {} runs, each with \
         one answer, one call of the clearing house's handler, a verified receipt claiming all \
         of it, and the cut report owing exactly what was submitted",
        CELL_LOSS_RATIOS.len() * DELAYS_MS.len() * Setting::ALL.len() * LOSS_ROUNDS
    );
    println!("\ntargets with {LOSS_TARGET_DELAY_MS} ms one way, after (median round):");
    for (clr, target, share) in verdicts {
        println!(
            "- CLR {clr:e}: {:.0} % of the line, target ≥ {:.0} %: {}",
            100.0 * share,
            100.0 * target,
            verdict(share >= target)
        );
    }
    println!("\nno loss of goodput, after against before in this run (median rounds):");
    for (clr, delay_ms, before, after) in no_regression {
        println!(
            "- CLR {clr:e}, {delay_ms} ms: after {:.0} %, before {:.0} %: {}",
            100.0 * after,
            100.0 * before,
            verdict(after >= before)
        );
    }
    println!();
    Ok(())
}

/// The run of median goodput among `runs` (the upper one of an even count).
fn median_run(runs: &[Run]) -> &Run {
    let mut sorted: Vec<&Run> = runs.iter().collect();
    sorted.sort_by(|a, b| a.goodput_bps().total_cmp(&b.goodput_bps()));
    sorted[sorted.len() / 2]
}

/// Part 4: settlement over OC-12c with no loss, before and after, to both servers.
async fn oc12c(bench: &Bench, index: &mut usize) -> anyhow::Result<()> {
    let line_bps = circuit_payload_bps(LineRate::Oc12c);
    println!(
        "## Settlement over emulated OC-12c, no loss\n\nAs the OC-3c goodput table, over OC-12c \
         (CBR at the line rate, shaped); goodput as a share of its cell payload rate {:.1} Mb/s.\n",
        line_bps / 1e6
    );
    println!(
        "| delay ms (one way) | served by | setting | submissions | goodput Mb/s | share of {:.1} \
         | latency p50 / p99 ms | line busy | host UDP receive-buffer drops | sender: \
         line busy; cwnd; RTT p50 / p90 / least; packets lost of sent |",
        line_bps / 1e6
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for delay_ms in DELAYS_MS {
        for target in [Target::Clearing, Target::Sink] {
            for setting in [Setting::Before, Setting::After] {
                let circuit = atm_config(LineRate::Oc12c, 0.0, delay_ms);
                *index += 1;
                let carrier = Carrier::Atm(circuit.clone(), setting.transport(&circuit));
                let run = measure(bench, *index, &carrier, target).await?;
                println!(
                    "| {delay_ms} | {} | {} | {} | {:.1} | {:.0} % | {} | {} | {} | {} |",
                    target.label(),
                    setting.label(),
                    run.submissions,
                    run.goodput_bps() / 1e6,
                    100.0 * run.goodput_bps() / line_bps,
                    run.latency_ms(),
                    run.line_busy(),
                    run.udp_drops_text(),
                    run.sender_text(),
                );
            }
        }
    }
    println!();
    Ok(())
}

/// The circuit of the link runs: `line`, CBR at the line rate, shaped, with `clr` and
/// `delay_ms`.
fn atm_config(line: LineRate, clr: f64, delay_ms: u64) -> CircuitConfig {
    CircuitConfig {
        line,
        impairments: ImpairmentConfig {
            delay_ms,
            cell_loss_ratio: clr,
            ..ImpairmentConfig::default()
        },
        seed: SEED,
        ..CircuitConfig::default()
    }
}

/// How a measure compares with its target.
fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "not met" }
}

/// What one circuit on `line` carries in cell payloads, bits per second.
fn circuit_payload_bps(line: LineRate) -> f64 {
    (line.cells_per_s() * CELL_PAYLOAD_BYTES as u64 * 8) as f64
}

/// "cells / frames" sent, or a dash without an ATM socket.
fn cells_frames(stats: Option<&AtmStats>) -> String {
    stats.map_or("-".to_owned(), |s| {
        format!("{} / {}", s.cells_sent, s.frames_sent)
    })
}

impl Bench {
    /// A socket for one end of `carrier` (0: the clearing house's, 1: the acquirer's), and the
    /// ATM socket behind it if there is one.
    fn socket(
        &self,
        carrier: &Carrier,
        end: usize,
    ) -> anyhow::Result<(LinkSocket, Option<Arc<AtmSocket>>)> {
        Ok(match carrier {
            Carrier::Quic => (
                LinkSocket::Bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))),
                None,
            ),
            Carrier::Atm(config, _) => {
                let socket = self.hosts[end].bind(config.clone())?;
                (LinkSocket::Custom(socket.clone()), Some(socket))
            }
        })
    }
}

/// A node serving one run's link.
enum Node {
    Clearing(LinkedClearing),
    Sink(LinkNode<Arc<DigestSink>>),
}

/// One run: the submissions over `carrier` to `target`, checked.
async fn measure(
    bench: &Bench,
    index: usize,
    carrier: &Carrier,
    target: Target,
) -> anyhow::Result<Run> {
    let (server_socket, server_atm) = bench.socket(carrier, 0)?;
    let (client_socket, client_atm) = bench.socket(carrier, 1)?;
    let parties = &bench.parties;
    let (node, clearing_key) = match target {
        Target::Clearing => {
            let config = clearing_config(&bench.dir.join(format!("run-{index}")), &bench.keys);
            let key = ClearingState::provision(&config.data_dir)?;
            let node = LinkedClearing::start_clearing(
                config,
                server_socket,
                parties,
                carrier.transport(),
            )?;
            (Node::Clearing(node), Some(key))
        }
        Target::Sink => {
            let node = LinkNode::start(
                server_socket,
                parties.clearing.clone(),
                parties.trust.clone(),
                carrier.transport(),
                || {
                    let sink = Arc::new(DigestSink::default());
                    let handler: Arc<dyn Handler> = sink.clone();
                    Ok((handler, sink))
                },
            )?;
            (Node::Sink(node), None)
        }
    };
    let addr = match &node {
        Node::Clearing(node) => node.addr,
        Node::Sink(node) => node.addr,
    };
    let mut config = LinkConfig::new(
        addr,
        CLEARING,
        parties.acquirers[0].clone(),
        parties.trust.clone(),
    );
    config.limits = Limits {
        request_timeout: REQUEST_TIMEOUT,
        max_in_flight: IN_FLIGHT,
    };
    config.transport = carrier.transport();
    let link = Link::connect_on(client_socket, config).await?;

    let stats = || {
        (
            client_atm.as_ref().map(|s| s.stats()),
            server_atm.as_ref().map(|s| s.stats()),
        )
    };
    let before = stats();
    let udp_drops_before = udp_receive_buffer_drops();
    let (sampler, samples) = sample_rtt(link.clone());
    let started = Instant::now();
    let answers = in_flight(
        IN_FLIGHT,
        bench
            .requests
            .iter()
            .take_while(|_| started.elapsed() < RUN_SEND_TIME_MAX)
            .map(|request| {
                let link = link.clone();
                let request = request.clone();
                async move {
                    let sent = Instant::now();
                    let answer = link.request(request).await?;
                    anyhow::Ok((answer, sent.elapsed()))
                }
            }),
    )
    .await?;
    let elapsed = started.elapsed();
    sampler.abort();
    let after = stats();
    let udp_drops = udp_receive_buffer_drops()
        .zip(udp_drops_before)
        .map(|(after, before)| after.saturating_sub(before));

    let sender = Sender::of(&link, &samples.borrow());
    let sent = answers.len();
    let calls = match (&node, clearing_key) {
        (Node::Clearing(node), Some(key)) => {
            let receipts = answers
                .iter()
                .map(|(answer, _)| receipt_of(answer))
                .collect::<anyhow::Result<Vec<_>>>()?;
            check_receipts(&receipts, &bench.submissions[..sent], &key)?;
            check_report(
                &node.inner.handle.cut_cycle().await?,
                &bench.submissions[..sent],
            )?;
            &node.inner.calls
        }
        (Node::Sink(node), _) => {
            for ((answer, _), digest) in answers.iter().zip(&bench.digests) {
                anyhow::ensure!(
                    answer.as_slice() == digest.to_be_bytes(),
                    "the sink answered a request with another's digest"
                );
            }
            &node.inner.counts
        }
        (Node::Clearing(_), None) => anyhow::bail!("a clearing house without its key"),
    };
    // Each request sent was handled once: one answer each (above), and one call of the
    // server's handler each, none of a request that was not sent.
    for (i, digest) in bench.digests.iter().enumerate() {
        let expected = u32::from(i < sent);
        let handled = calls.calls(*digest);
        anyhow::ensure!(
            handled == expected,
            "submission {i} was handled {handled} times, expected {expected}"
        );
    }
    link.close().await;
    match node {
        Node::Clearing(node) => node.stop()?,
        Node::Sink(node) => node.stop()?,
    }
    Ok(Run {
        submissions: sent,
        elapsed,
        latencies: answers.iter().map(|(_, latency)| *latency).collect(),
        request_bytes: bench.requests[..sent].iter().map(|r| r.len() as u64).sum(),
        answer_bytes: answers.iter().map(|(a, _)| a.len() as u64).sum(),
        acquirer: growth(before.0, after.0),
        clearing: growth(before.1, after.1),
        udp_drops,
        line: carrier.line(),
        sender,
    })
}

/// What the counters this benchmark prints grew by from `before` to `after`.
fn growth(before: Option<AtmStats>, after: Option<AtmStats>) -> Option<AtmStats> {
    let (b, a) = (before?, after?);
    Some(AtmStats {
        frames_sent: a.frames_sent - b.frames_sent,
        cells_sent: a.cells_sent - b.cells_sent,
        cells_lost: a.cells_lost - b.cells_lost,
        frames_dropped: a.frames_dropped - b.frames_dropped,
        datagrams_rejected: a.datagrams_rejected - b.datagrams_rejected,
        ..AtmStats::default()
    })
}

impl Run {
    /// Request bytes answered per second, in bits.
    fn goodput_bps(&self) -> f64 {
        self.request_bytes as f64 * 8.0 / self.elapsed.as_secs_f64()
    }

    /// "p50 / p99" of the latencies, in milliseconds (nearest rank).
    fn latency_ms(&self) -> String {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let rank = |p: usize| {
            let i = (sorted.len() * p).div_ceil(100).saturating_sub(1);
            sorted.get(i).map_or(0.0, |d| d.as_secs_f64() * 1e3)
        };
        format!("{:.0} / {:.0}", rank(50), rank(99))
    }

    /// The share of the acquirer's line time its cells took, or a dash.
    fn line_busy(&self) -> String {
        self.acquirer.map_or("-".to_owned(), |s| {
            let capacity = self.elapsed.as_secs_f64() * self.line.cells_per_s() as f64;
            format!("{:.0} %", 100.0 * s.cells_sent as f64 / capacity)
        })
    }

    /// The line's busy share and the sender's counters, or a dash.
    fn sender_text(&self) -> String {
        self.sender.map_or("-".to_owned(), |s| {
            format!("{}; {}", self.line_busy(), s.text())
        })
    }

    /// The host's UDP receive-buffer drops, or a dash where the host does not count them.
    fn udp_drops_text(&self) -> String {
        self.udp_drops.map_or("-".to_owned(), |n| n.to_string())
    }

    /// Request bytes per byte of cell payload the acquirer sent, or a dash.
    fn payload_per_cell_byte(&self) -> String {
        self.acquirer.map_or("-".to_owned(), |s| {
            let payload = (s.cells_sent * CELL_PAYLOAD_BYTES as u64).max(1);
            format!("{:.3}", self.request_bytes as f64 / payload as f64)
        })
    }
}
