//! The multi-bank world of these tests: two issuers, two acquirers and one clearing house, each a
//! [`Node`] with its own DB and identity, linked over loopback QUIC with mutual TLS; in a world
//! made [`World::over_atm`], the links between the acquirers and the clearing house run that QUIC
//! over emulated ATM circuits.

use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use semper_actors::acquirer::AcquirerState;
use semper_actors::acquirer::{AcquirerConfig, AcquirerHandle, TrustedClearing, TrustedIssuer};
use semper_actors::clearing::{ClearingConfig, ClearingState};
use semper_actors::clock::ManualClock;
use semper_actors::issuer::{
    DenominationSchedule, IssuerConfig, IssuerPublicKeys, IssuerState, SpentShardsConfig,
};
use semper_actors::retry::RetryConfig;
use semper_atm::{AtmSocket, CircuitConfig};
use semper_link::{
    Identity, Limits, Link, LinkConfig, LinkSocket, Role, RoleSet, TrustStore, TrustedPeer,
    Validity,
};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::Participant;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{AccountId, BankId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositRequest, SignedDepositRequest};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use semper_server::config::transport_of;
use semper_server::node::{Node, NodeConfig, PeerAddress};
use semper_storage::{CommitConfig, Location};

use crate::pg::PgServer;

pub const CLEARING: BankId = BankId([9; 16]);
pub const ACQUIRER_1: BankId = BankId([11; 16]);
pub const ACQUIRER_2: BankId = BankId([12; 16]);
pub const ISSUER_1: BankId = BankId([21; 16]);
pub const ISSUER_2: BankId = BankId([22; 16]);
pub const ISSUERS: [BankId; 2] = [ISSUER_1, ISSUER_2];
pub const ACQUIRERS: [BankId; 2] = [ACQUIRER_1, ACQUIRER_2];
pub const START: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);
const HOUR_MS: u64 = 3_600_000;
/// The longest a test waits for something that happens in the background.
pub const WAIT: Duration = Duration::from_secs(20);
/// The bound on a whole test.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(240);

/// Runs `future` in a fresh actix system, bounded by [`TEST_TIMEOUT`].
pub fn run<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(async move {
        tokio::time::timeout(TEST_TIMEOUT, future)
            .await
            .expect("the test took longer than its bound")
    })
}

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// The coin value of each issuer's one denomination, so each issuer's share of a report shows.
pub fn coin_value(issuer: BankId) -> &'static str {
    if issuer == ISSUER_1 { "1.00" } else { "2.00" }
}

/// What every bank knows of the others before anything starts: identities, public keys and link
/// addresses.
pub struct World {
    pub dir: PathBuf,
    pub clock: Arc<ManualClock>,
    identities: HashMap<BankId, Identity>,
    pub trust: Arc<TrustStore>,
    addrs: HashMap<BankId, SocketAddr>,
    sockets: HashMap<BankId, UdpSocket>,
    /// The circuit of the acquirer–clearing links, when they run over emulated ATM.
    circuit: Option<CircuitConfig>,
    pub issuer_keys: HashMap<BankId, IssuerPublicKeys>,
    pub acquirer_keys: HashMap<BankId, VerifyingKey>,
    pub clearing_key: VerifyingKey,
    /// Each bank's PostgreSQL database, when its stores live there rather than in RocksDB.
    databases: HashMap<BankId, String>,
    /// Each issuer's spent-set shard groups, a PostgreSQL database each, when its spent set is
    /// sharded (none: in its own store).
    shard_databases: HashMap<BankId, Vec<String>>,
    /// Values each issuer mints beside its coin value, for change (none unless a test sets them).
    pub change_values: Vec<Amount>,
}

