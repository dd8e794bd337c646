//! The table's machinery: a case is a message, how it reaches the bank it is sent to, the answer
//! it must get, and the records it may leave; the bench sends each case and checks both.

use std::collections::HashMap;
use std::fmt;

use semper_link::{Handler, Link, LinkError, PeerIdentity, Role, RoleSet};
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::ids::{BankId, CoinId};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::spend::SpendResult;
use semper_server::interbank::BankHandler;

use crate::state::{Dump, assert_changed_only};
use crate::world::{CLEARING, Market, World};

/// How a case reaches the bank it is sent to.
#[derive(Clone, Debug)]
pub enum Via {
    /// A request over `from`'s own QUIC link to `to`.
    Link { from: BankId, to: BankId },
    /// A request handed to `to`'s link handler as from `peer`.
    Handler { to: BankId, peer: PeerIdentity },
    /// A one-way notice handed to `to`'s link handler as from `peer`.
    Notice { to: BankId, peer: PeerIdentity },
}

/// A request over `from`'s own link to `to`.
pub fn over(from: BankId, to: BankId) -> Via {
    Via::Link { from, to }
}

/// A request handed to `to`'s handler as from `bank` in `role`.
pub fn handed(to: BankId, bank: BankId, role: Role) -> Via {
    let peer = PeerIdentity::new(bank, RoleSet::of(&[role]));
    Via::Handler { to, peer }
}

/// A notice handed to `to`'s handler as from `bank` in `role`.
pub fn pushed(to: BankId, bank: BankId, role: Role) -> Via {
    let peer = PeerIdentity::new(bank, RoleSet::of(&[role]));
    Via::Notice { to, peer }
}

/// What a case must get back.
pub enum Expect {
    /// Refused whole, with this link error code.
    Refused(&'static str),
    /// Answered with exactly this.
    Answer(LinkResponse),
    /// Answered with a receipt whose claims are these.
    Claims(Vec<ClaimResult>),
    /// Answered with this many reports.
    Reports(usize),
    /// A notice taken (a one-way send has no answer).
    Taken,
    /// A spend check answered with these results, confirming exactly these coins.
    Spent {
        results: Vec<SpendResult>,
        confirmed: Vec<CoinId>,
    },
}

impl fmt::Debug for Expect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Refused(code) => write!(f, "refused with {code}"),
            Self::Answer(answer) => write!(f, "the answer {answer:?}"),
            Self::Claims(claims) => write!(f, "a receipt with claims {claims:?}"),
            Self::Reports(count) => write!(f, "{count} reports"),
            Self::Taken => write!(f, "the notice taken"),
            Self::Spent { results, confirmed } => {
                write!(f, "results {results:?}, confirming {confirmed:?}")
            }
        }
    }
}

/// One row of the table.
pub struct Case {
    name: &'static str,
    via: Via,
    payload: Vec<u8>,
    expect: Expect,
    /// The "bank/role/column" records it is documented to keep; every other record must stay.
    keeps: Vec<String>,
}

impl Case {
    pub fn new(name: &'static str, via: Via, payload: Vec<u8>, expect: Expect) -> Self {
        Self {
            name,
            via,
            payload,
            expect,
            keeps: Vec::new(),
        }
    }

    /// The same case, documented to keep these records.
    pub fn keeping(mut self, keeps: Vec<String>) -> Self {
        self.keeps = keeps;
        self
    }
}

/// The name [`Dump`] files a bank's role's column under.
pub fn record(bank: BankId, role: &str, column: &str) -> String {
    format!("{bank}/{role}/{column}")
}

/// What the clearing house keeps of a submission it answered, whatever its claims: the receipt,
/// for retries, and the submission counted in the open cycle.
pub fn receipt_kept() -> Vec<String> {
    vec![
        record(CLEARING, "clearing", "submissions"),
        record(CLEARING, "clearing", "cycles"),
    ]
}

/// What a participant keeps of a report that does not verify: the report, and its discrepancy,
/// counted.
pub fn bad_report_kept(bank: BankId, role: &str) -> Vec<String> {
    vec![
        record(bank, role, "received_reports"),
        record(bank, role, "discrepancies"),
        record(bank, role, "meta/discrepancies_len"),
    ]
}

