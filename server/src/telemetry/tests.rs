//! The exporter renders real histograms, and the committer and the mailboxes record into it.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use actix::prelude::*;
use metrics_exporter_prometheus::{PrometheusHandle, PrometheusRecorder};
use semper_actors::mailbox::{self, MailboxDepth, MailboxError, Queued, Reply};
use semper_actors::metrics::ACTOR_MAILBOX_DEPTH;
use semper_storage::commit::{GroupReader, Transaction, WriteSet};
use semper_storage::metrics::{COMMIT_GROUP_TRANSACTIONS, COMMIT_SECONDS, MEMORY_BYTES};
use semper_storage::schema::Column;
use semper_storage::{CommitConfig, Committer, Role, StorageError, Store};

use super::metrics::{self as telemetry, REQUIRED_SERIES, SIZE_BUCKETS};

/// A recorder of this thread only, configured and described as the process's is.
fn local_recorder() -> (PrometheusRecorder, PrometheusHandle) {
    let recorder = telemetry::builder().unwrap().build_recorder();
    let handle = recorder.handle();
    metrics::with_local_recorder(&recorder, telemetry::describe);
    (recorder, handle)
}

/// A fresh directory under the system temp dir, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> Self {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let unique = format!(
            "semper-{name}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(unique);
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Writes one record.
#[derive(Clone)]
struct PutOne;

impl Transaction for PutOne {
    type Output = ();

    fn apply(self, _: &GroupReader<'_>) -> Result<((), WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        writes.put(Column::CreditReferences, b"telemetry".to_vec(), vec![1]);
        Ok(((), writes))
    }
}

