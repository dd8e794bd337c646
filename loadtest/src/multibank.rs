//! The multi-bank example of `config/multibank/` as a [`Deployment`]: five `semper` processes (a
//! clearing house, two issuers, two acquirers), each from its own file, moved by environment
//! overrides onto a directory and free loopback ports of its own. Each bank's keys and public
//! card (with its link certificate, which its peers pin for mutual TLS) are made by
//! `semper keys` before any bank starts, and every peer is named by its card and link address.

use std::path::{Path, PathBuf};
use std::process::Command;

use semper_protocol::ids::BankId;

use crate::deployment::{Deployment, Node, free_tcp_port, free_udp_port, loopback, master_key_dir};
use crate::process::ProcessError;
use crate::target::{Endpoint, Targets, parse_bank_id};

/// What a bank of the example does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The clearing house.
    Clearing,
    /// An issuer: wallets withdraw there.
    Issuer,
    /// An acquirer: merchants deposit there.
    Acquirer,
}

/// A bank of the example: its name (and file), its role and its id, as its file says.
#[derive(Clone, Copy, Debug)]
pub struct Bank {
    /// Its name, and the stem of its file.
    pub name: &'static str,
    /// What it does.
    pub role: Role,
    /// Its bank id (`banks[0].id` of its file).
    pub id: &'static str,
    /// An issuer's lowest coin value (the one the load withdraws), from its file.
    pub coin: Option<&'static str>,
}

/// The banks in the order each file lists the others as peers.
pub const BANKS: [Bank; 5] = [
    Bank {
        name: "clearing",
        role: Role::Clearing,
        id: "03000000000000000000000000000003",
        coin: None,
    },
    Bank {
        name: "issuer-1",
        role: Role::Issuer,
        id: "01000000000000000000000000000001",
        coin: Some("EUR:0.10"),
    },
    Bank {
        name: "issuer-2",
        role: Role::Issuer,
        id: "01000000000000000000000000000002",
        coin: Some("EUR:0.50"),
    },
    Bank {
        name: "acquirer-1",
        role: Role::Acquirer,
        id: "02000000000000000000000000000001",
        coin: None,
    },
    Bank {
        name: "acquirer-2",
        role: Role::Acquirer,
        id: "02000000000000000000000000000002",
        coin: None,
    },
];

/// What the links between the acquirers and the clearing house run over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Carrier {
    /// QUIC over loopback UDP (`config/multibank/`).
    Quic,
    /// QUIC over emulated ATM circuits (`config/multibank-atm/`, where it has the bank's file).
    Atm,
}

/// The repository's `config/` directory, which this crate is built beside.
pub fn config_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../config")
}

/// The file of `bank`: the ATM variant's when asked for and it has one.
pub fn config_file(bank: &str, carrier: Carrier) -> PathBuf {
    let config = config_dir();
    let atm = config.join("multibank-atm").join(format!("{bank}.toml"));
    if carrier == Carrier::Atm && atm.exists() {
        return atm;
    }
    config.join("multibank").join(format!("{bank}.toml"))
}

/// The five banks with their data under `dir/data`, the operator token `token`, and HTTP and
/// link ports free on loopback now.
pub fn deployment(dir: &Path, carrier: Carrier, token: &str) -> Result<Deployment, ProcessError> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(|source| ProcessError::Io {
        what: "create the data directory",
        source,
    })?;
    let links = BANKS
        .iter()
        .map(|_| free_udp_port())
        .collect::<Result<Vec<_>, _>>()?;
    let https = BANKS
        .iter()
        .map(|_| free_tcp_port())
        .collect::<Result<Vec<_>, _>>()?;
    let nodes = BANKS
        .iter()
        .enumerate()
        .map(|(index, bank)| Node {
            name: bank.name.to_owned(),
            args: vec![
                "--config".to_owned(),
                config_file(bank.name, carrier).display().to_string(),
            ],
            env: overrides(index, &data, &links, &https, token),
        })
        .collect();
    let endpoint = |index: usize| {
        let mut endpoint = Endpoint::new(loopback(https[index]), Some(token.to_owned()));
        endpoint.bank = Some(bank_id(BANKS[index].id));
        if BANKS[index].role == Role::Issuer {
            endpoint.master_key = Some(master_key_dir(&data, BANKS[index].name));
        }
        endpoint
    };
    let of_role = |role: Role| -> Vec<Endpoint> {
        (0..BANKS.len())
            .filter(|index| BANKS[*index].role == role)
            .map(endpoint)
            .collect()
    };
    let clearing = of_role(Role::Clearing).remove(0);
    Ok(Deployment {
        nodes,
        provision: true,
        victims: (0..BANKS.len()).collect(),
        issuer_coins: (BANKS.iter().enumerate())
            .filter_map(|(index, bank)| Some((index, bank.coin?)))
            .collect(),
        targets: Targets {
            issuers: of_role(Role::Issuer),
            acquirers: of_role(Role::Acquirer),
            clearing,
            clearing_others: Vec::new(),
        },
    })
}

