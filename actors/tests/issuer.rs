//! The issuer actor end to end: accounts, withdrawals, spend checks, key lifecycle, restarts.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::sync::Arc;

use common::*;
use semper_actors::clock::ManualClock;
use semper_actors::issuer::{IssuerConfig, IssuerError, IssuerHandle, IssuerState};
use semper_protocol::amount::Currency;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{AccountId, RequestId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse, SpendResult};
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::ledger;

struct Fixture {
    dir: PathBuf,
    clock: Arc<ManualClock>,
    acquirer_key: SigningKey,
    account_key: SigningKey,
}

impl Fixture {
    fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("semper-issuer-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Self {
            dir,
            clock: Arc::new(ManualClock::new(START)),
            acquirer_key: SigningKey::from_seed(&[2; 32]),
            account_key: SigningKey::from_seed(&[3; 32]),
        }
    }

    fn config(&self, in_flight_max: usize) -> IssuerConfig {
        issuer_config(self.dir.clone(), in_flight_max, &self.acquirer_key)
    }

    fn start(&self, in_flight_max: usize) -> IssuerHandle {
        let state = IssuerState::open(&self.config(in_flight_max), self.clock.clone()).unwrap();
        IssuerHandle::start(state, 64)
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn denomination(issuer: &IssuerHandle) -> Denomination {
    let set = issuer.denomination_set().unwrap();
    assert_eq!(set.verify(&issuer.state().public_keys.master), Ok(()));
    first_denomination(issuer)
}

async fn funded(issuer: &IssuerHandle, f: &Fixture, amount: &str) -> AccountId {
    let account = AccountId([7; 16]);
    let eur = Currency::new("EUR").unwrap();
    issuer
        .open_account(account, *f.account_key.verifying_key(), eur)
        .await
        .unwrap();
    issuer
        .credit(account, "transfer-1".into(), self::eur(amount))
        .await
        .unwrap();
    account
}

async fn withdraw(
    issuer: &IssuerHandle,
    f: &Fixture,
    account: AccountId,
    request: u8,
    coins: usize,
) -> Vec<WalletCoin> {
    let d = denomination(issuer);
    let request_id = RequestId([request; 16]);
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &f.account_key,
        account,
        request_id,
        &vec![d; coins],
    )
    .unwrap();
    let response = issuer.withdraw(request).await.unwrap();
    wallet::finalize_coins(request_id, planned, &response).unwrap()
}

fn pay(coins: &[WalletCoin], merchant: u8) -> Vec<SignedDepositPermission> {
    coins
        .iter()
        .map(|coin| permission(coin, merchant))
        .collect()
}

fn batch(f: &Fixture, id: u8, permissions: Vec<SignedDepositPermission>) -> SignedSpendCheckBatch {
    spend_batch(&f.acquirer_key, [id; 16], permissions)
}

fn run<F: std::future::Future>(future: F) -> F::Output {
    actix::System::new().block_on(future)
}

#[test]
fn withdraw_pay_and_spend_check_with_replays() {
    let f = Fixture::new("flow");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let coins = withdraw(&issuer, &f, account, 1, 4).await;
        assert_eq!(coins.len(), 4);

        // A replayed withdrawal gets the same signatures and is not debited again.
        let d = denomination(&issuer);
        let (request, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            RequestId([9; 16]),
            &[d],
        )
        .unwrap();
        let first = issuer.withdraw(request.clone()).await.unwrap();
        assert_eq!(issuer.withdraw(request).await.unwrap(), first);
        let balance = ledger::account(&issuer.state().store, &account)
            .unwrap()
            .unwrap()
            .balance;
        assert_eq!(balance, eur("5.00"));

        let permissions = pay(&coins, 1);
        let answer = issuer
            .spend_check(batch(&f, 1, permissions.clone()))
            .await
            .unwrap();
        assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted; 4]);
        let confirmation = answer.confirmation.clone().unwrap();
        assert_eq!(
            confirmation.verify(&issuer.state().public_keys.confirmation),
            Ok(())
        );
        assert_eq!(confirmation.total().unwrap(), Some(eur("4.00")));

        // The same batch again: replays, confirmed again so that a retrying acquirer can settle.
        let again = issuer.spend_check(batch(&f, 1, permissions)).await.unwrap();
        assert_eq!(again.results.to_vec(), vec![SpendResult::Replay; 4]);
        assert_eq!(
            again.confirmation.unwrap().body().entries,
            confirmation.body().entries
        );
    });
}

