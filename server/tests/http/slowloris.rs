//! Slow clients cannot lock the others out. An attacker on 127.0.0.2 keeps open as many
//! connections as the server's bounds allow and more (the requests it admits, plus the
//! connections it lets one address hold), each sending a withdrawal's headers and then stalling,
//! or trickling its body a byte a second, and reconnecting whenever the server closes it; all the
//! while an honest wallet on 127.0.0.1 withdraws and pays. The honest client must keep being
//! served. Its success rate and p99 latency, without and with the attack, measured in the same
//! run, are printed (not asserted: timing is not a test's to judge).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use semper_client::Api;
use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{BankId, ContractHash};
use semper_server::config::Config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;

use crate::support::{all_accepted, now};
use crate::world::{Embedded, run};

/// Where the attacker connects from; the honest client is on 127.0.0.1.
const ATTACKER: [u8; 4] = [127, 0, 0, 2];
/// Withdrawals (each then paid to a merchant) the honest client makes in each phase.
const ROUNDS: usize = 25;
/// How often a trickling connection sends a byte, and a stalled one looks whether it was closed.
const TRICKLE: Duration = Duration::from_secs(1);
/// How long a refused attacker waits before it connects again.
const RECONNECT_PAUSE: Duration = Duration::from_millis(500);
/// The declared body of each attacking request: larger than it will ever send.
const DECLARED_BODY_BYTES: usize = 60_000;
/// Sockets the test may open: the attacker's and the server's ends of each connection, and more.
const OPEN_FILES: u64 = 20_000;

#[test]
fn http_a_slowloris_attack_at_the_servers_bounds_does_not_lock_out_an_honest_wallet() {
    raise_open_files();
    run(async {
        let http = Config::embedded_for_tests(std::path::Path::new(".")).http;
        // Every request slot the server has, and every connection one address may hold.
        let connections = http.requests_in_flight_max + http.client_connections_max;
        let world = Embedded::start("slowloris").await;
        let addr = world.deployment.http_addr().expect("HTTP is served");
        let token = world.deployment.operator_token().expose().to_owned();
        let acquirer = world.acquirer_bank();

        let honest = blocking(move || Honest::new(Api::new(addr, Some(token)), acquirer)).await;
        let (honest, quiet) = blocking(move || {
            let mut honest = honest;
            let figures = honest.rounds(ROUNDS);
            (honest, figures)
        })
        .await;

        let attack = Attack::start(addr, connections);
        attack.until_every_connection_was_tried().await;
        // Let the server take in what it was sent (and, fixed, close what is over its bounds).
        actix_web::rt::time::sleep(Duration::from_secs(1)).await;
        let (_, attacked) = blocking(move || {
            let mut honest = honest;
            let figures = honest.rounds(ROUNDS);
            (honest, figures)
        })
        .await;
        let (open, attempts) = attack.stop().await;

        println!(
            "slowloris: honest client, {} requests a phase (withdraw 1 coin, pay it)\n\
             \x20 without attack: {:.1} % answered, p99 {:.1} ms\n\
             \x20 under attack:   {:.1} % answered, p99 {:.1} ms \
             ({connections} attacking connections from 127.0.0.2, {open} open at the end, \
             {attempts} connection attempts in all)",
            2 * ROUNDS,
            quiet.success_percent(),
            quiet.p99_ms(),
            attacked.success_percent(),
            attacked.p99_ms(),
        );
        assert_eq!(
            quiet.failures,
            Vec::<String>::new(),
            "the quiet phase failed"
        );
        // Served, not merely answered: a 503 for every request is what the attack did before.
        assert!(
            attacked.success_percent() >= 90.0,
            "the honest client was locked out: {:.1} % served; first failures: {:?}",
            attacked.success_percent(),
            &attacked.failures[..attacked.failures.len().min(3)]
        );
        world.stop().await;
    });
}

/// Runs `work` on the blocking pool, so that the actix system under test keeps running.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    actix_web::rt::task::spawn_blocking(work).await.unwrap()
}

/// Raises this process's open-file limit to [`OPEN_FILES`] (or the hard limit, if lower).
fn raise_open_files() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit), 0);
        limit.rlim_cur = limit.rlim_max.min(OPEN_FILES);
        assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &limit), 0);
    }
}

/// The honest party: a funded wallet, a merchant, and a client of the API on 127.0.0.1.
struct Honest {
    api: Api,
    wallet: Wallet,
    merchant: Merchant,
    denomination: Denomination,
}

/// What the honest client saw in one phase.
struct Figures {
    /// Requests sent (a withdrawal refused counts its payment as refused too).
    requests: usize,
    /// How long each request sent took.
    latencies: Vec<Duration>,
    /// Why each failed request failed.
    failures: Vec<String>,
}

impl Honest {
    fn new(mut api: Api, acquirer: BankId) -> Self {
        let set = api.denominations().expect("denominations");
        let denomination = withdrawable(&set, now()).expect("a denomination in force");
        let eur = Currency::new("EUR").unwrap();
        let funding: Amount = "EUR:100.00".parse().unwrap();
        let wallet = Wallet::open(&mut api, eur, funding, "slowloris-funding").expect("wallet");
        let merchant = Merchant::register(&mut api, acquirer).expect("merchant");
        Self {
            api,
            wallet,
            merchant,
            denomination,
        }
    }

