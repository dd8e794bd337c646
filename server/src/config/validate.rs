//! The checks a config passes before anything starts: ranges, uniqueness, and the shape of a
//! process (at most one bank per role, since the HTTP API serves one of each). Each failure names
//! its key.

use std::collections::HashSet;

use semper_protocol::limits::{
    DENOMINATIONS_MAX, SPEND_BATCH_COINS_MAX, SUBMISSION_CONFIRMATIONS_MAX,
};

use semper_atm::CircuitConfig;

use super::ConfigError;
use super::file::{
    AcquirerSection, BankSection, Carrier, ClearingSection, CommitSection, Config, HttpSection,
    IssuerSection, LinkSection, RetrySection, StorageKind, circuit_of,
};
use super::transport::check_transport;

/// Most HTTP worker threads.
const HTTP_WORKERS_MAX: usize = 64;
/// Smallest body limit that still fits a small withdrawal.
const BODY_LIMIT_MIN_BYTES: usize = 1024;
/// Longest a client may be given to send a request's headers or body, in ms.
const CLIENT_TIMEOUT_MAX_MS: u64 = 60_000;
/// Longest an idle connection may be kept alive, in ms.
const KEEP_ALIVE_MAX_MS: u64 = 300_000;
/// Most threads of one role's crypto pool.
const POOL_THREADS_MAX: usize = 256;

/// Checks `config`; the first problem found is the error.
pub fn validate(config: &Config) -> Result<(), ConfigError> {
    check_http(&config.http)?;
    check_link(&config.link)?;
    if config.banks.is_empty() {
        return Err(ConfigError::invalid("banks", "at least one bank is needed"));
    }
    let mut names = HashSet::new();
    let mut ids = HashSet::new();
    let mut roles = [None::<usize>; 3];
    for (index, bank) in config.banks.iter().enumerate() {
        let key = format!("banks[{index}]");
        check_bank(&key, bank)?;
        if !names.insert(bank.name.as_str()) {
            return Err(ConfigError::invalid(
                format!("{key}.name"),
                format!("`{}` names two banks", bank.name),
            ));
        }
        if !ids.insert(bank.id) {
            return Err(ConfigError::invalid(
                format!("{key}.id"),
                format!("{} is the id of two banks", bank.id),
            ));
        }
        let hosted = [
            bank.issuer.is_some(),
            bank.acquirer.is_some(),
            bank.clearing.is_some(),
        ];
        for (slot, (role, is_hosted)) in roles.iter_mut().zip(ROLE_NAMES.iter().zip(hosted)) {
            if !is_hosted {
                continue;
            }
            if let Some(first) = slot.replace(index) {
                return Err(ConfigError::invalid(
                    format!("{key}.{role}"),
                    format!(
                        "banks[{first}] is already the {role} of this process: one process runs \
                         at most one bank per role"
                    ),
                ));
            }
        }
    }
    Ok(())
}

const ROLE_NAMES: [&str; 3] = ["issuer", "acquirer", "clearing"];

fn check_http(http: &HttpSection) -> Result<(), ConfigError> {
    within(
        "http.workers",
        http.workers as u64,
        1,
        HTTP_WORKERS_MAX as u64,
    )?;
    at_least(
        "http.body_limit_bytes",
        http.body_limit_bytes as u64,
        BODY_LIMIT_MIN_BYTES as u64,
    )?;
    at_least(
        "http.requests_in_flight_max",
        http.requests_in_flight_max as u64,
        1,
    )?;
    at_least(
        "http.coins_in_flight_max",
        http.coins_in_flight_max as u64,
        1,
    )?;
    at_least(
        "http.account_opens_per_client_per_min",
        u64::from(http.account_opens_per_client_per_min),
        1,
    )?;
    at_least("http.retry_after_s", u64::from(http.retry_after_s), 1)?;
    check_http_clients(http)?;
    check_http_tls(http)
}

