//! A link certificate rotation across the running multi-bank example (five `semper` processes
//! over loopback QUIC), as SECURITY.md's ceremony does it, while payments flow: acquirer-1's
//! certificate, then the clearing house's, each in two steps with a reload (SIGHUP) of every
//! process between. Every payment made meanwhile is accepted, and settles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use semper_client::parties::{Merchant, Wallet, withdrawable};
use semper_loadtest::multibank::{self, BANKS, Carrier, RotationStep};
use semper_loadtest::target::Endpoint;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::ids::{BankId, ContractHash};
use semper_server::config::{BankCard, CARD_FILE};
use semper_server::keytool::parse_bank_id;

use super::process::{self, Process};
use super::{TOKEN, TempDir, all_accepted, now};

/// Coins of each payment.
const COINS_PER_PAYMENT: usize = 2;
/// Payments made at most, whatever happens: the load is bounded.
const PAYMENTS_MAX: usize = 2_000;
/// Payments that must be accepted after each step, so that each phase carries traffic.
const PAYMENTS_PER_PHASE: usize = 3;
/// The longest the test waits for payments of a phase, or for everything paid to settle.
const WAIT_MAX: Duration = Duration::from_secs(90);
/// The banks rotated, by their index in [`BANKS`]: acquirer-1, then the clearing house.
const ROTATED: [usize; 2] = [3, 0];

/// What the paying thread did.
#[derive(Default)]
struct Paid {
    /// Value accepted, in minor units, at each acquirer (by index in the targets).
    accepted_minor: [u64; 2],
    /// Every payment that was not wholly accepted, with why.
    failures: Vec<String>,
}

