//! The process-wide Prometheus recorder: every series the server's crates record, described with
//! its unit and help, each histogram rendered as a real histogram with buckets, and the upkeep
//! that folds samples into buckets even when nobody scrapes.
//!
//! Each crate names its own series once (`semper_storage::metrics`, `semper_actors::metrics`,
//! `semper_link::metrics`, `crate::http`); this table only describes them. Install the recorder
//! before starting the nodes: committers, actors and links take their handles when they start.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::Unit;
use metrics_exporter_prometheus::{BuildError, Matcher, PrometheusBuilder, PrometheusHandle};
use semper_actors::metrics as actors;
use semper_link::metrics as link;
use semper_storage::metrics as storage;

use crate::http::clients::{HTTP_CLIENT_REQUESTS_REFUSED_TOTAL, HTTP_CONNECTIONS_REFUSED_TOTAL};
use crate::http::{HTTP_REQUEST_DURATION_SECONDS, HTTP_REQUESTS_TOTAL};

/// Bucket bounds of every time histogram, in seconds: 50 µs to 10 s.
pub const SECONDS_BUCKETS: &[f64] = &[
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0, 10.0,
];
/// Bucket bounds of every size histogram (coins, transactions): the powers of two, 1 to 4096.
pub const SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];
/// How often samples are folded into their buckets between scrapes, so they never pile up.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// The series every node exposes from its start, whatever its roles: each has a store with its
/// committer, and an actor with its mailbox. For the test that scrapes `/metrics`.
pub const REQUIRED_SERIES: &[&str] = &[
    storage::COMMIT_SECONDS,
    storage::COMMIT_GROUP_TRANSACTIONS,
    actors::ACTOR_MAILBOX_DEPTH,
];

/// How a series is kept and rendered.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Counter,
    Gauge,
    /// A histogram with these bucket bounds.
    Histogram(&'static [f64]),
}

/// One series: its name, kind, unit and help text.
struct Series {
    name: &'static str,
    kind: Kind,
    unit: Unit,
    help: &'static str,
}

const fn counter(name: &'static str, help: &'static str) -> Series {
    Series {
        name,
        kind: Kind::Counter,
        unit: Unit::Count,
        help,
    }
}

const fn gauge(name: &'static str, help: &'static str) -> Series {
    Series {
        name,
        kind: Kind::Gauge,
        unit: Unit::Count,
        help,
    }
}

const fn seconds(name: &'static str, help: &'static str) -> Series {
    Series {
        name,
        kind: Kind::Histogram(SECONDS_BUCKETS),
        unit: Unit::Seconds,
        help,
    }
}

const fn sizes(name: &'static str, help: &'static str) -> Series {
    Series {
        name,
        kind: Kind::Histogram(SIZE_BUCKETS),
        unit: Unit::Count,
        help,
    }
}

