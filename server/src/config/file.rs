//! The config file's shape: what a TOML file (after environment overrides) deserializes into.
//! Every field has a default except the banks themselves; `config/embedded.toml` documents each.

use std::net::SocketAddr;
use std::path::PathBuf;

use semper_atm::CircuitConfig;
use semper_protocol::amount::Amount;
use semper_protocol::denomination::DenominationFees;
use semper_protocol::ids::BankId;
use serde::Deserialize;

use super::Secret;
use super::transport::TransportSection;

/// A whole config file: the process's settings and the banks it runs.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Data directory and logging.
    #[serde(default)]
    pub node: NodeSection,
    /// The HTTP API.
    #[serde(default)]
    pub http: HttpSection,
    /// Bounds of every inter-bank link.
    #[serde(default)]
    pub link: LinkSection,
    /// The banks this process runs, each with its roles.
    pub banks: Vec<BankSection>,
}

/// Process-wide settings.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NodeSection {
    /// Where every bank's DBs, keys and identity live, one directory per bank.
    pub data_dir: PathBuf,
    /// Log filter (`tracing` syntax); `RUST_LOG` overrides it.
    pub log: String,
    /// How long a stopping process lets work under way finish, in ms.
    pub shutdown_grace_ms: u64,
}

impl Default for NodeSection {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from("./data"),
            log: "info".into(),
            shutdown_grace_ms: 5_000,
        }
    }
}

/// The HTTP API's address, TLS, bounds and operator secret.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HttpSection {
    /// Where it listens (port 0 picks a free port).
    pub listen: SocketAddr,
    /// The server's certificate chain (PEM), relative to `node.data_dir` unless absolute; with
    /// `tls_key`, the API is served over HTTPS.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM, owner-only), relative to `node.data_dir` unless
    /// absolute.
    pub tls_key: Option<PathBuf>,
    /// Whether plain HTTP may listen on an address other than loopback (the operator's token
    /// would cross the network in clear).
    pub allow_plain_non_loopback: bool,
    /// Worker threads.
    pub workers: usize,
    /// Largest request body, in bytes.
    pub body_limit_bytes: usize,
    /// Requests in progress (bodies read) before new ones get 503.
    pub requests_in_flight_max: usize,
    /// Connections open at once across the server; more wait in the listen backlog.
    pub connections_max: usize,
    /// Connections open at once from one client address (an IPv6 client's /64); more are closed
    /// as they open.
    pub client_connections_max: usize,
    /// Requests in progress from one client address, body upload included; more get 503.
    pub client_requests_in_flight_max: usize,
    /// How long a client has to send a request's headers (or finish its TLS handshake), in ms;
    /// then 408 and closed.
    pub head_timeout_ms: u64,
    /// How long a client has to send a request's body, in ms; then 408 `request.timeout`.
    pub body_timeout_ms: u64,
    /// How long an idle kept-alive connection stays open, in ms.
    pub keep_alive_ms: u64,
    /// Coins of withdrawals and deposits in progress before new ones get 503.
    pub coins_in_flight_max: usize,
    /// The Retry-After of a 503, in seconds.
    pub retry_after_s: u32,
    /// Accounts one client address may open per minute without the operator token; more get 429.
    pub account_opens_per_client_per_min: u32,
    /// The operator token itself; prefer `operator_token_file` or the environment. Its `Debug`
    /// is redacted.
    pub operator_token: Option<Secret>,
    /// File holding the operator token, relative to `node.data_dir` unless absolute; created
    /// with a random token (owner-only) when missing.
    pub operator_token_file: PathBuf,
}

impl Default for HttpSection {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls_cert: None,
            tls_key: None,
            allow_plain_non_loopback: false,
            workers: 2,
            body_limit_bytes: 1 << 20,
            requests_in_flight_max: 1024,
            connections_max: 8192,
            client_connections_max: 256,
            client_requests_in_flight_max: 128,
            head_timeout_ms: 5_000,
            body_timeout_ms: 10_000,
            keep_alive_ms: 5_000,
            coins_in_flight_max: 4096,
            retry_after_s: 1,
            account_opens_per_client_per_min: 10,
            operator_token: None,
            operator_token_file: PathBuf::from("operator-token"),
        }
    }
}