/// The bounds that keep slow or greedy clients from taking the server: connections, requests
/// per client address, and how long a client may take to send a request.
fn check_http_clients(http: &HttpSection) -> Result<(), ConfigError> {
    // Each worker takes its share of the connections: at least one each.
    at_least(
        "http.connections_max",
        http.connections_max as u64,
        http.workers as u64,
    )?;
    within(
        "http.client_connections_max",
        http.client_connections_max as u64,
        1,
        http.connections_max as u64,
    )?;
    at_least(
        "http.client_requests_in_flight_max",
        http.client_requests_in_flight_max as u64,
        1,
    )?;
    within(
        "http.head_timeout_ms",
        http.head_timeout_ms,
        1,
        CLIENT_TIMEOUT_MAX_MS,
    )?;
    within(
        "http.body_timeout_ms",
        http.body_timeout_ms,
        1,
        CLIENT_TIMEOUT_MAX_MS,
    )?;
    within(
        "http.keep_alive_ms",
        http.keep_alive_ms,
        0,
        KEEP_ALIVE_MAX_MS,
    )
}

/// TLS needs both a certificate and its key; plain HTTP listens on loopback only, unless the
/// config says otherwise.
fn check_http_tls(http: &HttpSection) -> Result<(), ConfigError> {
    match (&http.tls_cert, &http.tls_key) {
        (Some(_), Some(_)) => Ok(()),
        (Some(_), None) => Err(ConfigError::invalid(
            "http.tls_key",
            "missing: `http.tls_cert` is set, and a certificate needs its private key",
        )),
        (None, Some(_)) => Err(ConfigError::invalid(
            "http.tls_cert",
            "missing: `http.tls_key` is set, and a private key needs its certificate",
        )),
        (None, None) if !http.listen.ip().is_loopback() && !http.allow_plain_non_loopback => {
            Err(ConfigError::invalid(
                "http.allow_plain_non_loopback",
                format!(
                    "plain HTTP on {}, which is not a loopback address, would send the operator's \
                     token in clear: set `http.tls_cert` and `http.tls_key`, or set \
                     `http.allow_plain_non_loopback = true` (behind a TLS proxy, say)",
                    http.listen
                ),
            ))
        }
        (None, None) => Ok(()),
    }
}

fn check_link(link: &LinkSection) -> Result<(), ConfigError> {
    at_least("link.request_timeout_ms", link.request_timeout_ms, 1)?;
    at_least("link.in_flight_max", link.in_flight_max as u64, 1)?;
    at_least("link.certificate_days", u64::from(link.certificate_days), 1)
}

fn check_bank(key: &str, bank: &BankSection) -> Result<(), ConfigError> {
    let name_ok = !bank.name.is_empty()
        && bank.name.len() <= 64
        && bank
            .name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !name_ok {
        return Err(ConfigError::invalid(
            format!("{key}.name"),
            "1 to 64 characters of a-z, 0-9, '-' and '_' (it names a directory)",
        ));
    }
    check_carrier(key, bank.carrier, &bank.atm)?;
    check_link_advertise(key, bank)?;
    check_storage(key, bank)?;
    let circuit = circuit_of(bank.carrier, bank.atm.as_ref());
    check_transport(
        &format!("{key}.transport"),
        circuit.as_ref(),
        bank.transport.as_ref(),
    )?;
    for (index, peer) in bank.peers.iter().enumerate() {
        let key = format!("{key}.peers[{index}]");
        check_carrier(&key, peer.carrier, &peer.atm)?;
        let circuit = circuit_of(peer.carrier, peer.atm.as_ref().or(bank.atm.as_ref()));
        check_transport(
            &format!("{key}.transport"),
            circuit.as_ref(),
            peer.transport.as_ref(),
        )?;
    }
    if bank.issuer.is_none() && bank.acquirer.is_none() && bank.clearing.is_none() {
        return Err(ConfigError::invalid(
            key,
            "a bank needs at least one role: [banks.issuer], [banks.acquirer] or [banks.clearing]",
        ));
    }
    if let Some(issuer) = &bank.issuer {
        check_issuer(&format!("{key}.issuer"), issuer)?;
    }
    if let Some(acquirer) = &bank.acquirer {
        check_acquirer(&format!("{key}.acquirer"), acquirer)?;
    }
    if let Some(clearing) = &bank.clearing {
        check_clearing(&format!("{key}.clearing"), clearing)?;
    }
    Ok(())
}

/// The card's link addresses must be ones a peer's link can use: at most
/// [`semper_link::PEER_ADDRS_MAX`], of one family, and one only over an ATM circuit.
fn check_link_advertise(key: &str, bank: &BankSection) -> Result<(), ConfigError> {
    let addrs = &bank.link_advertise;
    let key = format!("{key}.link_advertise");
    if addrs.len() > semper_link::PEER_ADDRS_MAX {
        return Err(ConfigError::invalid(
            key,
            format!("at most {} addresses", semper_link::PEER_ADDRS_MAX),
        ));
    }
    if addrs
        .iter()
        .any(|addr| addr.is_ipv4() != addrs[0].is_ipv4())
    {
        return Err(ConfigError::invalid(
            key,
            "all IPv4 or all IPv6: a peer reaches them from one socket",
        ));
    }
    if bank.carrier == Carrier::Atm && addrs.len() > 1 {
        return Err(ConfigError::invalid(
            key,
            "a bank served over ATM is reached over one circuit: one address",
        ));
    }
    Ok(())
}