/// Sends the cases one by one, each against the state the one before left.
pub struct Bench<'w> {
    world: &'w World,
    market: &'w Market,
    links: HashMap<(BankId, BankId), Link>,
}

impl<'w> Bench<'w> {
    pub fn new(world: &'w World, market: &'w Market) -> Self {
        Self {
            world,
            market,
            links: HashMap::new(),
        }
    }

    /// Sends `payload` as `via` says: the answer's bytes, or the refusal's code.
    async fn send(&mut self, via: &Via, payload: Vec<u8>) -> Result<Vec<u8>, String> {
        match via {
            Via::Link { from, to } => {
                if !self.links.contains_key(&(*from, *to)) {
                    let link = self.world.link_as(*from, *to).await;
                    self.links.insert((*from, *to), link);
                }
                match self.links[&(*from, *to)].request(payload).await {
                    Ok(answer) => Ok(answer),
                    Err(LinkError::Remote { code, .. }) => Err(code),
                    Err(other) => panic!("the link failed: {other:?}"),
                }
            }
            Via::Handler { to, peer } => {
                let handler = BankHandler::new(self.market.nodes[to].roles().clone());
                let answer = handler.request(*peer, payload).await;
                answer.map_err(|e| e.code().to_owned())
            }
            Via::Notice { to, peer } => {
                let handler = BankHandler::new(self.market.nodes[to].roles().clone());
                let taken = handler.one_way(*peer, payload).await;
                taken.map(|()| Vec::new()).map_err(|e| e.code().to_owned())
            }
        }
    }

    /// A request that must be answered, over `from`'s link to `to`: its answer.
    pub async fn answer(&mut self, from: BankId, to: BankId, request: LinkRequest) -> LinkResponse {
        let answer = self.send(&over(from, to), request.to_bytes()).await;
        let answer = answer.unwrap_or_else(|code| panic!("refused: {code}"));
        LinkResponse::from_bytes(&answer).unwrap()
    }

    /// Every bank's records.
    fn dump(&self) -> Dump {
        let mut dump = Dump::default();
        for (bank, node) in &self.market.nodes {
            dump.add(&bank.to_string(), node.roles());
        }
        dump
    }

    /// Runs every case: its answer, and what it left of every bank's state.
    pub async fn run(&mut self, cases: Vec<Case>) {
        for case in cases {
            let before = self.dump();
            let answer = self.send(&case.via, case.payload).await;
            check(case.name, &case.expect, answer);
            let after = self.dump();
            let keeps: Vec<&str> = case.keeps.iter().map(String::as_str).collect();
            assert_changed_only(case.name, &before, &after, &keeps);
        }
    }

    /// Closes the links it opened.
    pub async fn close(self) {
        for link in self.links.into_values() {
            link.close().await;
        }
    }
}

fn check(name: &str, expect: &Expect, answer: Result<Vec<u8>, String>) {
    let decoded = answer.as_ref().map(|bytes| match expect {
        Expect::Taken => None,
        _ => Some(LinkResponse::from_bytes(bytes).unwrap_or_else(|e| panic!("{name}: {e}"))),
    });
    match (expect, decoded) {
        (Expect::Refused(code), Err(got)) => assert_eq!(got.as_str(), *code, "{name}"),
        (Expect::Answer(expected), Ok(Some(got))) => assert_eq!(&got, expected, "{name}"),
        (Expect::Claims(claims), Ok(Some(LinkResponse::Receipt(receipt)))) => {
            assert_eq!(&receipt.body().claims.to_vec(), claims, "{name}")
        }
        (Expect::Reports(count), Ok(Some(LinkResponse::Reports(reports)))) => {
            assert_eq!(reports.len(), *count, "{name}")
        }
        (Expect::Taken, Ok(None)) => {}
        (Expect::Spent { results, confirmed }, Ok(Some(LinkResponse::SpendCheck(answer)))) => {
            assert_eq!(&answer.results.to_vec(), results, "{name}");
            let listed: Vec<CoinId> = (answer.confirmation.iter())
                .flat_map(|c| c.body().entries.iter().map(|entry| entry.coin))
                .collect();
            assert_eq!(&listed, confirmed, "{name}");
        }
        (expect, got) => panic!("{name}: expected {expect:?}, got {got:?}"),
    }
}