#[test]
fn concurrent_double_spends_have_one_winner_and_proof_for_the_rest() {
    let f = Fixture::new("race");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let coin = withdraw(&issuer, &f, account, 1, 1).await;
        let attempts: Vec<SignedDepositPermission> = (1..=8)
            .map(|merchant| pay(&coin, merchant).remove(0))
            .collect();
        let answers: Vec<SpendCheckResponse> =
            futures_join(attempts.iter().enumerate().map(|(i, p)| {
                let issuer = issuer.clone();
                let batch = batch(&f, i as u8, vec![p.clone()]);
                async move { issuer.spend_check(batch).await }
            }))
            .await;
        let winners: Vec<usize> = (0..8)
            .filter(|i| answers[*i].results[0] == SpendResult::Accepted)
            .collect();
        assert_eq!(winners.len(), 1);
        for (i, answer) in answers.iter().enumerate() {
            if i != winners[0] {
                let expected = SpendResult::Conflict {
                    earlier: Box::new(attempts[winners[0]].clone()),
                };
                assert_eq!(answer.results[0], expected);
                assert!(answer.confirmation.is_none());
            }
        }
    });
}

/// Awaits every future, concurrently.
async fn futures_join<T: 'static>(
    futures: impl Iterator<Item = impl std::future::Future<Output = Result<T, IssuerError>> + 'static>,
) -> Vec<T> {
    let handles: Vec<_> = futures.map(|future| actix::spawn(future)).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.unwrap().unwrap());
    }
    out
}

#[test]
fn expired_and_revoked_denominations_are_refused_with_distinct_codes() {
    let f = Fixture::new("lifecycle");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let coins = withdraw(&issuer, &f, account, 1, 2).await;
        let d = denomination(&issuer);

        // Past the withdraw window (without generating new keys): withdraw refused, deposit fine.
        f.clock.set(d.fields().withdraw_until);
        let (late, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            RequestId([2; 16]),
            std::slice::from_ref(&d),
        )
        .unwrap();
        let error = issuer.withdraw(late).await.unwrap_err();
        assert_eq!(error.code(), "denomination.withdraw_expired");
        let answer = issuer
            .spend_check(batch(&f, 1, pay(&coins[..1], 1)))
            .await
            .unwrap();
        assert_eq!(answer.results[0], SpendResult::Accepted);

        // Past the deposit window.
        f.clock.set(d.fields().deposit_until);
        let answer = issuer
            .spend_check(batch(&f, 2, pay(&coins[1..], 1)))
            .await
            .unwrap();
        assert_eq!(
            answer.results[0],
            SpendResult::Refused {
                code: "denomination.deposit_expired".into()
            }
        );

        // Revoked.
        f.clock.set(START);
        issuer.revoke(d.id()).await.unwrap();
        let answer = issuer
            .spend_check(batch(&f, 3, pay(&coins[1..], 1)))
            .await
            .unwrap();
        assert_eq!(
            answer.results[0],
            SpendResult::Refused {
                code: "denomination.revoked".into()
            }
        );
        assert!(
            issuer
                .denomination_set()
                .unwrap()
                .body()
                .is_revoked(&d.id())
        );
    });
}