/// `storage = "postgres"` needs a connection string that parses, and a connection string is
/// only for it. The messages never repeat the string: it may hold a password.
fn check_storage(key: &str, bank: &BankSection) -> Result<(), ConfigError> {
    match (bank.storage, &bank.postgres) {
        (StorageKind::Rocksdb, None) => Ok(()),
        (StorageKind::Rocksdb, Some(_)) => Err(ConfigError::invalid(
            format!("{key}.postgres"),
            "a connection string is only used with storage = \"postgres\": set that too, or \
             remove it",
        )),
        (StorageKind::Postgres, None) => Err(ConfigError::invalid(
            format!("{key}.postgres"),
            "storage = \"postgres\" needs the database's connection string (libpq form, e.g. \
             \"host=127.0.0.1 dbname=bank user=semper\"; the password is best set by \
             SEMPER__BANKS__<n>__POSTGRES)",
        )),
        (StorageKind::Postgres, Some(conninfo)) => {
            semper_storage::Location::postgres(conninfo.expose())
                .map(drop)
                .map_err(|error| ConfigError::invalid(format!("{key}.postgres"), error.to_string()))
        }
    }
}

/// An `atm` table goes with `carrier = "atm"`, and its circuit must be one the emulator runs.
fn check_carrier(
    key: &str,
    carrier: Carrier,
    atm: &Option<CircuitConfig>,
) -> Result<(), ConfigError> {
    if carrier == Carrier::Quic && atm.is_some() {
        return Err(ConfigError::invalid(
            format!("{key}.atm"),
            "an ATM circuit needs `carrier = \"atm\"`",
        ));
    }
    match circuit_of(carrier, atm.as_ref()) {
        Some(circuit) => circuit.validate().map_err(|error| {
            ConfigError::invalid(format!("{key}.atm.{}", error.field()), error.to_string())
        }),
        None => Ok(()),
    }
}

fn check_issuer(key: &str, issuer: &IssuerSection) -> Result<(), ConfigError> {
    super::shards::check_spent_shards(&format!("{key}.spent_shards"), &issuer.spent_shards)?;
    within(
        &format!("{key}.denominations"),
        issuer.denominations.len() as u64,
        1,
        DENOMINATIONS_MAX as u64,
    )?;
    if issuer
        .denominations
        .iter()
        .any(|value| value.minor_units() == 0)
    {
        return Err(ConfigError::invalid(
            format!("{key}.denominations"),
            "a coin value must be more than zero",
        ));
    }
    check_fees(key, issuer)?;
    if !matches!(issuer.rsa_bits, 2048 | 3072) {
        return Err(ConfigError::invalid(
            format!("{key}.rsa_bits"),
            format!("expected 2048 or 3072, got {}", issuer.rsa_bits),
        ));
    }
    for (field, value) in [
        ("withdraw_period_ms", issuer.withdraw_period_ms),
        ("deposit_grace_ms", issuer.deposit_grace_ms),
        ("retention_ms", issuer.retention_ms),
        ("lookahead_ms", issuer.lookahead_ms),
        ("rotation_check_ms", issuer.rotation_check_ms),
    ] {
        at_least(&format!("{key}.{field}"), value, 1)?;
    }
    // The signer refuses a key whose window is longer, or starts further ahead, than its own
    // bounds: the keys made ahead would be refused, and withdrawals would stop once those in
    // force closed. Named here, rather than by the signer's refusal of the first such key.
    let signer = semper_actors::signer::SignerLimits::default();
    within(
        &format!("{key}.withdraw_period_ms"),
        issuer.withdraw_period_ms,
        1,
        signer.window_max_ms,
    )?;
    within(
        &format!("{key}.lookahead_ms"),
        issuer.lookahead_ms,
        1,
        signer.ahead_max_ms,
    )?;
    check_actor(
        key,
        issuer.pool_threads,
        issuer.mailbox_capacity,
        issuer.in_flight_max,
        &issuer.commit,
    )
}