/// Every series the server records.
const SERIES: &[Series] = &[
    // Storage.
    seconds(
        storage::COMMIT_SECONDS,
        "Time to write one commit group with its WAL fsync, by role.",
    ),
    sizes(
        storage::COMMIT_GROUP_TRANSACTIONS,
        "Transactions in one commit group (one fsync), by role.",
    ),
    gauge(
        storage::MEMORY_BYTES,
        "What RocksDB holds in memory for a role's DB, by role and kind (memtables, block_cache, \
         table_readers); refreshed by its committer at most once a second.",
    ),
    counter(
        storage::COMMIT_CONFLICTS,
        "Commit groups of a shared store applied again because another writer changed what \
         they read, by role.",
    ),
    counter(
        storage::SPENT_SHARD_COINS,
        "Coins sent to a shard group of the issuer's spent set, by shard.",
    ),
    seconds(
        storage::SPENT_SHARD_SECONDS,
        "Time for a shard group of the spent set to answer its part of a spend-check batch \
         (queue and durable write), by shard.",
    ),
    // The actors.
    gauge(
        actors::ACTOR_MAILBOX_DEPTH,
        "Messages waiting in an actor's mailbox, by actor.",
    ),
    sizes(
        actors::ISSUER_SPEND_CHECK_COINS,
        "Coins per spend-check batch.",
    ),
    seconds(
        actors::ISSUER_SPEND_CHECK_VERIFY_SECONDS,
        "Time to check and verify one spend-check batch.",
    ),
    sizes(
        actors::ISSUER_WITHDRAW_COINS,
        "Coins per withdrawal signed.",
    ),
    seconds(
        actors::ISSUER_BLIND_SIGN_SECONDS,
        "Time to blind-sign one withdrawal's coins.",
    ),
    counter(
        actors::SIGNER_SIGNATURES,
        "Blind signatures made by a denomination key, as its signer's journal counts them.",
    ),
    counter(
        actors::SIGNER_KEYS_DESTROYED,
        "Denomination keys the signer destroyed once their window closed (or revoked).",
    ),
    seconds(
        actors::SIGNER_ROUND_TRIP_SECONDS,
        "Round trip of a call to the signer in another process, by request.",
    ),
    counter(
        actors::SIGNER_CALL_ERRORS,
        "Calls to the signer in another process that failed, by code.",
    ),
    sizes(
        actors::ACQUIRER_MICRO_BATCH_COINS,
        "Coins per deposit micro-batch.",
    ),
    seconds(
        actors::ACQUIRER_VERIFY_SECONDS,
        "Time to verify one deposit micro-batch.",
    ),
    counter(actors::ACQUIRER_DEPOSITS, "Deposits answered, by outcome."),
    counter(
        actors::ACQUIRER_COINS,
        "Deposited coins answered, by result.",
    ),
    gauge(
        actors::ACQUIRER_OUTBOX_DEPTH,
        "Confirmations waiting in the settlement outbox.",
    ),
    counter(
        actors::ACQUIRER_SUBMISSIONS,
        "Settlement submissions answered by the clearing house, by outcome.",
    ),
    counter(actors::CLEARING_CYCLES, "Settlement cycles cut."),
    counter(
        actors::CLEARING_CUT_FAILURES,
        "Cycle cut-offs that failed, by code; the cycle stays open.",
    ),
    counter(
        actors::CLEARING_SUBMISSIONS,
        "Settlement submissions answered, by result.",
    ),
    counter(
        actors::CLEARING_CLAIMS,
        "Confirmations claimed into a cycle.",
    ),
    counter(
        actors::CLEARING_CLAIMS_REFUSED,
        "Confirmations not claimed, by code.",
    ),
    counter(
        actors::CLEARING_REPORT_DELIVERIES,
        "Settlement report deliveries to participants, by result.",
    ),
    counter(
        actors::RECONCILE_DISCREPANCIES,
        "Discrepancies found in settlement reports, by role and kind.",
    ),
    // The inter-bank link.
    seconds(
        link::LINK_REQUEST_SECONDS,
        "Round-trip time of an answered request to a peer bank, by peer.",
    ),
    counter(
        link::LINK_REQUESTS,
        "Requests to a peer bank, by peer and result.",
    ),
    counter(
        link::LINK_RECONNECTS,
        "Connections to a peer bank made after the first, by peer.",
    ),
    gauge(
        link::LINK_HANDSHAKES_IN_PROGRESS,
        "Link handshakes under way from validated addresses, not yet authenticated.",
    ),
    counter(
        link::LINK_HANDSHAKES,
        "Link handshakes ended, by result: retried, refused_busy, refused_address, timed_out, \
         failed, unknown_peer, authenticated.",
    ),
    gauge(
        link::LINK_CONNECTIONS_OPEN,
        "Link connection slots in use: authenticated peers being served.",
    ),
    counter(
        link::LINK_CONNECTIONS,
        "Authenticated link peers taken (accepted) or refused for want of a slot (refused_full).",
    ),
    gauge(
        link::LINK_CERTIFICATE_EXPIRY_SECONDS,
        "Seconds until a link certificate expires, by bank: this process's own, and each peer's \
         latest pinned one.",
    ),
    // The HTTP API.
    counter(
        HTTP_REQUESTS_TOTAL,
        "HTTP requests answered, by endpoint, method and status.",
    ),
    seconds(
        HTTP_REQUEST_DURATION_SECONDS,
        "Time to answer an HTTP request, by endpoint, method and status.",
    ),
    counter(
        HTTP_CONNECTIONS_REFUSED_TOTAL,
        "HTTP connections closed as they opened: their client address had its most connections.",
    ),
    counter(
        HTTP_CLIENT_REQUESTS_REFUSED_TOTAL,
        "HTTP requests answered busy: their client address had its most requests in progress.",
    ),
];