impl World {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!(
            "semper-marketplace-{name}-{}-{}",
            std::process::id(),
            rand::random::<u32>()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        let mut identities = HashMap::new();
        let mut peers = Vec::new();
        let mut sockets = HashMap::new();
        let mut addrs = HashMap::new();
        for (bank, role) in banks() {
            let identity =
                Identity::generate(bank, Validity::starting_now(Duration::from_secs(86_400)))
                    .unwrap();
            peers.push(TrustedPeer {
                bank,
                roles: RoleSet::of(&[role]),
                certificate: identity.certificate().clone(),
            });
            identities.insert(bank, identity);
            let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
            addrs.insert(bank, socket.local_addr().unwrap());
            sockets.insert(bank, socket);
        }
        let issuer_keys = ISSUERS
            .iter()
            .map(|bank| {
                (
                    *bank,
                    IssuerState::provision(
                        &bank_dir(&dir, *bank),
                        &Default::default(),
                        &Default::default(),
                        Arc::new(semper_actors::clock::SystemClock),
                    )
                    .unwrap(),
                )
            })
            .collect();
        let acquirer_keys = ACQUIRERS
            .iter()
            .map(|bank| {
                (
                    *bank,
                    AcquirerState::provision(&bank_dir(&dir, *bank)).unwrap(),
                )
            })
            .collect();
        let clearing_key = ClearingState::provision(&bank_dir(&dir, CLEARING)).unwrap();
        Self {
            dir,
            clock: Arc::new(ManualClock::new(START)),
            identities,
            trust: Arc::new(TrustStore::new(peers).unwrap()),
            addrs,
            sockets,
            circuit: None,
            issuer_keys,
            acquirer_keys,
            clearing_key,
            databases: HashMap::new(),
            shard_databases: HashMap::new(),
            change_values: Vec::new(),
        }
    }

    /// A world whose banks keep every role's store in a PostgreSQL database of `server`, one
    /// database per bank, and whose issuers split their spent sets over two shard groups, a
    /// database each.
    pub fn over_postgres(name: &str, server: &PgServer) -> Self {
        let mut world = Self::new(name);
        for (bank, role) in banks() {
            let database = format!("{name}_bank_{}", bank.0[0]).replace('-', "_");
            world
                .databases
                .insert(bank, server.create_database(&database));
            if role == Role::Issuer {
                let groups = (0..2)
                    .map(|group| server.create_database(&format!("{database}_shard_{group}")))
                    .collect();
                world.shard_databases.insert(bank, groups);
            }
        }
        world
    }

    /// Whether `issuer` splits its spent set over shard groups.
    pub fn spent_set_sharded(&self, issuer: BankId) -> bool {
        self.shard_databases.contains_key(&issuer)
    }

    /// Where `bank`'s stores live: its PostgreSQL database, or (`None`) its directory.
    fn store_of(&self, bank: BankId) -> Option<Location> {
        self.databases
            .get(&bank)
            .map(|conninfo| Location::Postgres(conninfo.clone()))
    }

    /// A world whose acquirer–clearing links run over emulated ATM circuits of `circuit`. Call it
    /// inside the runtime: the circuits' sockets need it.
    pub fn over_atm(name: &str, circuit: CircuitConfig) -> Self {
        let mut world = Self::new(name);
        world.circuit = Some(circuit);
        world
    }

    /// Whether `bank` is at the clearing house's end of the circuits or an acquirer's: the banks
    /// that serve their link over emulated ATM when the world runs over it.
    fn on_a_circuit(bank: BankId) -> bool {
        bank == CLEARING || ACQUIRERS.contains(&bank)
    }

    /// The circuit of the link between `a` and `b`: `None` for plain QUIC.
    fn circuit_between(&self, a: BankId, b: BankId) -> Option<CircuitConfig> {
        let acquirer_and_clearing =
            (Self::on_a_circuit(a) && Self::on_a_circuit(b)) && (a == CLEARING || b == CLEARING);
        self.circuit.clone().filter(|_| acquirer_and_clearing)
    }

    /// The circuit `bank`'s link server is served over: `None` for plain QUIC.
    fn serves_over_atm(&self, bank: BankId) -> Option<CircuitConfig> {
        self.circuit.clone().filter(|_| Self::on_a_circuit(bank))
    }

    pub fn identity(&self, bank: BankId) -> Identity {
        self.identities[&bank].clone()
    }

    pub fn addr(&self, bank: BankId) -> SocketAddr {
        self.addrs[&bank]
    }

    /// Starts every bank.
    pub fn start_all(&mut self) -> Market {
        let mut nodes = HashMap::new();
        for (bank, _) in banks() {
            nodes.insert(bank, self.start(bank));
        }
        Market {
            nodes,
            dir: self.dir.clone(),
        }
    }