/// Each `[[fees]]` names a value the issuer mints, once, with fees a denomination may carry.
fn check_fees(key: &str, issuer: &IssuerSection) -> Result<(), ConfigError> {
    for (index, fees) in issuer.fees.iter().enumerate() {
        let field = format!("{key}.fees[{index}]");
        if !issuer.denominations.contains(&fees.value) {
            return Err(ConfigError::invalid(
                format!("{field}.value"),
                format!("{} is not one of the issuer's denominations", fees.value),
            ));
        }
        if issuer.fees[..index].iter().any(|f| f.value == fees.value) {
            return Err(ConfigError::invalid(
                format!("{field}.value"),
                format!("fees of {} listed twice", fees.value),
            ));
        }
        fees.fees()
            .check(fees.value)
            .map_err(|error| ConfigError::invalid(field, error.to_string()))?;
    }
    Ok(())
}

fn check_acquirer(key: &str, acquirer: &AcquirerSection) -> Result<(), ConfigError> {
    within(
        &format!("{key}.batch_max_coins"),
        acquirer.batch_max_coins as u64,
        1,
        SPEND_BATCH_COINS_MAX as u64,
    )?;
    within(
        &format!("{key}.submission_max_confirmations"),
        acquirer.submission_max_confirmations as u64,
        1,
        SUBMISSION_CONFIRMATIONS_MAX as u64,
    )?;
    at_least(
        &format!("{key}.submit_interval_ms"),
        acquirer.submit_interval_ms,
        1,
    )?;
    at_least(
        &format!("{key}.denomination_refresh_ms"),
        acquirer.denomination_refresh_ms,
        1,
    )?;
    check_retry(&format!("{key}.spend_retry"), &acquirer.spend_retry)?;
    check_retry(&format!("{key}.submit_retry"), &acquirer.submit_retry)?;
    check_actor(
        key,
        acquirer.pool_threads,
        acquirer.mailbox_capacity,
        acquirer.in_flight_max,
        &acquirer.commit,
    )
}

fn check_clearing(key: &str, clearing: &ClearingSection) -> Result<(), ConfigError> {
    at_least(&format!("{key}.cycle_max_ms"), clearing.cycle_max_ms, 1)?;
    at_least(
        &format!("{key}.cycle_max_submissions"),
        clearing.cycle_max_submissions,
        1,
    )?;
    at_least(&format!("{key}.cycle_check_ms"), clearing.cycle_check_ms, 1)?;
    check_retry(&format!("{key}.delivery"), &clearing.delivery)?;
    check_actor(
        key,
        clearing.pool_threads,
        clearing.mailbox_capacity,
        clearing.in_flight_max,
        &clearing.commit,
    )
}

fn check_actor(
    key: &str,
    pool_threads: usize,
    mailbox_capacity: usize,
    in_flight_max: usize,
    commit: &CommitSection,
) -> Result<(), ConfigError> {
    within(
        &format!("{key}.pool_threads"),
        pool_threads as u64,
        1,
        POOL_THREADS_MAX as u64,
    )?;
    at_least(
        &format!("{key}.mailbox_capacity"),
        mailbox_capacity as u64,
        1,
    )?;
    at_least(&format!("{key}.in_flight_max"), in_flight_max as u64, 1)?;
    at_least(
        &format!("{key}.commit.group_max_transactions"),
        commit.group_max_transactions as u64,
        1,
    )?;
    at_least(
        &format!("{key}.commit.queue_max_transactions"),
        commit.queue_max_transactions as u64,
        1,
    )
}

fn check_retry(key: &str, retry: &RetrySection) -> Result<(), ConfigError> {
    at_least(
        &format!("{key}.attempts_max"),
        u64::from(retry.attempts_max),
        1,
    )?;
    if retry.backoff_max_ms < retry.backoff_initial_ms {
        return Err(ConfigError::invalid(
            format!("{key}.backoff_max_ms"),
            "must be at least backoff_initial_ms",
        ));
    }
    Ok(())
}

fn at_least(key: &str, value: u64, min: u64) -> Result<(), ConfigError> {
    within(key, value, min, u64::MAX)
}

fn within(key: &str, value: u64, min: u64, max: u64) -> Result<(), ConfigError> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    let range = if max == u64::MAX {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    };
    Err(ConfigError::invalid(
        key,
        format!("expected {range}, got {value}"),
    ))
}