#[test]
fn insufficient_funds_change_nothing_and_credited_equals_balance_plus_withdrawn() {
    let f = Fixture::new("funds");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "3.00").await;
        let store = issuer.state().store.clone();
        withdraw(&issuer, &f, account, 1, 2).await;
        let before = ledger::account(&store, &account).unwrap();
        let d = denomination(&issuer);
        let (greedy, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            RequestId([5; 16]),
            &[d.clone(), d],
        )
        .unwrap();
        assert_eq!(
            issuer.withdraw(greedy).await.unwrap_err().code(),
            "account.insufficient_funds"
        );
        assert_eq!(ledger::account(&store, &account).unwrap(), before);
        let journal = ledger::journal_entries(&store, &account, 100).unwrap();
        assert_eq!(journal.len(), 3);
        let credited = 300;
        let withdrawn = 200;
        assert_eq!(before.unwrap().balance.minor_units() + withdrawn, credited);
        // A credit reference reused credits once.
        issuer
            .credit(account, "transfer-1".into(), eur("3.00"))
            .await
            .unwrap();
        assert_eq!(
            ledger::account(&store, &account).unwrap().unwrap().balance,
            eur("1.00")
        );
    });
}

#[test]
fn a_restarted_issuer_recovers_from_disk_and_keys_are_owner_only() {
    let f = Fixture::new("restart");
    let (set, first, stopped) = run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "3.00").await;
        let d = denomination(&issuer);
        let (request, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            RequestId([1; 16]),
            &[d],
        )
        .unwrap();
        let first = issuer.withdraw(request.clone()).await.unwrap();
        (
            issuer.denomination_set().unwrap(),
            (request, first),
            Arc::downgrade(issuer.state()),
        )
    });
    wait_until_closed(stopped);
    for entry in std::fs::read_dir(f.dir.join("keys"))
        .unwrap()
        .chain(std::fs::read_dir(f.dir.join("keys/denominations")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "{}", path.display());
        }
    }
    let stopped = run(async {
        let issuer = f.start(64);
        assert_eq!(
            issuer
                .denomination_set()
                .unwrap()
                .body()
                .fields()
                .denominations,
            set.body().fields().denominations
        );
        assert_eq!(issuer.withdraw(first.0).await.unwrap(), first.1);
        Arc::downgrade(issuer.state())
    });
    wait_until_closed(stopped);
    // The signer holds no master key: the local one (the embedded default) is apart from it.
    assert!(!f.dir.join("keys/master.ed25519").exists());
    let master = f.dir.join("offline/master.ed25519");
    assert_eq!(
        std::fs::metadata(&master).unwrap().permissions().mode() & 0o777,
        0o600
    );
    std::fs::set_permissions(&master, std::fs::Permissions::from_mode(0o644)).unwrap();
    let error = IssuerState::open(&f.config(64), f.clock.clone())
        .err()
        .unwrap();
    assert_eq!(error.code(), "keystore.too_open");
}

#[test]
fn overload_is_answered_busy_and_the_issuer_recovers() {
    let f = Fixture::new("busy");
    run(async {
        let issuer = f.start(1);
        let account = funded(&issuer, &f, "1000.00").await;
        let d = denomination(&issuer);
        let requests: Vec<_> = (0..16u8)
            .map(|i| {
                wallet::prepare_withdraw(
                    &mut rand::rng(),
                    &f.account_key,
                    account,
                    RequestId([i; 16]),
                    &vec![d.clone(); 32],
                )
                .unwrap()
                .0
            })
            .collect();
        let handles: Vec<_> = requests
            .iter()
            .cloned()
            .map(|r| {
                let issuer = issuer.clone();
                actix::spawn(async move { issuer.withdraw(r).await })
            })
            .collect();
        let mut busy = 0;
        for handle in handles {
            match handle.await.unwrap() {
                Ok(_) => {}
                Err(IssuerError::Busy) => busy += 1,
                Err(other) => panic!("unexpected {other}"),
            }
        }
        assert!(
            busy > 0,
            "16 concurrent requests against a bound of 1 must meet busy"
        );
        // Load gone: it serves again.
        issuer.withdraw(requests[15].clone()).await.unwrap();
    });
}