#[test]
fn telemetry_committer_records_commit_time_and_group_size() {
    let (recorder, handle) = local_recorder();
    let dir = TempDir::new("telemetry-commit");
    metrics::with_local_recorder(&recorder, || {
        let store = Store::open(&dir.0, Role::Issuer).unwrap();
        let committer = Committer::start(store, CommitConfig::default());
        committer.execute(PutOne).unwrap();
    });
    let text = handle.render();
    assert!(
        text.contains(&format!("# TYPE {COMMIT_SECONDS} histogram")),
        "{text}"
    );
    assert!(
        text.contains(&format!("{COMMIT_SECONDS}_count{{role=\"issuer\"}} 1")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{COMMIT_GROUP_TRANSACTIONS}_bucket{{role=\"issuer\",le=\"1\"}} 1"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{COMMIT_GROUP_TRANSACTIONS}_sum{{role=\"issuer\"}} 1"
        )),
        "{text}"
    );
    // After answering the group, the committer reads RocksDB's memory: the memtable holds the
    // write.
    let memtables = |text: &str| -> Option<f64> {
        text.lines()
            .find(|line| {
                line.starts_with(MEMORY_BYTES)
                    && line.contains("role=\"issuer\"")
                    && line.contains("kind=\"memtables\"")
            })
            .and_then(|line| line.rsplit(' ').next()?.parse().ok())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let bytes = loop {
        match memtables(&handle.render()) {
            Some(bytes) => break bytes,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(20))
            }
            None => panic!(
                "no {MEMORY_BYTES} of the issuer's memtables: {}",
                handle.render()
            ),
        }
    };
    assert!(bytes > 0.0, "memtables of {bytes} bytes after a write");
}

/// An actor that answers with the depth of its own mailbox when it handles a message.
struct Probe {
    depth: MailboxDepth,
}

impl Actor for Probe {
    type Context = Context<Self>;
}

#[derive(Debug, PartialEq)]
enum ProbeError {
    Busy,
    Stopped,
}

impl MailboxError for ProbeError {
    fn busy() -> Self {
        Self::Busy
    }
    fn stopped() -> Self {
        Self::Stopped
    }
}

/// Asks for the depth the handler sees.
#[derive(Message)]
#[rtype(result = "()")]
struct Ping {
    reply: Reply<usize, ProbeError>,
}

impl Handler<Ping> for Probe {
    type Result = ();

    fn handle(&mut self, message: Ping, _: &mut Self::Context) {
        let _ = message.reply.send(Ok(self.depth.get()));
    }
}

semper_actors::counted_mailbox!(Probe: Ping);

fn depth_line(value: usize) -> String {
    format!("{ACTOR_MAILBOX_DEPTH}{{actor=\"probe\"}} {value}")
}

#[test]
fn telemetry_mailbox_depth_goes_up_and_back_down() {
    let (recorder, handle) = local_recorder();
    metrics::with_local_recorder(&recorder, || {
        System::new().block_on(async {
            let depth = MailboxDepth::new("probe");
            let probe = Probe {
                depth: depth.clone(),
            }
            .start();

            // Two calls queued before the actor runs: each handler has taken its own message.
            let ping = |reply: Reply<usize, ProbeError>| Ping { reply };
            let seen = tokio::join!(
                mailbox::call(&probe, &depth, ping),
                mailbox::call(&probe, &depth, ping)
            );
            assert_eq!(seen, (Ok(1), Ok(0)));
            assert_eq!(depth.get(), 0);

            // Waiting in the mailbox, then handled.
            let (sender, receiver) = tokio::sync::oneshot::channel();
            probe
                .try_send(Queued::new(&depth, Ping { reply: sender }))
                .map_err(|_| "refused")
                .unwrap();
            assert_eq!(depth.get(), 1);
            assert!(
                handle.render().contains(&depth_line(1)),
                "{}",
                handle.render()
            );
            assert_eq!(receiver.await.unwrap(), Ok(0));
            assert_eq!(depth.get(), 0);

            // A message dropped unhandled gives its slot back.
            let (sender, _receiver) = tokio::sync::oneshot::channel();
            drop(Queued::new(&depth, Ping { reply: sender }));
            assert_eq!(depth.get(), 0);
        });
    });
    assert!(
        handle.render().contains(&depth_line(0)),
        "{}",
        handle.render()
    );
}

#[test]
fn telemetry_refused_messages_are_not_counted() {
    System::new().block_on(async {
        let depth = MailboxDepth::new("probe");
        let probe = Probe::create(|context| {
            context.set_mailbox_capacity(1);
            Probe {
                depth: depth.clone(),
            }
        });
        let mut answers = Vec::new();
        let refused = loop {
            let (sender, receiver) = tokio::sync::oneshot::channel();
            match probe.try_send(Queued::new(&depth, Ping { reply: sender })) {
                Ok(()) => answers.push(receiver),
                Err(refused) => break refused,
            }
            assert!(answers.len() < 64, "the mailbox never filled");
        };
        assert!(matches!(refused, SendError::Full(_)));
        drop(refused);
        assert_eq!(depth.get(), answers.len());
        for answer in answers {
            assert!(answer.await.unwrap().is_ok());
        }
        assert_eq!(depth.get(), 0);
    });
}

#[test]
fn telemetry_install_renders_histograms_with_buckets() {
    let exporter = telemetry::install().unwrap();
    let again = telemetry::install().unwrap();
    metrics::histogram!(COMMIT_SECONDS, "role" => "telemetry_test").record(0.0002);
    metrics::histogram!(COMMIT_GROUP_TRANSACTIONS, "role" => "telemetry_test").record(3.0);
    let text = exporter.render();
    assert!(
        text.contains(&format!("# HELP {COMMIT_SECONDS} ")),
        "described: {text}"
    );
    assert!(
        text.contains(&format!("# TYPE {COMMIT_SECONDS} histogram")),
        "{text}"
    );
    for (le, count) in [("0.0001", 0), ("0.00025", 1), ("10", 1), ("+Inf", 1)] {
        let line =
            format!("{COMMIT_SECONDS}_bucket{{role=\"telemetry_test\",le=\"{le}\"}} {count}");
        assert!(text.contains(&line), "{line} in {text}");
    }
    for le in SIZE_BUCKETS {
        let line =
            format!("{COMMIT_GROUP_TRANSACTIONS}_bucket{{role=\"telemetry_test\",le=\"{le}\"}}");
        assert!(text.contains(&line), "{line} in {text}");
    }
    assert!(!text.contains("quantile="), "no summaries: {text}");
    // The second install is the same recorder.
    assert!(again.render().contains("role=\"telemetry_test\""));
    for series in REQUIRED_SERIES {
        assert!(series.starts_with("semper_"), "{series}");
    }
}

/// Answers `fail` with an error, anything else with itself.
struct Echo;

impl semper_link::Handler for Echo {
    fn request(
        &self,
        _: semper_link::PeerIdentity,
        payload: Vec<u8>,
    ) -> semper_link::HandlerFuture<Vec<u8>> {
        Box::pin(async move {
            match payload.as_slice() {
                b"fail" => Err(semper_link::RemoteError::new("test.refused", "on purpose")),
                _ => Ok(payload),
            }
        })
    }

    fn one_way(&self, _: semper_link::PeerIdentity, _: Vec<u8>) -> semper_link::HandlerFuture<()> {
        Box::pin(async { Ok(()) })
    }
}

#[test]
fn telemetry_link_counts_requests_and_reconnects_per_peer() {
    use std::sync::Arc;
    use std::time::Duration;

    use semper_link::metrics::{LINK_RECONNECTS, LINK_REQUEST_SECONDS, LINK_REQUESTS};
    use semper_link::{
        Identity, Link, LinkConfig, LinkServer, LinkServerConfig, Role, RoleSet, TrustStore,
        TrustedPeer, Validity,
    };
    use semper_protocol::ids::BankId;

    let day = Duration::from_secs(24 * 60 * 60);
    let identity =
        |n: u8| Identity::generate(BankId([n; 16]), Validity::starting_now(day)).unwrap();
    let trusting = |peer: &Identity, role: Role| {
        Arc::new(
            TrustStore::new([TrustedPeer {
                bank: peer.bank(),
                roles: RoleSet::of(&[role]),
                certificate: peer.certificate().clone(),
            }])
            .unwrap(),
        )
    };
    let (issuer, acquirer) = (identity(0x71), identity(0x72));
    let (recorder, handle) = local_recorder();
    metrics::with_local_recorder(&recorder, || {
        System::new().block_on(async {
            let bind = |addr: std::net::SocketAddr| {
                let config =
                    LinkServerConfig::new(issuer.clone(), trusting(&acquirer, Role::Acquirer));
                LinkServer::bind(addr, config, Arc::new(Echo))
            };
            let first = bind(std::net::SocketAddr::from(([127, 0, 0, 1], 0))).unwrap();
            let addr = first.local_addr();
            let mut config = LinkConfig::new(
                addr,
                issuer.bank(),
                acquirer.clone(),
                trusting(&issuer, Role::Issuer),
            );
            config.limits.request_timeout = Duration::from_secs(2);
            let link = Link::open(config).unwrap();
            assert_eq!(link.request(b"one".to_vec()).await.unwrap(), b"one");
            assert!(link.request(b"fail".to_vec()).await.is_err());

            // The peer restarts: the next connection is a reconnect.
            first.shutdown(Duration::ZERO).await;
            let mut second = None;
            for _ in 0..100 {
                match bind(addr) {
                    Ok(server) => {
                        second = Some(server);
                        break;
                    }
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
            let second = second.expect("the peer's address is free again");
            let mut answered = false;
            for _ in 0..20 {
                if link.request(b"two".to_vec()).await.is_ok() {
                    answered = true;
                    break;
                }
            }
            assert!(answered, "the link came back");
            second.shutdown(Duration::ZERO).await;
        });
    });
    let text = handle.render();
    let peer = issuer.bank().to_string();
    for line in [
        format!("{LINK_REQUESTS}{{peer=\"{peer}\",result=\"ok\"}} 2"),
        format!("{LINK_REQUESTS}{{peer=\"{peer}\",result=\"link.remote\"}} 1"),
        format!("{LINK_REQUEST_SECONDS}_count{{peer=\"{peer}\"}} 3"),
        format!("{LINK_RECONNECTS}{{peer=\"{peer}\"}} 1"),
    ] {
        assert!(text.contains(&line), "{line} in {text}");
    }
}