    /// `rounds` withdrawals of one coin, each paid to the merchant and deposited.
    fn rounds(&mut self, rounds: usize) -> Figures {
        let mut figures = Figures {
            requests: 2 * rounds,
            latencies: Vec::with_capacity(2 * rounds),
            failures: Vec::new(),
        };
        for _ in 0..rounds {
            let started = Instant::now();
            let withdrawn = self.wallet.withdraw(&mut self.api, &self.denomination, 1);
            figures.latencies.push(started.elapsed());
            let coins = match withdrawn {
                Ok(withdrawal) => withdrawal.coins,
                Err(error) => {
                    figures.failures.push(format!("withdraw: {error}"));
                    figures.failures.push("deposit: nothing withdrawn".into());
                    continue;
                }
            };
            let deposit = self
                .merchant
                .deposit_of(&coins, ContractHash([9; 32]), now())
                .expect("a deposit of coins just withdrawn");
            let started = Instant::now();
            let answer = self.merchant.deposit(&mut self.api, &deposit);
            figures.latencies.push(started.elapsed());
            match answer {
                Ok(answer) if all_accepted(answer.results()) => {}
                Ok(answer) => figures.failures.push(format!("deposit: {answer:?}")),
                Err(error) => figures.failures.push(format!("deposit: {error}")),
            }
        }
        figures
    }
}

impl Figures {
    fn success_percent(&self) -> f64 {
        100.0 * (self.requests - self.failures.len()) as f64 / self.requests as f64
    }

    fn p99_ms(&self) -> f64 {
        let mut sorted = self.latencies.clone();
        sorted.sort();
        let Some(last) = sorted.len().checked_sub(1) else {
            return 0.0;
        };
        let index = (last as f64 * 0.99).ceil() as usize;
        sorted[index.min(last)].as_secs_f64() * 1000.0
    }
}

/// The attacker: one task per connection it keeps, each on 127.0.0.2.
struct Attack {
    stop: Arc<AtomicBool>,
    open: Arc<AtomicUsize>,
    attempts: Arc<AtomicUsize>,
    tasks: Vec<actix_web::rt::task::JoinHandle<()>>,
}

impl Attack {
    /// Starts `connections` attacking connections: half stall after their headers, half trickle
    /// their body.
    fn start(server: std::net::SocketAddr, connections: usize) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let open = Arc::new(AtomicUsize::new(0));
        let attempts = Arc::new(AtomicUsize::new(0));
        let tasks = (0..connections)
            .map(|index| {
                let (stop, open, attempts) = (stop.clone(), open.clone(), attempts.clone());
                let trickle = index % 2 == 1;
                actix_web::rt::spawn(async move {
                    while !stop.load(Ordering::Relaxed) {
                        attempts.fetch_add(1, Ordering::Relaxed);
                        hold(server, trickle, &stop, &open).await;
                        actix_web::rt::time::sleep(RECONNECT_PAUSE).await;
                    }
                })
            })
            .collect();
        Self {
            stop,
            open,
            attempts,
            tasks,
        }
    }

    /// Waits until every connection has been tried once (bounded: 10 s).
    async fn until_every_connection_was_tried(&self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.attempts.load(Ordering::Relaxed) < self.tasks.len() && Instant::now() < deadline
        {
            actix_web::rt::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops every connection; returns those open at the end, and the attempts made.
    async fn stop(self) -> (usize, usize) {
        let open = self.open.load(Ordering::Relaxed);
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        (open, self.attempts.load(Ordering::Relaxed))
    }
}

/// One attacking connection: a withdrawal's headers, then nothing (or a body byte every
/// [`TRICKLE`]), until the server closes it or answers, or the attack stops.
async fn hold(server: std::net::SocketAddr, trickle: bool, stop: &AtomicBool, open: &AtomicUsize) {
    let Ok(socket) = TcpSocket::new_v4() else {
        return;
    };
    if socket.bind((ATTACKER, 0).into()).is_err() {
        return;
    }
    let Ok(mut stream) = socket.connect(server).await else {
        return;
    };
    let head = format!(
        "POST /v1/issuer/withdraw HTTP/1.1\r\nHost: bank\r\nContent-Type: application/json\r\n\
         Content-Length: {DECLARED_BODY_BYTES}\r\n\r\n{{"
    );
    if stream.write_all(head.as_bytes()).await.is_err() {
        return;
    }
    open.fetch_add(1, Ordering::Relaxed);
    let mut answer = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        if trickle && stream.write_all(b" ").await.is_err() {
            break;
        }
        match actix_web::rt::time::timeout(TRICKLE, stream.read(&mut answer)).await {
            // Still waiting for the rest of the body: hold on.
            Err(_) => continue,
            // Closed, or answered (busy, or timed out): start again.
            Ok(_) => break,
        }
    }
    open.fetch_sub(1, Ordering::Relaxed);
}
