//! Several processes of one clearing house over one PostgreSQL store: only the holder of the
//! cut-off lease cuts cycles, and another process takes over when it stops or dies. Two child
//! processes (this test binary again, each running the ignored `clearing_process` test) host a
//! clearing house each; the test itself, a third process-like writer with a store of its own,
//! records the submissions and never leads. The leader is stopped (SIGSTOP) and the other must
//! cut the next cycle; the old leader, resumed, must not; then the new leader is killed
//! (SIGKILL) and the first must cut the cycle after. Every cycle is cut once, by the process
//! expected, and holds exactly its submission's claim. And a leader killed between a cut and
//! its report's delivery: the next leader delivers that report, once to each participant.

mod clearing_common;
#[path = "../../storage/tests/common/pg.rs"]
mod pg;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::sync::mpsc::{Receiver, Sender};
use std::time::{Duration, Instant};

use clearing_common::*;
use semper_actors::clearing::{ClearingConfig, ClearingHandle, ClearingState, submit};
use semper_actors::clock::SystemClock;
use semper_actors::gateway::{GatewayFuture, ReportSink};
use semper_protocol::ids::BankId;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_storage::Location;

const CONNINFO_VAR: &str = "SEMPER_CLEARING_LEADER_CONNINFO";
const DIR_VAR: &str = "SEMPER_CLEARING_LEADER_DIR";
const NAME_VAR: &str = "SEMPER_CLEARING_LEADER_NAME";
/// Set: the child's deliveries never end, as if it died right after its cut.
const HOLD_VAR: &str = "SEMPER_CLEARING_LEADER_HOLD";
/// The longest a child lives, whatever happens to the test.
const CHILD_MAX: Duration = Duration::from_secs(90);
/// The longest the test waits for a child to say something: a takeover takes the lease's time
/// to live (3 s) and a renewal period (1 s), plus the cycle's age and a timer tick.
const SAY_MAX: Duration = Duration::from_secs(20);

/// The clearing house's config in every process: its store in `conninfo`, its key under `dir`,
/// cycles cut 300 ms after their first submission, looked at every 50 ms.
fn config(dir: &Path, conninfo: &str) -> ClearingConfig {
    let mut config = Fixture::new("leader-config").config();
    config.data_dir = dir.to_path_buf();
    config.store = Some(Location::Postgres(conninfo.to_owned()));
    config.cycle_max_ms = 300;
    config.cycle_check_ms = 50;
    config
}

/// Prints `DELIVERED <sequence> <participant> <process>` for each report a child delivers to
/// each participant, and `CUT <sequence> <process>` once per report (at its delivery to one
/// participant). Holding, it prints `HELD <sequence> <participant> <process>` instead, and the
/// delivery never ends.
struct PrintingSink {
    name: String,
    hold: bool,
}

impl ReportSink for PrintingSink {
    fn deliver(
        &self,
        participant: BankId,
        report: SignedSettlementReport,
    ) -> GatewayFuture<'_, ()> {
        let sequence = report.body().fields().sequence;
        let name = &self.name;
        if self.hold {
            println!("HELD {sequence} {participant} {name}");
            std::io::stdout().flush().unwrap();
            return Box::pin(std::future::pending());
        }
        println!("DELIVERED {sequence} {participant} {name}");
        if participant == ACQUIRER_1 {
            println!("CUT {sequence} {name}");
        }
        std::io::stdout().flush().unwrap();
        Box::pin(async { Ok(()) })
    }
}