#[test]
fn keys_rotate_ahead_of_need_and_old_coins_stay_depositable() {
    let f = Fixture::new("rotate");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let old_coins = withdraw(&issuer, &f, account, 1, 1).await;
        let first = denomination(&issuer);
        // Within the lookahead of the first key's end, the next key is made, starting where it ends.
        f.clock.set(Timestamp::from_unix_ms(
            first.fields().withdraw_until.unix_ms() - HOUR_MS / 2,
        ));
        let created = issuer.ensure_denominations().await.unwrap();
        assert_eq!(created.len(), 1);
        let set = issuer.denomination_set().unwrap();
        let next = set
            .body()
            .fields()
            .denominations
            .iter()
            .find(|d| d.id() == created[0])
            .unwrap()
            .clone();
        assert_eq!(next.fields().valid_from, first.fields().withdraw_until);
        assert!(set.body().fields().sequence > 1);
        assert_eq!(
            issuer.ensure_denominations().await.unwrap(),
            vec![],
            "nothing more needed yet"
        );

        // The first key is still in its file until its window closes.
        let first_key = f
            .dir
            .join("keys")
            .join("denominations")
            .join(format!("{}.rsa.der", first.id()));
        assert!(first_key.exists());

        // Its window closed, the first key is destroyed at the next rotation tick, though
        // nothing is withdrawn: its file is gone and the signer's journal says so, its one
        // signature counted. Its coins still verify, with the public key alone (below).
        f.clock.set(first.fields().withdraw_until);
        assert_eq!(issuer.ensure_denominations().await.unwrap(), vec![]);
        assert!(!first_key.exists(), "the closed key's file is still there");
        let counts = issuer.state().signer.counts().unwrap();
        let first_count = counts
            .iter()
            .find(|count| count.denomination == first.id())
            .unwrap();
        assert_eq!((first_count.signatures, first_count.destroyed), (1, true));

        let request_id = RequestId([2; 16]);
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            request_id,
            &[next],
        )
        .unwrap();
        let response = issuer.withdraw(request).await.unwrap();
        let new_coins = wallet::finalize_coins(request_id, planned, &response).unwrap();
        // The new coin is paid now: its permission cannot be dated before its denomination.
        let mut both = pay(&old_coins, 1);
        let now = first.fields().withdraw_until;
        both.extend(new_coins.iter().map(|coin| permission_at(coin, 1, now)));
        let answer = issuer.spend_check(batch(&f, 1, both)).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted; 2]);
    });
}