/// Bounds of each inter-bank link.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LinkSection {
    /// How long a request may take, waiting for a slot and a connection included, in ms.
    pub request_timeout_ms: u64,
    /// Requests under way at once on one link.
    pub in_flight_max: usize,
    /// Days a new link certificate is valid.
    pub certificate_days: u32,
}

impl Default for LinkSection {
    fn default() -> Self {
        Self {
            request_timeout_ms: 10_000,
            in_flight_max: 256,
            certificate_days: 365,
        }
    }
}

/// One bank: its id, link address, peers and roles.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BankSection {
    /// A short name: the bank's directory under `node.data_dir`, and its label in logs.
    pub name: String,
    /// The bank's id, 32 hex digits.
    pub id: BankId,
    /// Where its link server listens (UDP; port 0 picks a free port).
    pub link_listen: SocketAddr,
    /// The link addresses its card lists, one per process that serves the bank's link (each
    /// process's own `link_listen`): peers that call it try them in turn. Empty (the default):
    /// the card lists none, and each peer's config gives the address.
    #[serde(default)]
    pub link_advertise: Vec<SocketAddr>,
    /// What its link server runs over: QUIC on `link_listen`, or the same QUIC over an emulated
    /// ATM circuit whose cells travel in UDP datagrams on `link_listen`.
    #[serde(default)]
    pub carrier: Carrier,
    /// The circuit of `carrier = "atm"`; every field has a default (OC-3c, CBR at line rate).
    pub atm: Option<CircuitConfig>,
    /// How its link server sends (answers, reports); the defaults depend on `carrier`.
    pub transport: Option<TransportSection>,
    /// Banks of other processes it knows, by their public cards.
    #[serde(default)]
    pub peers: Vec<PeerSection>,
    /// Where its role stores live: RocksDB under `node.data_dir` (the default) or PostgreSQL.
    #[serde(default)]
    pub storage: StorageKind,
    /// The libpq connection string of `storage = "postgres"` (each role a schema there). A
    /// secret: it may hold the password (best set by `SEMPER__BANKS__<n>__POSTGRES`).
    pub postgres: Option<Secret>,
    /// The issuer role.
    pub issuer: Option<IssuerSection>,
    /// The acquirer role.
    pub acquirer: Option<AcquirerSection>,
    /// The clearing role.
    pub clearing: Option<ClearingSection>,
}

/// Which backend holds a bank's role stores.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum StorageKind {
    /// An embedded RocksDB per role, under the bank's directory.
    #[default]
    Rocksdb,
    /// The PostgreSQL database of the bank's `postgres` connection string.
    Postgres,
}

impl BankSection {
    /// Where the bank's role stores live, when not in its directory (checked by the config's
    /// validation, so a `postgres` without a connection string cannot reach here).
    pub fn store_location(&self) -> Option<semper_storage::Location> {
        match (self.storage, &self.postgres) {
            (StorageKind::Postgres, Some(conninfo)) => Some(semper_storage::Location::Postgres(
                conninfo.expose().to_owned(),
            )),
            _ => None,
        }
    }
}

/// A bank of another process.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerSection {
    /// Its public card (`semper keys` writes it), relative to the config file unless absolute.
    pub card: PathBuf,
    /// Where its link server listens, in place of the addresses its card lists
    /// (`link_addrs`); one or the other is needed only for banks this one calls.
    pub addr: Option<SocketAddr>,
    /// What its link server runs over: the `carrier` of its own config.
    #[serde(default)]
    pub carrier: Carrier,
    /// The circuit of `carrier = "atm"`, from this end: by default this bank's own `atm` table,
    /// else every field's default.
    pub atm: Option<CircuitConfig>,
    /// How this bank's link to it sends; the defaults depend on `carrier`.
    pub transport: Option<TransportSection>,
}

/// What a bank's link runs over. Either way it is the same QUIC session with mutual TLS, so the
/// settlement code cannot tell them apart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Carrier {
    /// QUIC over UDP.
    #[default]
    Quic,
    /// QUIC over an emulated ATM circuit (classical IP over ATM: LLC/SNAP in AAL5), whose cells
    /// travel in UDP datagrams on loopback.
    Atm,
}

