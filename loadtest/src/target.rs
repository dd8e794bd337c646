//! The deployment under load: where each role answers, which bank it is, and the operator token of
//! each node. Parsed once, at the edge, from
//! `URL[,id=BANK][,token=T][,token-file=PATH][,ca=PATH][,master-key=DIR]`; an `https://` URL
//! needs `ca=`, the PEM file of the CA (or the server's own certificate) to trust; an issuer's
//! `master-key=` is the directory of its master key, with which the load revokes a denomination
//! for its recoups.

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};

use semper_protocol::ids::BankId;

use semper_client::{Api, HttpClient, Tls};

/// The acquirer's bank id in the embedded default (`config/embedded.toml`), taken when an
/// acquirer is named without `id=`: the HTTP API does not say which bank a node is.
pub const EMBEDDED_ACQUIRER_ID: &str = "02000000000000000000000000000002";

/// Why a target does not parse.
#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    /// The address does not resolve.
    #[error("target {spec:?}: {problem}")]
    Bad {
        /// The text given.
        spec: String,
        /// Why.
        problem: String,
    },
    /// A token file could not be read.
    #[error("token file {path}: {source}")]
    TokenFile {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// One node's HTTP API, as one role sees it.
#[derive(Clone, Debug)]
pub struct Endpoint {
    /// The URL as given, for messages.
    pub url: String,
    /// The resolved address.
    pub addr: SocketAddr,
    /// The bank behind this role, when known (acquirers need it: deposits name it).
    pub bank: Option<BankId>,
    /// The node's operator token.
    pub token: Option<String>,
    /// How to trust it over HTTPS; plain HTTP without.
    pub tls: Option<Tls>,
    /// An issuer's master key directory (`semper offline`), when the load may revoke a
    /// denomination there for its recoups.
    pub master_key: Option<PathBuf>,
}

impl Endpoint {
    /// The node at `addr`, with its operator token; no bank id.
    pub fn new(addr: SocketAddr, token: Option<String>) -> Self {
        Self {
            url: format!("http://{addr}"),
            addr,
            bank: None,
            token,
            tls: None,
            master_key: None,
        }
    }

    /// A new client of this endpoint, with its operator token.
    pub fn api(&self) -> Api {
        let http = match &self.tls {
            Some(tls) => HttpClient::with_tls(self.addr, tls.clone()),
            None => HttpClient::new(self.addr),
        };
        Api::over(http, self.token.clone())
    }
}

/// Every role of the deployment.
#[derive(Clone, Debug)]
pub struct Targets {
    /// The issuers: wallets are spread over them.
    pub issuers: Vec<Endpoint>,
    /// The acquirers: merchants are spread over them.
    pub acquirers: Vec<Endpoint>,
    /// The clearing house.
    pub clearing: Endpoint,
    /// Its other processes, if it has several: a cut the one above refuses (it does not hold
    /// the cut-off lease, or is down) is asked of these in turn.
    pub clearing_others: Vec<Endpoint>,
}

impl Targets {
    /// A client of each process of the clearing house, the first first.
    pub fn clearing_apis(&self) -> Vec<Api> {
        std::iter::once(&self.clearing)
            .chain(&self.clearing_others)
            .map(Endpoint::api)
            .collect()
    }

    /// All roles at one node: the embedded default.
    pub fn single(endpoint: Endpoint) -> Self {
        let mut acquirer = endpoint.clone();
        if acquirer.bank.is_none() {
            acquirer.bank = parse_bank_id(EMBEDDED_ACQUIRER_ID).ok();
        }
        Self {
            issuers: vec![endpoint.clone()],
            acquirers: vec![acquirer],
            clearing: endpoint,
            clearing_others: Vec::new(),
        }
    }
}

/// Parses a bank id: 32 hex digits.
pub fn parse_bank_id(text: &str) -> Result<BankId, String> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|error| format!("bank id {text:?}: {error}"))
}

