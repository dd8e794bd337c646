//! The signer killed under load (issue 22): withdrawals answer 503 with `Retry-After` while it
//! is down and go through once it is back, and nothing is lost or signed twice for one
//! withdrawal. Clients resend each withdrawal (the same request) until it is answered; at the
//! end every acknowledged withdrawal is in the signer's journal counts, the counts exceed them
//! by at most the batches in flight at the kill (journaled, then the answer lost with the
//! process: signed again on the resend, the same blinded messages giving the same signatures,
//! so no extra coin), a replay of every acknowledged withdrawal is answered from the issuer's
//! record without a signature more, and every account was debited exactly its coins.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use semper_actors::signer::{Signer, SocketSigner};
use semper_client::Api;
use semper_client::api::ApiError;
use semper_client::parties::{PartyError, Wallet, withdrawable};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::wallet;

use super::process;
use super::signer::SignerProcess;
use super::{TOKEN, TempDir, now};

/// Clients withdrawing at once.
const CLIENTS: usize = 4;
/// Withdrawals each client makes.
const WITHDRAWALS: usize = 12;
/// Coins per withdrawal.
const COINS: usize = 8;
/// How long the signer stays down.
const DOWN: Duration = Duration::from_secs(2);
/// The whole test's bound.
const DEADLINE: Duration = Duration::from_secs(180);

/// What one client saw: its acknowledged withdrawals, and the 503 answers with Retry-After.
struct Client {
    wallet: Wallet,
    done: Vec<(SignedWithdrawRequest, WithdrawResponse)>,
    unavailable: usize,
}

fn client(
    mut api: Api,
    wallet: Wallet,
    denomination: semper_protocol::denomination::Denomination,
    progress: Arc<AtomicUsize>,
    deadline: Instant,
) -> Client {
    let mut done = Vec::new();
    let mut unavailable = 0;
    for _ in 0..WITHDRAWALS {
        let (request, planned) = wallet.prepare_withdraw(&denomination, COINS).unwrap();
        let response = loop {
            assert!(Instant::now() < deadline, "withdrawals did not resume");
            match api.withdraw(&request) {
                Ok(response) => break response,
                Err(ApiError::Refused {
                    status: 503,
                    retry_after_s: Some(_),
                    ..
                }) => {
                    unavailable += 1;
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(error) => panic!("{error}"),
            }
        };
        // Every signature the client got makes a valid coin.
        wallet::finalize_coins(request.body().request_id, planned, &response)
            .map_err(PartyError::from)
            .unwrap();
        done.push((request, response));
        progress.fetch_add(1, Ordering::SeqCst);
    }
    Client {
        wallet,
        done,
        unavailable,
    }
}

#[test]
fn withdrawals_answer_503_while_the_signer_is_down_resume_and_nothing_is_lost_or_signed_twice() {
    let deadline = Instant::now() + DEADLINE;
    let dir = TempDir::new("signer-kill");
    let keys = dir.0.join("signer");
    let socket = dir.0.join("signer.sock");
    let mut signer = SignerProcess::start(&keys, &socket);
    let mut env = super::overrides(&dir.0);
    env.push((
        "SEMPER__BANKS__0__ISSUER__SIGNER_SOCKET".into(),
        socket.display().to_string(),
    ));
    let semper = process::start(&[], &env, &dir.0);
    let mut api = Api::new(semper.http, Some(TOKEN.into()));
    let denomination = withdrawable(&api.denominations().unwrap(), now()).unwrap();
    let value = denomination.fields().value;
    let eur = Currency::new("EUR").unwrap();
    let funding: Amount = "EUR:500.00".parse().unwrap();

    let progress = Arc::new(AtomicUsize::new(0));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|i| {
            let wallet = Wallet::open(&mut api, eur, funding, &format!("transfer-{i}")).unwrap();
            let api = Api::new(semper.http, Some(TOKEN.into()));
            let (denomination, progress) = (denomination.clone(), progress.clone());
            std::thread::spawn(move || client(api, wallet, denomination, progress, deadline))
        })
        .collect();

    // Under load: kill the signer (SIGKILL, by its PID), keep it down, start it again.
    while progress.load(Ordering::SeqCst) < CLIENTS {
        assert!(Instant::now() < deadline, "no withdrawal went through");
        std::thread::sleep(Duration::from_millis(20));
    }
    signer.0.kill().unwrap();
    signer.0.wait().unwrap();
    let at_kill = progress.load(Ordering::SeqCst);
    std::thread::sleep(DOWN);
    let while_down = progress.load(Ordering::SeqCst);
    signer = SignerProcess::start(&keys, &socket);
    let clients: Vec<Client> = clients.into_iter().map(|c| c.join().unwrap()).collect();

    // Down: nothing acknowledged but what was in flight, and 503 with Retry-After answered.
    assert!(
        while_down - at_kill <= CLIENTS,
        "{at_kill} then {while_down}"
    );
    let unavailable: usize = clients.iter().map(|c| c.unavailable).sum();
    assert!(
        unavailable > 0,
        "no 503 with Retry-After while the signer was down"
    );
    // Back: every withdrawal went through.
    let acknowledged: usize = clients.iter().map(|c| c.done.len()).sum();
    assert_eq!(acknowledged, CLIENTS * WITHDRAWALS);

    // The journal counts every acknowledged coin, and more only by batches in flight at the kill.
    let counted = || -> u64 {
        let counts = SocketSigner::new(&socket).counts().unwrap();
        counts
            .iter()
            .filter(|c| c.denomination == denomination.id())
            .map(|c| c.signatures)
            .sum()
    };
    let signed = counted();
    let coins = (acknowledged * COINS) as u64;
    assert!(
        signed >= coins && signed - coins <= (CLIENTS * COINS) as u64,
        "the signer counts {signed} signatures for {coins} acknowledged coins"
    );
    // A replay of each acknowledged withdrawal is answered from the record: no signature more.
    for client in &clients {
        for (request, response) in &client.done {
            assert_eq!(&api.withdraw(request).unwrap(), response);
        }
    }
    assert_eq!(counted(), signed, "a replay was signed again");
    // Nothing lost, nothing debited twice.
    let spent = Amount::from_minor_units(eur, value.minor_units() * (WITHDRAWALS * COINS) as u64);
    for client in &clients {
        let balance = client.wallet.account_view(&mut api).unwrap().balance;
        assert_eq!(balance, funding.checked_sub(spent).unwrap());
    }
    eprintln!(
        "signer kill: {acknowledged} withdrawals acknowledged, {unavailable} answers 503 with \
         Retry-After while down, {signed} signatures counted for {coins} coins"
    );
    let (status, _) = process::terminate(semper);
    assert!(status.success());
    drop(signer);
}
