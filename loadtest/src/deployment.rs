//! A deployment of `semper run` child processes on loopback, each on data and ports of its own
//! that are fixed before it first starts, so that any of them can be killed and started again
//! where it was: the embedded default (one process) or the multi-bank example (five, see
//! [`crate::multibank`]). The crash-kill soak and the server's binary tests start them this way.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::Command;

use semper_protocol::amount::Amount;

use crate::process::{ProcessError, ServerProcess, embedded_overrides};
use crate::target::{Endpoint, Targets};

/// The coin value the load withdraws at the embedded default's issuer: the lowest of
/// `config/embedded.toml`.
pub const EMBEDDED_COIN: &str = "EUR:0.10";
/// When a deployment charges fees ([`Deployment::charge_fees`]), the withdraw fee of the coin
/// the load withdraws is this fraction of its value, …
pub const WITHDRAW_FEE_DIVISOR: u64 = 10;
/// … its deposit fee this one …
pub const DEPOSIT_FEE_DIVISOR: u64 = 5;
/// … and its swap fee this one (a swap of ten such coins makes nine).
pub const SWAP_FEE_DIVISOR: u64 = 10;

/// One `semper` process of a deployment, as it is started each time.
#[derive(Clone, Debug)]
pub struct Node {
    /// Its name in messages: its bank, or `embedded`.
    pub name: String,
    /// The arguments after `semper run` (and after `semper keys`), e.g. its config file.
    pub args: Vec<String>,
    /// Its environment overrides: data directory, ports, operator token, peers.
    pub env: Vec<(String, String)>,
}

impl Node {
    /// Starts `binary run` for this node in `dir`, and waits until its HTTP API answers.
    pub fn start(&self, binary: &Path, dir: &Path) -> Result<ServerProcess, ProcessError> {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        ServerProcess::start(binary, &args, &self.env, dir)
    }