/// The circuit a carrier runs over: `None` for plain QUIC.
pub fn circuit_of(carrier: Carrier, atm: Option<&CircuitConfig>) -> Option<CircuitConfig> {
    match carrier {
        Carrier::Quic => None,
        Carrier::Atm => Some(atm.cloned().unwrap_or_default()),
    }
}

/// Group commit bounds of a role's DB.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CommitSection {
    /// Most transactions in one fsync.
    pub group_max_transactions: usize,
    /// How long a group's first transaction may wait for others, in µs.
    pub group_max_wait_us: u64,
    /// Transactions queued before callers get "busy".
    pub queue_max_transactions: usize,
}

impl Default for CommitSection {
    fn default() -> Self {
        let defaults = semper_storage::CommitConfig::default();
        Self {
            group_max_transactions: defaults.group_max_transactions,
            group_max_wait_us: defaults.group_max_wait_us,
            queue_max_transactions: defaults.queue_max_transactions,
        }
    }
}

/// A bounded retry with doubling backoff.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySection {
    /// Attempts in all, the first included.
    pub attempts_max: u32,
    /// Wait before the second attempt, in ms; it doubles after each.
    pub backoff_initial_ms: u64,
    /// Longest wait between two attempts, in ms.
    pub backoff_max_ms: u64,
}

/// Default bounds of every role's actor.
const POOL_THREADS: usize = 2;
const MAILBOX_CAPACITY: usize = 1024;
const IN_FLIGHT_MAX: usize = 1024;
const HOUR_MS: u64 = 3_600_000;

/// The issuer role.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IssuerSection {
    /// The coin values it mints, e.g. `["EUR:1.00", "EUR:2.00"]`; at least one.
    pub denominations: Vec<Amount>,
    /// The fees of some of those values (`[[banks.issuer.fees]]`); the others charge none.
    pub fees: Vec<FeesSection>,
    /// RSA modulus of new denomination keys: 2048 or 3072.
    pub rsa_bits: u32,
    /// Each key's withdraw window, in ms.
    pub withdraw_period_ms: u64,
    /// How long coins stay depositable after their withdraw window, in ms.
    pub deposit_grace_ms: u64,
    /// How long spent-set entries are kept after the deposit window, in ms.
    pub retention_ms: u64,
    /// How far ahead keys exist, in ms.
    pub lookahead_ms: u64,
    /// How often keys are checked and made ahead, in ms.
    pub rotation_check_ms: u64,
    /// Threads of the role's crypto pool.
    pub pool_threads: usize,
    /// Messages its mailbox holds before callers get "busy".
    pub mailbox_capacity: usize,
    /// Requests in progress before callers get "busy".
    pub in_flight_max: usize,
    /// Group commit.
    pub commit: CommitSection,
    /// The spent set's shard groups (`[[banks.issuer.spent_shards]]`); none keeps it in the
    /// issuer's own store.
    pub spent_shards: Vec<super::shards::SpentShardSection>,
    /// The Unix socket of this issuer's signer (`semper signer`), relative to node.data_dir
    /// unless absolute; unset, the signer runs inside this process with keys under its `keys/`.
    pub signer_socket: Option<PathBuf>,
    /// The public half of the master key that signs this issuer's denomination sets, kept on an
    /// offline machine (`semper offline init` prints it): the issuer then publishes only the
    /// sets the operator uploads signed with it. Unset, the key is made and used in this process,
    /// under the issuer's `offline/` (the embedded default).
    pub master_key: Option<semper_protocol::crypto::ed25519::VerifyingKey>,
}

/// The acquirer role.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AcquirerSection {
    /// Coins at which a micro-batch closes.
    pub batch_max_coins: usize,
    /// How long a micro-batch stays open after its first coin, in ms.
    pub batch_max_delay_ms: u64,
    /// Retries of a spend check (a merchant waits for it: keep it short).
    pub spend_retry: RetrySection,
    /// Most confirmations in one settlement submission.
    pub submission_max_confirmations: usize,
    /// How often the outbox is submitted, in ms.
    pub submit_interval_ms: u64,
    /// Retries of a submission within one outbox pass.
    pub submit_retry: RetrySection,
    /// How often the issuers' denomination sets are fetched again, in ms.
    pub denomination_refresh_ms: u64,
    /// Threads of the role's crypto pool.
    pub pool_threads: usize,
    /// Messages its mailbox holds before callers get "busy".
    pub mailbox_capacity: usize,
    /// Requests in progress before callers get "busy".
    pub in_flight_max: usize,
    /// Group commit.
    pub commit: CommitSection,
}