/// Waits until every handle on a stopped issuer's state is gone, so its DB is closed: pool
/// threads may still be dropping theirs just after the system stops.
fn wait_until_closed(state: std::sync::Weak<IssuerState>) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while state.upgrade().is_some() {
        assert!(
            std::time::Instant::now() < deadline,
            "the issuer's state was never dropped"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

#[test]
fn a_swap_makes_change_once_and_its_coins_are_then_double_spends() {
    use semper_protocol::messages::spend::EarlierSpend;
    let f = Fixture::new("swap");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let coins = withdraw(&issuer, &f, account, 1, 3).await;
        let d = denomination(&issuer);
        let mut rng = rand::rng();
        let id = RequestId([21; 16]);
        let (request, planned) =
            wallet::prepare_swap(&mut rng, id, &coins[..2], &[d.clone(), d.clone()]).unwrap();
        let answer = issuer.swap(request.clone()).await.unwrap();
        let fresh = wallet::finalize_swap(id, planned, &answer).unwrap();
        assert_eq!(fresh.len(), 2);
        // The same request again: the same signatures, nothing spent again.
        assert_eq!(issuer.swap(request.clone()).await.unwrap(), answer);
        // Another swap of coin 0: a conflict, with the first swap's permission as proof.
        let (other, _) = wallet::prepare_swap(
            &mut rng,
            RequestId([22; 16]),
            &coins[..1],
            std::slice::from_ref(&d),
        )
        .unwrap();
        match issuer.swap(other).await {
            Err(IssuerError::SwapConflict { index, earlier }) => {
                assert_eq!(index, 0);
                assert_eq!(*earlier, EarlierSpend::Swap(request.coins[0].clone()));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        // An unbalanced swap of coin 2 changes nothing: it can still be deposited.
        let (greedy, _) =
            wallet::prepare_swap(&mut rng, RequestId([23; 16]), &coins[2..], &[d.clone(), d])
                .unwrap();
        let refused = issuer.swap(greedy).await.unwrap_err();
        assert_eq!(refused.code(), "swap.unbalanced");
        // Deposits: the swapped coin 0 is a double spend proved by the swap; coin 2 and the fresh
        // coins are accepted.
        let mut permissions = pay(&coins[..1], 1);
        permissions.extend(pay(&coins[2..], 1));
        permissions.extend(pay(&fresh, 1));
        let answer = issuer.spend_check(batch(&f, 9, permissions)).await.unwrap();
        assert_eq!(
            answer.results[0],
            SpendResult::Swapped {
                earlier: Box::new(request.coins[0].clone())
            }
        );
        assert_eq!(answer.results[1..].to_vec(), vec![SpendResult::Accepted; 3]);
    });
}

#[test]
fn a_revoked_coin_is_recouped_once_to_its_account_and_then_proves_a_double_spend() {
    use semper_protocol::messages::spend::EarlierSpend;
    let f = Fixture::new("recoup");
    run(async {
        let issuer = f.start(64);
        let account = funded(&issuer, &f, "10.00").await;
        let d = denomination(&issuer);
        let id = RequestId([1; 16]);
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &f.account_key,
            account,
            id,
            &vec![d.clone(); 3],
        )
        .unwrap();
        let response = issuer.withdraw(request.clone()).await.unwrap();
        let coins = wallet::finalize_coins(id, planned, &response).unwrap();
        // Coin 2 is deposited before the revocation.
        let answer = issuer.spend_check(batch(&f, 1, pay(&coins[2..], 1))).await;
        assert_eq!(answer.unwrap().results[0], SpendResult::Accepted);
        let recoup = |index: usize| {
            wallet::prepare_recoup(&f.account_key, request.body(), index as u32, &coins[index])
        };
        let balance = || {
            ledger::account(&issuer.state().store, &account)
                .unwrap()
                .unwrap()
                .balance
        };
        // Not revoked yet: refused, nothing credited.
        let early = issuer.recoup(recoup(0)).await.unwrap_err();
        assert_eq!(early.code(), "recoup.not_revoked");
        issuer.revoke(d.id()).await.unwrap();
        let credited = balance().checked_add(d.value()).unwrap();
        let answer = issuer.recoup(recoup(0)).await.unwrap();
        assert_eq!(answer.credited, d.value());
        // The same request again: the same answer, credited once.
        assert_eq!(issuer.recoup(recoup(0)).await.unwrap(), answer);
        assert_eq!(balance(), credited);
        // Coin 2 was spent: refused with its deposit as proof, nothing credited.
        match issuer.recoup(recoup(2)).await {
            Err(IssuerError::RecoupCoinSpent { earlier }) => {
                assert!(matches!(*earlier, EarlierSpend::Deposit(_)));
            }
            other => panic!("expected recoup.coin_spent, got {other:?}"),
        }
        assert_eq!(balance(), credited);
        // A deposit of the recouped coin: the recoup permission is the proof; coin 1, never
        // spent, is refused as revoked.
        let answer = issuer.spend_check(batch(&f, 2, pay(&coins[..2], 2))).await;
        let results = answer.unwrap().results.to_vec();
        let proof = Box::new(recoup(0).body().permission.clone());
        let revoked = SpendResult::Refused {
            code: "denomination.revoked".into(),
        };
        assert_eq!(
            results,
            vec![SpendResult::Recouped { earlier: proof }, revoked.clone()]
        );
        // Coin 2's own deposit again: not a double spend, refused as revoked.
        let answer = issuer.spend_check(batch(&f, 3, pay(&coins[2..], 1))).await;
        assert_eq!(answer.unwrap().results.to_vec(), vec![revoked]);
    });
}