#[test]
fn a_link_certificate_rotates_across_five_processes_with_no_failed_payment() {
    let dir = TempDir::new("rotation");
    let binary = &process::binary();
    let deployment = multibank::deployment(&dir.0, Carrier::Quic, TOKEN).unwrap();
    let mut processes: Vec<Process> = deployment
        .start(binary, &dir.0)
        .unwrap_or_else(|error| panic!("{error}"));
    let targets = deployment.targets.clone();
    let eur = Currency::new("EUR").unwrap();

    // One payment at each acquirer before the rotation: the acquirers know the issuers' keys.
    let first = payment(&targets.issuers[0], &targets.acquirers[0], eur).unwrap();
    let second = payment(&targets.issuers[0], &targets.acquirers[1], eur).unwrap();

    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicUsize::new(0));
    let payer = std::thread::spawn({
        let (stop, count, targets) = (stop.clone(), count.clone(), targets.clone());
        move || pay_until_stopped(&targets, eur, &stop, &count)
    });
    let phase_done = |count: &AtomicUsize| {
        let from = count.load(Ordering::SeqCst);
        let deadline = Instant::now() + WAIT_MAX;
        while count.load(Ordering::SeqCst) < from + PAYMENTS_PER_PHASE {
            assert!(Instant::now() < deadline, "payments stopped flowing");
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    phase_done(&count);

    for rotated in ROTATED {
        let bank = BANKS[rotated];
        let card_path = dir.0.join("data").join(bank.name).join(CARD_FILE);
        let before = BankCard::read(&card_path, "card").unwrap();
        assert_eq!(before.next_certificate, None);

        // Step 1: the next certificate beside the current one; every bank reloads.
        multibank::rotate(
            binary,
            &dir.0,
            &deployment.nodes[rotated],
            RotationStep::Begin,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let during = BankCard::read(&card_path, "card").unwrap();
        assert_eq!(during.certificate, before.certificate);
        let next = during
            .next_certificate
            .clone()
            .expect("a second certificate");
        for process in processes.iter_mut() {
            reload(process);
        }
        phase_done(&count);

        // Step 2: the next becomes current; the rotated bank reloads first, then its peers.
        multibank::rotate(
            binary,
            &dir.0,
            &deployment.nodes[rotated],
            RotationStep::Finish,
        )
        .unwrap_or_else(|error| panic!("{error}"));
        let after = BankCard::read(&card_path, "card").unwrap();
        assert_eq!(
            (after.certificate.as_str(), after.next_certificate),
            (next.as_str(), None)
        );
        reload(&mut processes[rotated]);
        phase_done(&count);
        for (index, process) in processes.iter_mut().enumerate() {
            if index != rotated {
                reload(process);
            }
        }
        phase_done(&count);
    }

    stop.store(true, Ordering::SeqCst);
    let paid = payer.join().unwrap();
    assert!(
        paid.failures.is_empty(),
        "{} of {} payments failed during the rotation:\n{}",
        paid.failures.len(),
        count.load(Ordering::SeqCst) + paid.failures.len(),
        paid.failures.join("\n")
    );
    println!(
        "rotation: {} payments accepted during two certificate rotations, none failed",
        count.load(Ordering::SeqCst)
    );

    // Everything paid settles: the reports oblige issuer-1 to each acquirer for all of it.
    let issuer = parse_bank_id(BANKS[1].id).unwrap();
    let owed = [
        first + paid.accepted_minor[0],
        second + paid.accepted_minor[1],
    ];
    let acquirers: Vec<BankId> = targets.acquirers.iter().map(|a| a.bank.unwrap()).collect();
    let mut clearing = targets.clearing.api();
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let reports = clearing.reports(0).unwrap();
        let settled: Vec<u64> = acquirers
            .iter()
            .map(|acquirer| {
                (reports.iter())
                    .flat_map(|report| report.body().fields().obligations.iter())
                    .filter(|o| o.issuer == issuer && o.acquirer == *acquirer)
                    .map(|o| o.amount.minor_units())
                    .sum()
            })
            .collect();
        if settled == owed {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "settled {settled:?} of {owed:?} in time"
        );
        std::thread::sleep(Duration::from_millis(250));
    }

    // Each process exports the expiry of the certificates it depends on, the rotated ones too.
    let metrics = targets.acquirers[1].api().metrics().unwrap();
    for bank in ROTATED.map(|index| BANKS[index].id) {
        let series = format!("semper_link_certificate_expiry_seconds{{bank=\"{bank}\"}}");
        assert!(metrics.contains(&series), "no {series} in:\n{metrics}");
    }

    for (bank, process) in BANKS.iter().map(|bank| bank.name).zip(processes.drain(..)) {
        let (status, output) = process::terminate(process);
        assert!(
            status.success(),
            "{bank}: {status:?}\n{}",
            output.join("\n")
        );
    }
}

/// Sends SIGHUP to `process` and waits until it says it reloaded.
fn reload(process: &mut Process) {
    let pid = libc::pid_t::try_from(process.pid()).unwrap();
    // SAFETY: kill has no memory effects; the pid is our own child's, not yet reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let line = process
        .wait_for_line("SIGHUP:")
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(line.contains("reloaded"), "{line}");
}

/// One payment: a new wallet of `issuer` withdraws coins and pays a new merchant of
/// `acquirer` with them; returns the value accepted, in minor units.
fn payment(issuer: &Endpoint, acquirer: &Endpoint, eur: Currency) -> Result<u64, String> {
    let mut issuer_api = issuer.api();
    let mut acquirer_api = acquirer.api();
    let denomination = withdrawable(
        &issuer_api.denominations().map_err(|e| e.to_string())?,
        now(),
    )
    .ok_or("no withdrawable denomination")?;
    let funding: Amount = "EUR:100.00".parse().map_err(|_| "bad amount")?;
    let reference = format!("rotation-{}", rand::random::<u64>());
    let wallet =
        Wallet::open(&mut issuer_api, eur, funding, &reference).map_err(|e| e.to_string())?;
    let coins = wallet
        .withdraw(&mut issuer_api, &denomination, COINS_PER_PAYMENT)
        .map_err(|e| format!("withdraw: {e}"))?
        .coins;
    let merchant = Merchant::register(&mut acquirer_api, acquirer.bank.ok_or("no bank")?)
        .map_err(|e| e.to_string())?;
    let deposit = merchant
        .deposit_of(&coins, ContractHash(rand::random()), now())
        .map_err(|e| e.to_string())?;
    let answer = merchant
        .deposit(&mut acquirer_api, &deposit)
        .map_err(|e| format!("deposit: {e}"))?;
    if !all_accepted(answer.results()) {
        return Err(format!("deposit not accepted: {answer:?}"));
    }
    Ok(COINS_PER_PAYMENT as u64 * denomination.fields().value.minor_units())
}

/// Pays at each acquirer in turn until `stop` (or [`PAYMENTS_MAX`]), counting accepted payments
/// in `count`.
fn pay_until_stopped(
    targets: &semper_loadtest::target::Targets,
    eur: Currency,
    stop: &AtomicBool,
    count: &AtomicUsize,
) -> Paid {
    let mut paid = Paid::default();
    for attempt in 0..PAYMENTS_MAX {
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let at = attempt % 2;
        match payment(&targets.issuers[0], &targets.acquirers[at], eur) {
            Ok(minor) => {
                paid.accepted_minor[at] += minor;
                count.fetch_add(1, Ordering::SeqCst);
            }
            Err(error) => paid.failures.push(format!("payment {attempt}: {error}")),
        }
    }
    paid
}