impl Default for AcquirerSection {
    fn default() -> Self {
        Self {
            batch_max_coins: 256,
            batch_max_delay_ms: 2,
            spend_retry: RetrySection {
                attempts_max: 3,
                backoff_initial_ms: 20,
                backoff_max_ms: 200,
            },
            submission_max_confirmations: 256,
            submit_interval_ms: 1_000,
            submit_retry: RetrySection {
                attempts_max: 3,
                backoff_initial_ms: 100,
                backoff_max_ms: 5_000,
            },
            denomination_refresh_ms: 10_000,
            pool_threads: POOL_THREADS,
            mailbox_capacity: MAILBOX_CAPACITY,
            in_flight_max: IN_FLIGHT_MAX,
            commit: CommitSection::default(),
        }
    }
}

/// The clearing role.
#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClearingSection {
    /// A cycle with a submission is cut this long after it opened, in ms.
    pub cycle_max_ms: u64,
    /// A cycle is cut once it holds this many submissions.
    pub cycle_max_submissions: u64,
    /// How often the cycle's age is checked, in ms.
    pub cycle_check_ms: u64,
    /// Retries of a report's delivery to a participant.
    pub delivery: RetrySection,
    /// Threads of the role's crypto pool.
    pub pool_threads: usize,
    /// Messages its mailbox holds before callers get "busy".
    pub mailbox_capacity: usize,
    /// Requests in progress before callers get "busy".
    pub in_flight_max: usize,
    /// Group commit.
    pub commit: CommitSection,
}

impl Default for ClearingSection {
    fn default() -> Self {
        Self {
            cycle_max_ms: 10_000,
            cycle_max_submissions: 10_000,
            cycle_check_ms: 1_000,
            delivery: RetrySection {
                attempts_max: 8,
                backoff_initial_ms: 100,
                backoff_max_ms: 10_000,
            },
            pool_threads: POOL_THREADS,
            mailbox_capacity: MAILBOX_CAPACITY,
            in_flight_max: IN_FLIGHT_MAX,
            commit: CommitSection::default(),
        }
    }
}

impl Default for IssuerSection {
    fn default() -> Self {
        Self {
            denominations: Vec::new(),
            fees: Vec::new(),
            rsa_bits: 2048,
            withdraw_period_ms: 24 * HOUR_MS,
            deposit_grace_ms: 7 * 24 * HOUR_MS,
            retention_ms: 30 * 24 * HOUR_MS,
            lookahead_ms: 24 * HOUR_MS,
            rotation_check_ms: HOUR_MS,
            pool_threads: POOL_THREADS,
            mailbox_capacity: MAILBOX_CAPACITY,
            in_flight_max: IN_FLIGHT_MAX,
            commit: CommitSection::default(),
            spent_shards: Vec::new(),
            signer_socket: None,
            master_key: None,
        }
    }
}

/// The fees of one coin value's denominations (docs/protocol.md §7.1): each in the value's
/// currency and below it; an unset one is zero.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeesSection {
    /// The coin value, one of the issuer's `denominations`.
    pub value: Amount,
    /// Debited on top of the value at withdrawal.
    pub withdraw: Option<Amount>,
    /// Kept by the acquirer from the value at deposit.
    pub deposit: Option<Amount>,
    /// Kept from the value when the coin is swapped.
    pub swap: Option<Amount>,
    /// Kept from a refund of the coin.
    pub refund: Option<Amount>,
}

impl FeesSection {
    /// The fees, zero where unset.
    pub fn fees(&self) -> DenominationFees {
        let zero = Amount::zero(self.value.currency());
        DenominationFees {
            withdraw: self.withdraw.unwrap_or(zero),
            deposit: self.deposit.unwrap_or(zero),
            swap: self.swap.unwrap_or(zero),
            refund: self.refund.unwrap_or(zero),
        }
    }
}