/// The overrides that move bank `index` onto `data`, its ports and `token`, and name each peer
/// by its card under `data` and its link port.
fn overrides(
    index: usize,
    data: &Path,
    links: &[u16],
    https: &[u16],
    token: &str,
) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "SEMPER__NODE__DATA_DIR".to_owned(),
            data.display().to_string(),
        ),
        (
            "SEMPER__HTTP__LISTEN".to_owned(),
            loopback(https[index]).to_string(),
        ),
        ("SEMPER__HTTP__OPERATOR_TOKEN".to_owned(), token.to_owned()),
        (
            "SEMPER__BANKS__0__LINK_LISTEN".to_owned(),
            loopback(links[index]).to_string(),
        ),
    ];
    let peers = (0..BANKS.len()).filter(|peer| *peer != index);
    for (slot, peer) in peers.enumerate() {
        let card = data.join(BANKS[peer].name).join("card.toml");
        env.push((
            format!("SEMPER__BANKS__0__PEERS__{slot}__CARD"),
            card.display().to_string(),
        ));
        env.push((
            format!("SEMPER__BANKS__0__PEERS__{slot}__ADDR"),
            loopback(links[peer]).to_string(),
        ));
    }
    env
}

/// A step of a link certificate rotation (SECURITY.md, "Rotating a link certificate").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RotationStep {
    /// The next identity is made beside the current one; the card carries both certificates.
    Begin,
    /// The next identity becomes the current one; the card carries it alone.
    Finish,
}

/// Runs `binary identity rotate` for `node` (its config file and overrides) in `dir`: one step of
/// the rotation of its bank's link certificate. Returns what it printed.
pub fn rotate(
    binary: &Path,
    dir: &Path,
    node: &Node,
    step: RotationStep,
) -> Result<String, ProcessError> {
    let mut command = Command::new(binary);
    command.args(["identity", "rotate"]).args(&node.args);
    if step == RotationStep::Finish {
        command.arg("--finish");
    }
    let output = command
        .envs(node.env.iter().map(|(name, value)| (name, value)))
        .env("RUST_LOG", "warn")
        .current_dir(dir)
        .output()
        .map_err(|source| ProcessError::Io {
            what: "run semper identity rotate",
            source,
        })?;
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() {
        return Ok(printed);
    }
    Err(ProcessError::Failed {
        command: format!("identity rotate ({step:?}) for {}", node.name),
        status: output.status,
        output: printed,
    })
}

/// A bank id of [`BANKS`], which are written right.
fn bank_id(text: &str) -> BankId {
    parse_bank_id(text).unwrap_or_else(|error| unreachable!("BANKS holds a bad id: {error}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_bank_has_its_file_and_a_valid_id() {
        for bank in BANKS {
            assert!(parse_bank_id(bank.id).is_ok(), "{}", bank.id);
            let file = config_file(bank.name, Carrier::Quic);
            let text = std::fs::read_to_string(&file).unwrap();
            assert!(text.contains(&format!("id = \"{}\"", bank.id)), "{file:?}");
            // An issuer's coin is the first (lowest) of its denominations.
            assert_eq!(
                bank.coin.is_some(),
                bank.role == Role::Issuer,
                "{}",
                bank.name
            );
            if let Some(coin) = bank.coin {
                let listed = format!("denominations = [\"{coin}\"");
                assert!(text.contains(&listed), "{file:?}");
            }
        }
    }

    #[test]
    fn the_roles_point_at_the_banks_ports() {
        let dir = std::env::temp_dir().join(format!("semper-multibank-{}", std::process::id()));
        let deployment = deployment(&dir, Carrier::Quic, "t").unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(deployment.nodes.len(), BANKS.len());
        assert_eq!(deployment.targets.issuers.len(), 2);
        assert_eq!(
            deployment.targets.acquirers[1].bank.unwrap().to_string(),
            BANKS[4].id
        );
        let clearing_listen = deployment.nodes[0]
            .env
            .iter()
            .find(|(name, _)| name == "SEMPER__HTTP__LISTEN")
            .map(|(_, value)| value.clone());
        let clearing_http = deployment.targets.clearing.addr.to_string();
        assert_eq!(clearing_listen, Some(clearing_http));
    }
}