/// Parses `URL[,id=BANK][,token=T][,token-file=PATH][,ca=PATH][,master-key=DIR]`; `default_token` is taken when neither
/// token option is given, and `default_bank` when no `id=` is.
pub fn parse_endpoint(
    spec: &str,
    default_token: Option<&str>,
    default_bank: Option<&str>,
) -> Result<Endpoint, TargetError> {
    let bad = |problem: String| TargetError::Bad {
        spec: spec.to_owned(),
        problem,
    };
    let mut parts = spec.split(',');
    let url = parts.next().unwrap_or_default().trim().to_owned();
    let mut bank = default_bank.map(str::to_owned);
    let mut token = default_token.map(str::to_owned);
    let mut ca = None;
    let mut master_key = None;
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("{part:?} is not key=value")))?;
        match key.trim() {
            "id" => bank = Some(value.trim().to_owned()),
            "token" => token = Some(value.trim().to_owned()),
            "token-file" => token = Some(read_token_file(Path::new(value.trim()))?),
            "ca" => ca = Some(value.trim().to_owned()),
            "master-key" => master_key = Some(PathBuf::from(value.trim())),
            other => {
                return Err(bad(format!(
                    "unknown option {other:?} (id, token, token-file, ca, master-key)"
                )));
            }
        }
    }
    let bank = bank
        .map(|text| parse_bank_id(&text))
        .transpose()
        .map_err(bad)?;
    let tls = match (url.strip_prefix("https://"), ca) {
        (Some(rest), Some(ca)) => Some(
            Tls::from_ca_file(Path::new(&ca), host_of(rest))
                .map_err(|error| bad(error.to_string()))?,
        ),
        (Some(_), None) => {
            return Err(bad(
                "an https:// address needs ca=PATH: the CA (or certificate) to trust".into(),
            ));
        }
        (None, Some(_)) => return Err(bad("ca= goes with an https:// address".into())),
        (None, None) => None,
    };
    Ok(Endpoint {
        addr: resolve(&url).map_err(bad)?,
        url,
        bank,
        token,
        tls,
        master_key,
    })
}

/// The host of `host:port[/...]` (an IPv6 address without its brackets): the name a server's
/// certificate must carry.
fn host_of(authority: &str) -> &str {
    let authority = authority.split('/').next().unwrap_or_default();
    let host = match authority.rsplit_once(':') {
        Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
        _ => authority,
    };
    host.trim_start_matches('[').trim_end_matches(']')
}

/// Reads an operator token file (its first line, trimmed).
pub fn read_token_file(path: &Path) -> Result<String, TargetError> {
    let text = std::fs::read_to_string(path).map_err(|source| TargetError::TokenFile {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text.lines().next().unwrap_or_default().trim().to_owned())
}

/// `http://host:port[/]`, `https://host:port[/]` (or `host:port`) to a socket address.
fn resolve(url: &str) -> Result<SocketAddr, String> {
    let (authority, default_port) = match url.strip_prefix("https://") {
        Some(rest) => (rest, 443),
        None => (url.strip_prefix("http://").unwrap_or(url), 80),
    };
    let authority = authority.split('/').next().unwrap_or_default();
    if authority.is_empty() {
        return Err("no host:port".into());
    }
    let authority = if authority.contains(':') {
        authority.to_owned()
    } else {
        format!("{authority}:{default_port}")
    };
    authority
        .to_socket_addrs()
        .map_err(|error| format!("{authority}: {error}"))?
        .next()
        .ok_or_else(|| format!("{authority} resolves to nothing"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endpoint_parses_with_its_options() {
        let endpoint = parse_endpoint(
            "http://127.0.0.1:8191/,id=02000000000000000000000000000001,token=secret",
            Some("default"),
            None,
        )
        .unwrap();
        assert_eq!(endpoint.addr, "127.0.0.1:8191".parse().unwrap());
        assert_eq!(
            endpoint.bank.unwrap().to_string(),
            "02000000000000000000000000000001"
        );
        assert_eq!(endpoint.token.as_deref(), Some("secret"));
        assert_eq!(endpoint.master_key, None);
        let issuer = parse_endpoint(
            "127.0.0.1:8181,master-key=data/issuer/issuer/offline",
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            issuer.master_key,
            Some(PathBuf::from("data/issuer/issuer/offline"))
        );
    }

    #[test]
    fn defaults_apply_and_bad_specs_are_refused() {
        let endpoint =
            parse_endpoint("127.0.0.1:8080", Some("t"), Some(EMBEDDED_ACQUIRER_ID)).unwrap();
        assert_eq!(endpoint.token.as_deref(), Some("t"));
        assert_eq!(endpoint.bank.unwrap().to_string(), EMBEDDED_ACQUIRER_ID);
        // https needs the CA to trust, and ca= needs https.
        assert!(parse_endpoint("https://127.0.0.1:1", None, None).is_err());
        assert!(parse_endpoint("http://127.0.0.1:1,ca=/nowhere.pem", None, None).is_err());
        assert!(parse_endpoint("https://127.0.0.1:1,ca=/nowhere.pem", None, None).is_err());
        assert_eq!(host_of("localhost:8443/"), "localhost");
        assert_eq!(host_of("[::1]:8443"), "::1");
        assert!(parse_endpoint("http://127.0.0.1:1,id=zz", None, None).is_err());
        assert!(parse_endpoint("http://127.0.0.1:1,colour=red", None, None).is_err());
    }
}