    /// Runs `binary keys` for this node in `dir`: its link identity, role keys and public card.
    pub fn provision(&self, binary: &Path, dir: &Path) -> Result<(), ProcessError> {
        let output = Command::new(binary)
            .arg("keys")
            .args(&self.args)
            .envs(self.env.iter().map(|(name, value)| (name, value)))
            .env("RUST_LOG", "warn")
            .current_dir(dir)
            .output()
            .map_err(|source| ProcessError::Io {
                what: "run semper keys",
                source,
            })?;
        if output.status.success() {
            return Ok(());
        }
        Err(ProcessError::Failed {
            command: format!("keys for {}", self.name),
            status: output.status,
            output: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}

/// Processes to start together, and where the load finds each role among them.
#[derive(Clone, Debug)]
pub struct Deployment {
    /// Its processes, in the order they start.
    pub nodes: Vec<Node>,
    /// Every node provisions its keys (`semper keys`) before any starts: peers read each
    /// other's public cards when they start.
    pub provision: bool,
    /// The nodes (indices in [`Deployment::nodes`]) a crash-kill soak may kill.
    pub victims: Vec<usize>,
    /// Its roles, at the HTTP ports fixed for its nodes.
    pub targets: Targets,
    /// The nodes that host an issuer (as the first bank of their file), each with the coin
    /// value the load withdraws there, for [`Deployment::charge_fees`].
    pub issuer_coins: Vec<(usize, &'static str)>,
}

impl Deployment {
    /// The embedded default in `dir` (see [`embedded_overrides`]) with the operator token
    /// `token`, on an HTTP port fixed now so that a restart comes back on it.
    pub fn embedded(dir: &Path, token: &str) -> Result<Self, ProcessError> {
        let http = loopback(free_tcp_port()?);
        let mut env = embedded_overrides(dir, token);
        for (name, value) in &mut env {
            if name == "SEMPER__HTTP__LISTEN" {
                *value = http.to_string();
            }
        }
        Ok(Self {
            nodes: vec![Node {
                name: "embedded".into(),
                args: Vec::new(),
                env,
            }],
            provision: false,
            victims: vec![0],
            targets: Targets::single(Endpoint {
                master_key: Some(master_key_dir(&dir.join("data"), "issuer")),
                ..Endpoint::new(http, Some(token.to_owned()))
            }),
            issuer_coins: vec![(0, EMBEDDED_COIN)],
        })
    }

    /// Has every issuer charge fees on the coin the load withdraws there (a withdraw fee of a
    /// [`WITHDRAW_FEE_DIVISOR`]th of its value, a deposit fee of a [`DEPOSIT_FEE_DIVISOR`]th and
    /// a swap fee of a [`SWAP_FEE_DIVISOR`]th),
    /// so that the load's conservation checks count fees. Denominations carry the fees they were
    /// made with: call it before the deployment first starts.
    pub fn charge_fees(&mut self) {
        for (node, coin) in &self.issuer_coins {
            if let (Some(node), Some(env)) = (self.nodes.get_mut(*node), fee_override(coin)) {
                node.env.push(env);
            }
        }
    }

    /// Provisions every node when it must, then starts each in `dir`: the processes, in the
    /// order of [`Deployment::nodes`].
    pub fn start(&self, binary: &Path, dir: &Path) -> Result<Vec<ServerProcess>, ProcessError> {
        if self.provision {
            for node in &self.nodes {
                node.provision(binary, dir)?;
            }
        }
        self.nodes
            .iter()
            .map(|node| node.start(binary, dir))
            .collect()
    }
}

/// The override that charges fees on `coin` (e.g. `"EUR:0.10"`) at the first bank of a node's
/// file, an issuer; `None` when `coin` is not an amount.
pub fn fee_override(coin: &str) -> Option<(String, String)> {
    let value: Amount = coin.parse().ok()?;
    let part = |divisor: u64| {
        Amount::from_minor_units(value.currency(), value.minor_units() / divisor).to_string()
    };
    Some((
        "SEMPER__BANKS__0__ISSUER__FEES".to_owned(),
        format!(
            "[{{ value = \"{value}\", withdraw = \"{}\", deposit = \"{}\", swap = \"{}\" }}]",
            part(WITHDRAW_FEE_DIVISOR),
            part(DEPOSIT_FEE_DIVISOR),
            part(SWAP_FEE_DIVISOR)
        ),
    ))
}

/// The directory of the master key an issuer keeps beside itself when its config names none
/// (the embedded default's and the multi-bank example's issuers): `offline/` in the issuer's
/// role directory, under its bank's directory in the node's data directory `data`.
pub fn master_key_dir(data: &Path, bank: &str) -> std::path::PathBuf {
    data.join(bank).join("issuer").join("offline")
}

/// `port` on 127.0.0.1.
pub fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A TCP port free on loopback now (for an HTTP API).
pub fn free_tcp_port() -> Result<u16, ProcessError> {
    TcpListener::bind(loopback(0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(no_port)
}

/// A UDP port free on loopback now (for a QUIC link).
pub fn free_udp_port() -> Result<u16, ProcessError> {
    UdpSocket::bind(loopback(0))
        .and_then(|socket| socket.local_addr())
        .map(|addr| addr.port())
        .map_err(no_port)
}

fn no_port(source: std::io::Error) -> ProcessError {
    ProcessError::Io {
        what: "find a free loopback port",
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_fee_override_is_a_toml_list_of_one_fee_schedule() {
        let (name, value) = fee_override(EMBEDDED_COIN).unwrap();
        assert_eq!(name, "SEMPER__BANKS__0__ISSUER__FEES");
        assert_eq!(
            value,
            r#"[{ value = "EUR:0.10", withdraw = "EUR:0.01", deposit = "EUR:0.02", swap = "EUR:0.01" }]"#
        );
        assert_eq!(fee_override("ten euros"), None);
        let embedded =
            std::fs::read_to_string(crate::multibank::config_dir().join("embedded.toml")).unwrap();
        assert!(embedded.contains(&format!("denominations = [\"{EMBEDDED_COIN}\"")));
    }
}