/// Why the recorder could not be installed. Each variant has a stable [`MetricsError::code`].
#[derive(Clone, Debug, thiserror::Error)]
pub enum MetricsError {
    /// A histogram's bucket bounds were refused.
    #[error("bad bucket bounds for {name}: {reason}")]
    Buckets {
        /// The series.
        name: &'static str,
        /// Why, as the exporter says.
        reason: String,
    },
    /// Another recorder is already installed in this process.
    #[error("another metrics recorder is installed in this process")]
    RecorderTaken,
    /// The recorder could not be built or installed.
    #[error("the metrics recorder could not be installed: {0}")]
    Install(String),
    /// The upkeep thread could not be started.
    #[error("the metrics upkeep thread could not start: {0}")]
    Upkeep(String),
}

impl MetricsError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Buckets { .. } => "metrics.buckets",
            Self::RecorderTaken => "metrics.recorder_taken",
            Self::Install(_) => "metrics.install",
            Self::Upkeep(_) => "metrics.upkeep",
        }
    }
}

/// Renders what the process-wide recorder holds, as Prometheus text. Cloning shares it.
#[derive(Clone, Debug)]
pub struct MetricsExporter {
    handle: PrometheusHandle,
}

impl MetricsExporter {
    /// Every series recorded so far, in the Prometheus text format.
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// Installs the process-wide Prometheus recorder (once; a second call returns the same handle)
/// and describes every series.
pub fn install() -> Result<MetricsExporter, MetricsError> {
    static INSTALLED: OnceLock<Result<MetricsExporter, MetricsError>> = OnceLock::new();
    INSTALLED.get_or_init(install_once).clone()
}

fn install_once() -> Result<MetricsExporter, MetricsError> {
    let handle = builder()?.install_recorder().map_err(|error| match error {
        BuildError::FailedToSetGlobalRecorder(_) => MetricsError::RecorderTaken,
        other => MetricsError::Install(other.to_string()),
    })?;
    describe();
    let upkeep = handle.clone();
    std::thread::Builder::new()
        .name("semper-metrics-upkeep".to_owned())
        .spawn(move || {
            loop {
                std::thread::sleep(UPKEEP_INTERVAL);
                upkeep.run_upkeep();
            }
        })
        .map_err(|error| MetricsError::Upkeep(error.to_string()))?;
    Ok(MetricsExporter { handle })
}

/// A recorder builder with each histogram's buckets set, so none renders as a summary.
pub(crate) fn builder() -> Result<PrometheusBuilder, MetricsError> {
    SERIES
        .iter()
        .try_fold(PrometheusBuilder::new(), |builder, series| {
            let Kind::Histogram(buckets) = series.kind else {
                return Ok(builder);
            };
            builder
                .set_buckets_for_metric(Matcher::Full(series.name.to_owned()), buckets)
                .map_err(|error| MetricsError::Buckets {
                    name: series.name,
                    reason: error.to_string(),
                })
        })
}

/// Describes every series to the current recorder: its unit and help text.
pub(crate) fn describe() {
    for series in SERIES {
        let (name, unit, help) = (series.name, series.unit, series.help);
        match series.kind {
            Kind::Counter => metrics::describe_counter!(name, unit, help),
            Kind::Gauge => metrics::describe_gauge!(name, unit, help),
            Kind::Histogram(_) => metrics::describe_histogram!(name, unit, help),
        }
    }
}
