//! The replicated deployment of `config/ha/` as a [`Deployment`] for the crash-kill soak: two
//! processes of the clearing house, two of issuer bank `issuer-1` and two gateways of acquirer
//! bank `acquirer-1`, every store in PostgreSQL on the three-node Patroni cluster.
//!
//! `config/ha/deploy.sh start` must have run first, with its semper processes stopped again
//! (`scripts/soak-ha.sh` does both): it leaves the cluster, the bank's signer process, the
//! rendered config files (`data/ha/config/`), every bank's keys and card, and the connection
//! strings (`data/ha/conninfo/`). Each node here is one of those processes, from its rendered
//! file, with its database's connection string and the soak's operator token in its
//! environment. The soak kills any of them, each having a twin that serves on while it is down:
//! a killed clearing process may hold the cut-off lease, and the other takes the cycles over
//! within seconds (the load's cuts ask both, `Targets::clearing_others`). `crate::failover`
//! kills the cluster's primary besides.

use std::path::Path;

use crate::deployment::{Deployment, Node, loopback};
use crate::process::ProcessError;
use crate::target::{Endpoint, Targets, parse_bank_id};

/// One semper process of the deployment.
struct Process {
    /// Its name: its file's stem and its pid file's name.
    name: &'static str,
    /// Its bank's database (`data/ha/conninfo/<database>`).
    database: &'static str,
    /// Its HTTP port's offset from the deployment's base port.
    http_offset: u16,
    /// Whether the soak may kill it.
    killable: bool,
}

/// The processes, in the order they start (the clearing house first).
const PROCESSES: [Process; 6] = [
    Process {
        name: "clearing",
        database: "clearing",
        http_offset: 20,
        killable: true,
    },
    Process {
        name: "clearing-b",
        database: "clearing",
        http_offset: 25,
        killable: true,
    },
    Process {
        name: "issuer-1a",
        database: "issuer_1",
        http_offset: 21,
        killable: true,
    },
    Process {
        name: "issuer-1b",
        database: "issuer_1",
        http_offset: 22,
        killable: true,
    },
    Process {
        name: "acquirer-1a",
        database: "acquirer_1",
        http_offset: 23,
        killable: true,
    },
    Process {
        name: "acquirer-1b",
        database: "acquirer_1",
        http_offset: 24,
        killable: true,
    },
];

/// The issuer bank's id and signer socket, and the acquirer bank's id (`config/ha/*.toml`).
const ISSUER_ID: &str = "01000000000000000000000000000001";
const ACQUIRER_ID: &str = "02000000000000000000000000000001";
const SIGNER_SOCKET: &str = "issuer-1.signer.sock";

/// The deployment `config/ha/deploy.sh` made under `dir/data/ha` on ports from `base`, with the
/// operator token `token`.
pub fn deployment(dir: &Path, base: u16, token: &str) -> Result<Deployment, ProcessError> {
    let ha = std::fs::canonicalize(dir.join("data/ha")).map_err(|source| ProcessError::Io {
        what: "find data/ha (run config/ha/deploy.sh start first)",
        source,
    })?;
    let mut nodes = Vec::with_capacity(PROCESSES.len());
    for process in &PROCESSES {
        let conninfo = std::fs::read_to_string(ha.join("conninfo").join(process.database))
            .map_err(|source| ProcessError::Io {
                what: "read a connection string in data/ha/conninfo",
                source,
            })?;
        let mut env = vec![
            (
                "SEMPER__BANKS__0__POSTGRES".to_owned(),
                conninfo.trim().to_owned(),
            ),
            ("SEMPER__HTTP__OPERATOR_TOKEN".to_owned(), token.to_owned()),
            // The load tester's clients all come from one address.
            (
                "SEMPER__HTTP__CLIENT_CONNECTIONS_MAX".to_owned(),
                "8192".to_owned(),
            ),
            (
                "SEMPER__HTTP__CLIENT_REQUESTS_IN_FLIGHT_MAX".to_owned(),
                "8192".to_owned(),
            ),
        ];
        if process.name.starts_with("issuer") {
            env.push((
                "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".to_owned(),
                ha.join(SIGNER_SOCKET).display().to_string(),
            ));
        }
        let config = ha.join("config").join(format!("{}.toml", process.name));
        nodes.push(Node {
            name: process.name.to_owned(),
            args: vec!["--config".to_owned(), config.display().to_string()],
            env,
        });
    }
    let endpoint = |name: &str, bank: Option<&str>| {
        let process = PROCESSES.iter().find(|process| process.name == name);
        let offset = process.map_or(0, |process| process.http_offset);
        let mut endpoint = Endpoint::new(loopback(base + offset), Some(token.to_owned()));
        endpoint.bank = bank.and_then(|bank| parse_bank_id(bank).ok());
        endpoint
    };
    Ok(Deployment {
        nodes,
        // deploy.sh made every bank's keys and card.
        provision: false,
        victims: (0..PROCESSES.len())
            .filter(|index| PROCESSES[*index].killable)
            .collect(),
        targets: Targets {
            // Wallets and merchants spread over both processes of each bank.
            issuers: vec![
                endpoint("issuer-1a", Some(ISSUER_ID)),
                endpoint("issuer-1b", Some(ISSUER_ID)),
            ],
            acquirers: vec![
                endpoint("acquirer-1a", Some(ACQUIRER_ID)),
                endpoint("acquirer-1b", Some(ACQUIRER_ID)),
            ],
            clearing: endpoint("clearing", None),
            clearing_others: vec![endpoint("clearing-b", None)],
        },
        // Its issuer's keys were made by deploy.sh from the rendered files: no fees added here.
        issuer_coins: Vec::new(),
    })
}