/// The child's side: a clearing house over the shared store until it is killed (or
/// [`CHILD_MAX`] passes), printing `LEADS <process> <bool>` whenever its leadership changes.
#[test]
#[ignore = "the child process of the_cut_off_moves_to_another_process_when_its_holder_stops_or_dies"]
fn clearing_process() {
    let (Ok(conninfo), Ok(dir), Ok(name)) = (
        std::env::var(CONNINFO_VAR),
        std::env::var(DIR_VAR),
        std::env::var(NAME_VAR),
    ) else {
        return;
    };
    let config = config(Path::new(&dir), &conninfo);
    run(async move {
        let state = ClearingState::open(&config, Arc::new(SystemClock)).unwrap();
        let sink = Arc::new(PrintingSink {
            name: name.clone(),
            hold: std::env::var_os(HOLD_VAR).is_some(),
        });
        let _handle = ClearingHandle::start(state.clone(), sink, 64);
        let mut leads = None;
        let started = Instant::now();
        while started.elapsed() < CHILD_MAX {
            let now = state.cycles.leads();
            if leads != Some(now) {
                println!("LEADS {name} {now}");
                std::io::stdout().flush().unwrap();
                leads = Some(now);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
}

/// A child process, killed (SIGCONT then SIGKILL, by its PID) when dropped.
struct Process {
    child: Child,
}

impl Process {
    fn start(name: &str, dir: &Path, conninfo: &str, lines: Sender<String>) -> Self {
        Self::start_with(name, dir, conninfo, lines, false)
    }

    /// Starts a child whose deliveries never end when `hold`.
    fn start_with(
        name: &str,
        dir: &Path,
        conninfo: &str,
        lines: Sender<String>,
        hold: bool,
    ) -> Self {
        let mut command = Command::new(std::env::current_exe().unwrap());
        if hold {
            command.env(HOLD_VAR, "1");
        }
        let mut child = command
            .args([
                "clearing_process",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads",
                "1",
            ])
            .env(CONNINFO_VAR, conninfo)
            .env(DIR_VAR, dir)
            .env(NAME_VAR, name)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child }
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`) to the process, by its PID.
    fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{signal} failed");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            self.signal("CONT");
            self.signal("KILL");
        }
        let _ = self.child.wait();
    }
}

/// Every line the children printed, and a way to wait for one.
struct Lines {
    receiver: Receiver<String>,
    seen: Vec<String>,
}

impl Lines {
    /// Waits for `line` (a line seen already counts); how long it took.
    fn expect(&mut self, line: &str) -> Duration {
        let started = Instant::now();
        if self.seen.iter().any(|seen| seen == line) {
            return Duration::ZERO;
        }
        loop {
            let left = SAY_MAX.saturating_sub(started.elapsed());
            match self.receiver.recv_timeout(left) {
                Ok(got) => {
                    let got = said(&got);
                    let found = got == line;
                    self.seen.push(got);
                    if found {
                        return started.elapsed();
                    }
                }
                Err(_) => panic!("no `{line}` within {SAY_MAX:?}; seen {:?}", self.seen),
            }
        }
    }

    /// Every line, once the children are gone.
    fn all(mut self) -> Vec<String> {
        self.seen
            .extend(self.receiver.try_iter().map(|line| said(&line)));
        self.seen
    }
}

/// What a child said on a line: the test harness writes its own words before the first.
fn said(line: &str) -> String {
    ["LEADS ", "CUT ", "DELIVERED ", "HELD "]
        .iter()
        .find_map(|word| line.find(word).map(|at| line[at..].to_owned()))
        .unwrap_or_else(|| line.to_owned())
}

/// The test's own writer: a clearing house over the same database, with a store of its own,
/// which records submissions and never leads.
struct Writer {
    state: Arc<ClearingState>,
    sink: Arc<dyn ReportSink>,
}

impl Writer {
    fn open(dir: &Path, conninfo: &str) -> Self {
        let state = ClearingState::open(&config(dir, conninfo), Arc::new(SystemClock)).unwrap();
        assert!(!state.cycles.leads());
        let (deliveries, _ignored) = tokio::sync::mpsc::unbounded_channel();
        let sink: Arc<dyn ReportSink> = Arc::new(TestSink {
            delivered: deliveries,
            failures_left: AtomicUsize::new(0),
        });
        Self { state, sink }
    }

    /// Submits acquirer 1's submission `id`, one confirmation of EUR 1.00, which must land in
    /// cycle `id`.
    fn submit(&self, id: u8) {
        let receipt = run(submit::run(
            self.state.clone(),
            self.sink.clone(),
            submission(
                ACQUIRER_1,
                id,
                vec![confirmation(ISSUER_1, ACQUIRER_1, id, &[id], "EUR:1.00")],
            ),
        ))
        .unwrap();
        assert_eq!(receipt.body().cycle_sequence, u64::from(id));
    }

    /// The cycles whose report is marked undelivered.
    fn undelivered(&self) -> Vec<u64> {
        semper_storage::clearing::undelivered(&self.state.store, 16).unwrap()
    }

    /// Waits until no report is marked undelivered: every delivery begun has ended.
    fn wait_delivered(&self) {
        let started = Instant::now();
        while !self.undelivered().is_empty() {
            assert!(
                started.elapsed() < SAY_MAX,
                "undelivered: {:?}",
                self.undelivered()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn the_cut_off_moves_to_another_process_when_its_holder_stops_or_dies() {
    let server = pg::PgServer::start();
    let conninfo = server.new_database();
    let f = Fixture::new("leader");
    let dir: PathBuf = f.dir.join("clearing");
    // One key for every process of the clearing house, made before any starts.
    ClearingState::provision(&dir).unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut lines = Lines {
        receiver,
        seen: Vec::new(),
    };
    let a = Process::start("A", &dir, &conninfo, sender.clone());
    lines.expect("LEADS A true");
    let b = Process::start("B", &dir, &conninfo, sender);
    lines.expect("LEADS B false");

    let writer = Writer::open(&dir, &conninfo);
    let submit = |id: u8| writer.submit(id);

    submit(1);
    lines.expect("CUT 1 A");
    // Its delivery ended (else the next leader would deliver it again, which is safe, but
    // would print a second CUT 1).
    writer.wait_delivered();

    // A stalls: B takes the lease over and cuts the next cycle.
    a.signal("STOP");
    let stopped = Instant::now();
    submit(2);
    lines.expect("CUT 2 B");
    println!(
        "takeover after SIGSTOP: cycle 2 cut {:?} after",
        stopped.elapsed()
    );
    // A resumes: it knows it lost the lease, and cuts nothing.
    a.signal("CONT");
    lines.expect("LEADS A false");
    submit(3);
    lines.expect("CUT 3 B");
    writer.wait_delivered();

    // B dies: A takes the lease back and cuts the cycle after.
    b.signal("KILL");
    let killed = Instant::now();
    submit(4);
    lines.expect("CUT 4 A");
    println!(
        "takeover after SIGKILL: cycle 4 cut {:?} after",
        killed.elapsed()
    );

    drop(a);
    drop(b);
    let cuts: Vec<String> = lines
        .all()
        .into_iter()
        .filter(|line| line.starts_with("CUT "))
        .collect();
    assert_eq!(cuts, ["CUT 1 A", "CUT 2 B", "CUT 3 B", "CUT 4 A"]);
    // Each cycle's report, as stored, holds exactly its own submission's claim.
    for sequence in 1..=4u8 {
        let report = semper_storage::clearing::report(&writer.state.store, u64::from(sequence))
            .unwrap()
            .unwrap();
        let obligations = &report.body().fields().obligations;
        assert_eq!(obligations.len(), 1, "cycle {sequence}");
        assert_eq!(obligations[0].amount, eur("1.00"), "cycle {sequence}");
    }
    assert!(
        semper_storage::clearing::report(&writer.state.store, 5)
            .unwrap()
            .is_none()
    );
}

#[test]
fn a_report_cut_by_a_leader_killed_before_delivering_it_is_delivered_once_by_the_next() {
    let server = pg::PgServer::start();
    let conninfo = server.new_database();
    let f = Fixture::new("undelivered");
    let dir: PathBuf = f.dir.join("clearing");
    ClearingState::provision(&dir).unwrap();
    let participants: Vec<BankId> = config(&dir, &conninfo)
        .participants
        .iter()
        .map(|participant| participant.bank)
        .collect();
    let (sender, receiver) = std::sync::mpsc::channel();
    let mut lines = Lines {
        receiver,
        seen: Vec::new(),
    };
    // A leads, and its deliveries never end: killed after its cut, it delivered nothing.
    let a = Process::start_with("A", &dir, &conninfo, sender.clone(), true);
    lines.expect("LEADS A true");
    let b = Process::start("B", &dir, &conninfo, sender.clone());
    lines.expect("LEADS B false");
    let writer = Writer::open(&dir, &conninfo);

    writer.submit(1);
    for participant in &participants {
        lines.expect(&format!("HELD 1 {participant} A"));
    }
    assert_eq!(writer.undelivered(), [1]);
    a.signal("KILL");

    // B takes the lease over and delivers the report from the database alone.
    for participant in &participants {
        lines.expect(&format!("DELIVERED 1 {participant} B"));
    }
    writer.wait_delivered();
    // A third process, and B's death: C leads, and finds nothing left to deliver.
    let c = Process::start("C", &dir, &conninfo, sender);
    lines.expect("LEADS C false");
    b.signal("KILL");
    lines.expect("LEADS C true");
    writer.submit(2);
    for participant in &participants {
        lines.expect(&format!("DELIVERED 2 {participant} C"));
    }
    writer.wait_delivered();

    drop(a);
    drop(b);
    drop(c);
    let mut delivered: Vec<String> = lines
        .all()
        .into_iter()
        .filter(|line| line.starts_with("DELIVERED "))
        .collect();
    delivered.sort();
    let mut expected: Vec<String> = participants
        .iter()
        .flat_map(|participant| {
            [
                format!("DELIVERED 1 {participant} B"),
                format!("DELIVERED 2 {participant} C"),
            ]
        })
        .collect();
    expected.sort();
    // Each report reached each participant exactly once.
    assert_eq!(delivered, expected);
}