    /// Starts `bank`'s node: on the socket reserved for it the first time, on its address after.
    /// Retries while a stopped node of the same bank still holds its DB.
    pub fn start(&mut self, bank: BankId) -> Node {
        let deadline = Instant::now() + WAIT;
        loop {
            let listen = match (self.serves_over_atm(bank), self.sockets.remove(&bank)) {
                (Some(circuit), reserved) => {
                    drop(reserved);
                    match AtmSocket::bind_udp(self.addr(bank), circuit) {
                        Ok(socket) => LinkSocket::Custom(socket),
                        Err(error) if Instant::now() < deadline => {
                            assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse, "{error}");
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                        Err(error) => panic!("bank {bank}: {error}"),
                    }
                }
                (None, Some(socket)) => LinkSocket::Udp(socket),
                (None, None) => LinkSocket::Bind(self.addr(bank)),
            };
            match Node::start(self.node_config(bank, listen), self.clock.clone()) {
                Ok(node) => return node,
                Err(error) if Instant::now() < deadline => {
                    let text = error.to_string();
                    assert!(
                        text.contains("rocksdb") || text.contains("address"),
                        "unexpected start failure: {text}"
                    );
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(error) => panic!("bank {bank} did not start: {error}"),
            }
        }
    }

    fn node_config(&self, bank: BankId, listen: LinkSocket) -> NodeConfig {
        let is_issuer = ISSUERS.contains(&bank);
        let is_acquirer = ACQUIRERS.contains(&bank);
        let peers: Vec<BankId> = if is_acquirer {
            vec![ISSUER_1, ISSUER_2, CLEARING]
        } else if bank == CLEARING {
            vec![ISSUER_1, ISSUER_2, ACQUIRER_1, ACQUIRER_2]
        } else {
            Vec::new()
        };
        NodeConfig {
            bank,
            identity: self.identity(bank),
            trust: self.trust.clone(),
            listen,
            transport: transport_of(self.serves_over_atm(bank).as_ref(), None),
            peers: peers
                .into_iter()
                .map(|peer| {
                    let circuit = self.circuit_between(bank, peer);
                    PeerAddress {
                        bank: peer,
                        addrs: vec![self.addr(peer)],
                        transport: transport_of(circuit.as_ref(), None),
                        circuit,
                    }
                })
                .collect(),
            clearing_bank: is_acquirer.then_some(CLEARING),
            limits: link_limits(),
            issuer: is_issuer.then(|| self.issuer_config(bank)),
            acquirer: is_acquirer.then(|| self.acquirer_config(bank)),
            clearing: (bank == CLEARING).then(|| self.clearing_config()),
        }
    }

    fn issuer_config(&self, bank: BankId) -> IssuerConfig {
        IssuerConfig {
            id: bank,
            data_dir: bank_dir(&self.dir, bank),
            store: self.store_of(bank),
            signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
            master: Default::default(),
            commit: CommitConfig::default(),
            pool_threads: 1,
            mailbox_capacity: 64,
            in_flight_max: 64,
            schedule: DenominationSchedule {
                values: std::iter::once(eur(coin_value(bank)))
                    .chain(self.change_values.iter().copied())
                    .collect(),
                fees: Vec::new(),
                key_size: RsaKeySize::Bits2048,
                withdraw_period_ms: 24 * HOUR_MS,
                deposit_grace_ms: 24 * HOUR_MS,
                retention_ms: 24 * HOUR_MS,
                lookahead_ms: HOUR_MS,
                rotation_check_ms: HOUR_MS,
            },
            acquirers: ACQUIRERS
                .iter()
                .map(|acquirer| (*acquirer, self.acquirer_keys[acquirer]))
                .collect(),
            clearing: Some((CLEARING, self.clearing_key)),
            spent_shards: SpentShardsConfig {
                groups: self
                    .shard_databases
                    .get(&bank)
                    .into_iter()
                    .flatten()
                    .map(|conninfo| Location::Postgres(conninfo.clone()))
                    .collect(),
                buckets: Vec::new(),
            },
        }
    }

    pub fn acquirer_config(&self, bank: BankId) -> AcquirerConfig {
        AcquirerConfig {
            id: bank,
            data_dir: bank_dir(&self.dir, bank),
            store: self.store_of(bank),
            commit: CommitConfig::default(),
            pool_threads: 1,
            mailbox_capacity: 256,
            in_flight_max: 256,
            batch_max_coins: 64,
            batch_max_delay_ms: 5,
            issuers: ISSUERS
                .iter()
                .map(|issuer| TrustedIssuer {
                    id: *issuer,
                    master_key: self.issuer_keys[issuer].master,
                    confirmation_key: self.issuer_keys[issuer].confirmation,
                })
                .collect(),
            spend_retry: RetryConfig {
                attempts_max: 3,
                backoff_initial_ms: 10,
                backoff_max_ms: 50,
            },
            clearing: TrustedClearing {
                id: CLEARING,
                key: self.clearing_key,
            },
            submission_max_confirmations: 64,
            // Long: the tests drive the outbox with `flush_outbox`, so each step is deterministic.
            submit_interval_ms: HOUR_MS,
            submit_retry: RetryConfig {
                attempts_max: 2,
                backoff_initial_ms: 10,
                backoff_max_ms: 20,
            },
        }
    }

    fn clearing_config(&self) -> ClearingConfig {
        let issuers = ISSUERS.iter().map(|bank| Participant {
            bank: *bank,
            acquirer_key: None,
            issuer_key: Some(self.issuer_keys[bank].confirmation),
        });
        let acquirers = ACQUIRERS.iter().map(|bank| Participant {
            bank: *bank,
            acquirer_key: Some(self.acquirer_keys[bank]),
            issuer_key: None,
        });
        ClearingConfig {
            id: CLEARING,
            data_dir: bank_dir(&self.dir, CLEARING),
            store: self.store_of(CLEARING),
            commit: CommitConfig::default(),
            pool_threads: 1,
            mailbox_capacity: 64,
            in_flight_max: 64,
            participants: issuers.chain(acquirers).collect(),
            // Long: the tests cut cycles themselves.
            cycle_max_ms: 24 * HOUR_MS,
            cycle_max_submissions: 1_000_000,
            cycle_check_ms: HOUR_MS,
            delivery: RetryConfig {
                attempts_max: 5,
                backoff_initial_ms: 10,
                backoff_max_ms: 100,
            },
        }
    }

    /// A link from `from` to `to`, as `from` (its own identity, trusted by everyone).
    pub async fn link_as(&self, from: BankId, to: BankId) -> Link {
        let mut config =
            LinkConfig::new(self.addr(to), to, self.identity(from), self.trust.clone());
        config.limits = link_limits();
        Link::connect(config).await.unwrap()
    }

    /// `acquirer`'s own signing key, from its key store, for tests that speak for it directly.
    pub fn acquirer_signing_key(&self, acquirer: BankId) -> SigningKey {
        semper_actors::keystore::KeyStore::open(&bank_dir(&self.dir, acquirer).join("keys"))
            .unwrap()
            .signing_key(semper_actors::acquirer::BANK_KEY, &mut rand::rng())
            .unwrap()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn bank_dir(root: &Path, bank: BankId) -> PathBuf {
    root.join(format!("bank-{}", bank.0[0]))
}

fn banks() -> [(BankId, Role); 5] {
    [
        (CLEARING, Role::Clearing),
        (ISSUER_1, Role::Issuer),
        (ISSUER_2, Role::Issuer),
        (ACQUIRER_1, Role::Acquirer),
        (ACQUIRER_2, Role::Acquirer),
    ]
}

fn link_limits() -> Limits {
    Limits {
        request_timeout: Duration::from_secs(10),
        ..Limits::default()
    }
}

/// The running nodes, by bank.
pub struct Market {
    pub nodes: HashMap<BankId, Node>,
    /// The world's directory: the banks' data.
    pub dir: PathBuf,
}

impl Market {
    /// An issuer's private confirmation key, read from its in-process signer's key store: for
    /// the tests that forge what only a compromised issuer could sign.
    pub fn issuer_confirmation_key(&self, bank: BankId) -> SigningKey {
        semper_actors::keystore::KeyStore::open(&bank_dir(&self.dir, bank).join("keys"))
            .unwrap()
            .signing_key("confirmation", &mut rand::rng())
            .unwrap()
    }

    pub fn issuer(&self, bank: BankId) -> &semper_actors::issuer::IssuerHandle {
        self.nodes[&bank].issuer().unwrap()
    }

    pub fn acquirer(&self, bank: BankId) -> &AcquirerHandle {
        self.nodes[&bank].acquirer().unwrap()
    }

    pub fn clearing(&self) -> &semper_actors::clearing::ClearingHandle {
        self.nodes[&CLEARING].clearing().unwrap()
    }

    /// Has every acquirer fetch the issuers' denomination sets over the link.
    pub async fn refresh_all(&self) {
        for acquirer in ACQUIRERS {
            assert_eq!(
                self.acquirer(acquirer)
                    .refresh_denominations()
                    .await
                    .unwrap(),
                2
            );
        }
    }

    /// Merchant number `n`, registered at `acquirer`.
    pub async fn merchant_at(&self, acquirer: BankId, n: u8) -> Merchant {
        let merchant = Merchant::new(n);
        self.acquirer(acquirer)
            .register_merchant(merchant.id, *merchant.key.verifying_key())
            .await
            .unwrap();
        merchant
    }

    /// One merchant registered at each acquirer, numbered from `first`, in [`ACQUIRERS`] order.
    pub async fn merchant_per_acquirer(&self, first: u8) -> [Merchant; 2] {
        [
            self.merchant_at(ACQUIRER_1, first).await,
            self.merchant_at(ACQUIRER_2, first + 1).await,
        ]
    }

    /// Withdraws `count` coins of `issuer` from a fresh funded account.
    pub async fn coins(&self, issuer: BankId, count: usize) -> Vec<WalletCoin> {
        self.coins_of(issuer, eur(coin_value(issuer)), count).await
    }

    /// `issuer`'s denomination of `value`.
    pub fn denomination(&self, issuer: BankId, value: Amount) -> Denomination {
        let set = self.issuer(issuer).denomination_set().unwrap();
        let found = (set.body().fields().denominations.iter()).find(|d| d.value() == value);
        found.unwrap().clone()
    }

    /// Withdraws `count` coins of `issuer`'s denomination of `value` from a fresh funded account.
    pub async fn coins_of(&self, issuer: BankId, value: Amount, count: usize) -> Vec<WalletCoin> {
        let handle = self.issuer(issuer);
        let account_key = SigningKey::generate(&mut rand::rng());
        let account = AccountId(rand::random());
        let eur_currency = Currency::new("EUR").unwrap();
        handle
            .open_account(account, *account_key.verifying_key(), eur_currency)
            .await
            .unwrap();
        handle
            .credit(account, format!("funding-{account}"), eur("1000.00"))
            .await
            .unwrap();
        let denomination = self.denomination(issuer, value);
        let request_id = RequestId(rand::random());
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &account_key,
            account,
            request_id,
            &vec![denomination; count],
        )
        .unwrap();
        let response = handle.withdraw(request).await.unwrap();
        wallet::finalize_coins(request_id, planned, &response).unwrap()
    }

    /// Stops `bank`'s node; it waits until its roles' state (and so its DB) is gone.
    pub async fn stop(&mut self, bank: BankId) {
        let node = self.nodes.remove(&bank).unwrap();
        let states = node.roles().state_refs();
        node.stop().await;
        assert!(
            states.iter().all(|state| state.strong_count() == 0),
            "bank {bank}'s state was never dropped"
        );
    }
}

/// A merchant: its id and key.
pub struct Merchant {
    pub id: MerchantId,
    pub key: SigningKey,
}

impl Merchant {
    pub fn new(n: u8) -> Self {
        Self {
            id: MerchantId([n; 16]),
            key: SigningKey::from_seed(&[100 + n; 32]),
        }
    }

    /// The wallet's permission to pay this merchant at `acquirer` with `coin`.
    pub fn paid(&self, coin: &WalletCoin, acquirer: BankId) -> SignedDepositPermission {
        wallet::sign_deposit_permission(
            coin,
            ContractHash(rand::random()),
            self.id,
            acquirer,
            START,
        )
    }

    /// A deposit request of `permissions`, signed by the merchant.
    pub fn deposit(&self, permissions: Vec<SignedDepositPermission>) -> SignedDepositRequest {
        let body = DepositRequest {
            merchant: self.id,
            deposit_id: RequestId(rand::random()),
            permissions: BoundedVec::new(permissions).unwrap(),
            refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
        };
        Signed::sign(body, &self.key)
    }
}
