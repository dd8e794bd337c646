//! An issuer whose spent set is split over two shard groups (RocksDB directories of their own),
//! killed between the two groups' writes of one spend-check batch: a child process runs the
//! issuer, holds up the second group, and aborts as soon as the first group has committed. An
//! issuer restarted on the same directories gets the same batch again: every coin is confirmed
//! once (the first group's as replays, the second's as new), every other permission for those
//! coins is refused with the first as proof, and the coins are in their groups only.
//!
//! Recoups with the spent set sharded (docs/protocol.md §7.26): the coin spent in its group, then
//! credited in the issuer's store, once, also when the issuer is killed between the two writes
//! and the wallet retries; a later deposit of the coin is refused with the recoup as proof.
//!
//! Swaps with the spent set sharded (docs/protocol.md §7.25): each input spent in its own group
//! by the swap, signed and recorded once, also when the issuer is killed between the groups'
//! writes and the record and the wallet retries; a deposit or another swap of an input is
//! refused with the swap as proof, and a swap refused for one input keeps the others it spent.
//!
//! The recoup and swap scenarios run twice: with the issuer's store and its groups in RocksDB
//! directories, and with each in a database of a PostgreSQL server the test starts.

mod common;
// The crash child runner of the storage tests, shared rather than copied.
#[path = "../../storage/tests/common/child.rs"]
mod child;
#[path = "../../storage/tests/common/pg.rs"]
mod pg;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use semper_actors::clock::ManualClock;
use semper_actors::issuer::{
    IssuerConfig, IssuerError, IssuerHandle, IssuerState, SpentShardsConfig,
};
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, CoinId, Digest, RequestId};
use semper_protocol::issuer::swap::swap_digest;
use semper_protocol::messages::recoup::SignedRecoupRequest;
use semper_protocol::messages::refund::{RefundAnswer, RefundNotice};
use semper_protocol::messages::spend::{EarlierSpend, SignedSpendCheckBatch, SpendResult};
use semper_protocol::messages::swap::SwapRequest;
use semper_protocol::messages::withdraw::SignedWithdrawRequest;
use semper_protocol::signed::Signed;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::schema::{Column, spent_key};
use semper_storage::spent::spent_by;
use semper_storage::{Location, ledger, recoups, swaps};

const DIR_VAR: &str = "SEMPER_ISSUER_SHARD_CRASH_DIR";
const ACCOUNT: AccountId = AccountId([7; 16]);
/// The request id of the coins' withdrawal.
const WITHDRAWAL: RequestId = RequestId([1; 16]);
/// Coins of the batch the child dies in: with two groups, some in each (all in one group has
/// odds of 1 in 2^11, and the test says so if it happens).
const COINS: usize = 12;
/// How long the child's second group is held up, so that the first commits before it.
const STALL: Duration = Duration::from_secs(10);
/// The longest the parent waits for the child.
const CHILD_MAX: Duration = Duration::from_secs(120);

fn acquirer_key() -> SigningKey {
    SigningKey::from_seed(&[2; 32])
}

fn account_key() -> SigningKey {
    SigningKey::from_seed(&[3; 32])
}

/// Where the issuer's store and its two groups live.
enum Placement {
    /// RocksDB directories: the issuer's under its data directory, each group's beside it.
    Rocks,
    /// Databases of one PostgreSQL server (conninfos): the issuer's, and each group's.
    Postgres { issuer: String, groups: [String; 2] },
}

impl Placement {
    /// Three new databases of `server` for `scenario` (each store takes a schema of its role's
    /// name in its database, so the groups need databases apart).
    fn postgres(server: &pg::PgServer, scenario: &str) -> Self {
        let database = |part: &str| server.create_database(&format!("shards_{scenario}_{part}"));
        Self::Postgres {
            issuer: database("issuer"),
            groups: [database("group0"), database("group1")],
        }
    }

    /// A directory of its own for a scenario's issuer.
    fn dir(&self, scenario: &str) -> PathBuf {
        let backend = match self {
            Self::Rocks => "rocks",
            Self::Postgres { .. } => "pg",
        };
        let dir = std::env::temp_dir().join(format!(
            "semper-issuer-shards-{scenario}-{backend}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }
}

fn config_on(dir: &Path, placement: &Placement) -> IssuerConfig {
    let mut config = issuer_config(dir.to_path_buf(), 64, &acquirer_key());
    let groups = match placement {
        Placement::Rocks => (0..2)
            .map(|g| Location::Rocks(dir.join(format!("shard{g}"))))
            .collect(),
        Placement::Postgres { issuer, groups } => {
            config.store = Some(Location::Postgres(issuer.clone()));
            groups
                .iter()
                .map(|conninfo| Location::Postgres(conninfo.clone()))
                .collect()
        }
    };
    config.spent_shards = SpentShardsConfig {
        groups,
        buckets: Vec::new(),
    };
    config
}

/// An issuer on `dir` with its two groups, at a fixed time, so that both processes see the same
/// denominations.
fn start(dir: &Path) -> IssuerHandle {
    start_on(dir, &Placement::Rocks)
}

fn start_on(dir: &Path, placement: &Placement) -> IssuerHandle {
    let clock = Arc::new(ManualClock::new(START));
    let state = IssuerState::open(&config_on(dir, placement), clock).unwrap();
    IssuerHandle::start(state, 64)
}

/// The group of each coin of `batch`, and whether each is in the main store or a group.
fn homes(issuer: &IssuerHandle, batch: &SignedSpendCheckBatch) -> Vec<(usize, Vec<bool>)> {
    let state = issuer.state();
    let shards = state.spent_shards.as_ref().unwrap();
    batch
        .body()
        .permissions
        .iter()
        .map(|permission| {
            let coin = &permission.body().coin;
            let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
            let stores = [
                &state.store,
                shards.store(0).unwrap(),
                shards.store(1).unwrap(),
            ];
            let held = stores
                .iter()
                .map(|store| store.get(Column::SpentCoins, &key).unwrap().is_some())
                .collect();
            (shards.map().group_of(&key), held)
        })
        .collect()
}

/// Opens [`ACCOUNT`] on `issuer`, credits it, and withdraws `count` coins of the first
/// denomination in one request ([`WITHDRAWAL`]): the request and the coins.
async fn withdrawn(
    issuer: &IssuerHandle,
    count: usize,
) -> (SignedWithdrawRequest, Vec<WalletCoin>) {
    let currency = Currency::new("EUR").unwrap();
    issuer
        .open_account(ACCOUNT, *account_key().verifying_key(), currency)
        .await
        .unwrap();
    issuer
        .credit(ACCOUNT, "funding".into(), eur("100.00"))
        .await
        .unwrap();
    let denomination = first_denomination(issuer);
    let (request, planned) = wallet::prepare_withdraw(
        &mut rand::rng(),
        &account_key(),
        ACCOUNT,
        WITHDRAWAL,
        &vec![denomination; count],
    )
    .unwrap();
    let response = issuer.withdraw(request.clone()).await.unwrap();
    let coins = wallet::finalize_coins(WITHDRAWAL, planned, &response).unwrap();
    (request, coins)
}

/// In a crash child: tells the parent `message`, hex-encoded after `tag`.
fn tell_parent(tag: &str, message: &impl Encode) {
    tell_parent_value(tag, hex::encode(message.to_bytes()));
}

/// In a crash child: tells the parent `value` after `tag`.
fn tell_parent_value(tag: &str, value: impl std::fmt::Display) {
    println!("{tag} {value}");
    std::io::stdout().flush().unwrap();
}

/// In a crash child: aborts the process as soon as `groups` shard groups committed, each
/// told to the parent (`COMMITTED <group>`).
fn abort_after_group_commits(issuer: &IssuerHandle, groups: usize) {
    let committed = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let shards = issuer.state().spent_shards.as_ref().unwrap();
    shards.set_after_group_commit(Arc::new(move |group| {
        tell_parent_value("COMMITTED", group);
        if committed.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == groups {
            std::process::abort();
        }
    }));
}

/// What a crash child told its parent before it died.
struct ChildOutput {
    lines: Vec<String>,
    text: String,
}

impl ChildOutput {
    /// Runs the crash child `name` on `dir` (through `dir_var`) until it dies. It must die,
    /// after telling each of `committed`, before it told an answer.
    fn of_crash(name: &str, dir_var: &str, dir: &Path, committed: &[&str]) -> Self {
        let (status, lines) = child::run_until_it_dies(name, dir_var, dir, CHILD_MAX);
        let text = lines.join("\n");
        assert!(!status.success(), "the child was to die: {text}");
        for line in committed {
            assert!(text.contains(line), "no {line}: {text}");
        }
        assert!(
            !text.contains("ANSWERED"),
            "the child died too late: {text}"
        );
        Self { lines, text }
    }

    /// What the child told after `tag`.
    fn value(&self, tag: &str) -> String {
        let prefix = format!("{tag} ");
        let found = (self.lines.iter()).find_map(|line| {
            line.split_once(&prefix)
                .map(|(_, rest)| rest.trim().to_owned())
        });
        found.unwrap_or_else(|| panic!("no {tag} line: {}", self.text))
    }

    /// The message the child told hex-encoded after `tag`.
    fn message<T: Decode>(&self, tag: &str) -> T {
        T::from_bytes(&hex::decode(self.value(tag)).unwrap()).unwrap()
    }
}

/// Runs in the child process only: withdraws coins, prints the batch spending them and a batch
/// spending them again elsewhere, then dies in the first batch's spend check.
#[test]
#[ignore = "run by an_issuer_killed_between_two_groups_writes_gives_the_same_verdicts as a child"]
fn issuer_shard_crash_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    actix::System::new().block_on(async move {
        let issuer = start(Path::new(&dir));
        let (_, coins) = withdrawn(&issuer, COINS).await;
        let first = spend_batch(
            &acquirer_key(),
            [1; 16],
            coins.iter().map(|c| permission(c, 1)).collect(),
        );
        let other = spend_batch(
            &acquirer_key(),
            [2; 16],
            coins.iter().map(|c| permission(c, 2)).collect(),
        );
        tell_parent("FIRST", &first);
        tell_parent("OTHER", &other);
        let shards = issuer.state().spent_shards.as_ref().unwrap();
        child::die_between_two_groups(shards, STALL);
        let answer = issuer.spend_check(first).await;
        tell_parent_value("ANSWERED", format!("{answer:?}"));
    });
}

#[test]
fn an_issuer_killed_between_two_groups_writes_gives_the_same_verdicts() {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("semper-issuer-shards-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let output = ChildOutput::of_crash("issuer_shard_crash_child", DIR_VAR, &dir, &["COMMITTED 0"]);
    assert!(
        !output.text.contains("COMMITTED 1"),
        "the child died too late: {}",
        output.text
    );
    let (first, other): (SignedSpendCheckBatch, SignedSpendCheckBatch) =
        (output.message("FIRST"), output.message("OTHER"));

    actix::System::new().block_on(async {
        let issuer = start(&dir);
        // The crash left the first group's coins spent, in that group only, and the second's not.
        let before = homes(&issuer, &first);
        assert!(
            before.iter().any(|(g, _)| *g == 0) && before.iter().any(|(g, _)| *g == 1),
            "all {COINS} coins fell in one group: run again"
        );
        for (group, held) in &before {
            assert_eq!(*held, vec![false, *group == 0, false]);
        }

        // The retry: every coin confirmed once, the first group's as its own replays.
        let answer = issuer.spend_check(first.clone()).await.unwrap();
        for ((group, _), result) in before.iter().zip(answer.results.iter()) {
            let expected = if *group == 0 {
                SpendResult::Replay
            } else {
                SpendResult::Accepted
            };
            assert_eq!(*result, expected);
        }
        let confirmation = answer.confirmation.unwrap();
        assert_eq!(confirmation.body().entries.len(), COINS);
        assert_eq!(
            confirmation.total().unwrap(),
            Some(eur(&format!("{COINS}.00")))
        );
        for (group, held) in homes(&issuer, &first) {
            assert_eq!(held, vec![false, group == 0, group == 1]);
        }

        // No coin accepted twice: the other permissions are refused with the first as proof.
        let refused = issuer.spend_check(other).await.unwrap();
        for (result, spent) in refused.results.iter().zip(first.body().permissions.iter()) {
            match result {
                SpendResult::Conflict { earlier } => assert_eq!(**earlier, *spent),
                result => panic!("a spent coin was accepted again: {result:?}"),
            }
        }
        assert!(refused.confirmation.is_none());
        // And the batch replays whole from now on, with the same confirmation.
        let again = issuer.spend_check(first.clone()).await.unwrap();
        assert!(again.results.iter().all(|r| *r == SpendResult::Replay));
        assert_eq!(
            again.confirmation.unwrap().body().entries,
            confirmation.body().entries
        );
        issuer.stop();
    });

    // Started without its groups, the issuer would look for those coins in its own store.
    let clock = Arc::new(ManualClock::new(START));
    let unsharded = issuer_config(dir.clone(), 64, &acquirer_key());
    let refused = IssuerState::open(&unsharded, clock).err().map(|e| e.code());
    assert_eq!(refused, Some("storage.shard_mismatch"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `ACCOUNT`'s balance.
fn balance(issuer: &IssuerHandle) -> Amount {
    ledger::account(&issuer.state().store, &ACCOUNT)
        .unwrap()
        .unwrap()
        .balance
}

/// Asserts that `request`'s coin is spent in its own group only (not in the issuer's store, not
/// in the other group), under `request`'s digest.
fn assert_spent_by(issuer: &IssuerHandle, request: &SignedRecoupRequest) {
    let state = issuer.state();
    let shards = state.spent_shards.as_ref().unwrap();
    let coin = &request.body().permission.body().coin;
    let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
    let held: Vec<Option<Digest>> = [
        &state.store,
        shards.store(0).unwrap(),
        shards.store(1).unwrap(),
    ]
    .iter()
    .map(|store| spent_by(store, &key).unwrap().map(|(digest, _)| digest))
    .collect();
    let mut expected = vec![None; 3];
    expected[1 + shards.map().group_of(&key)] = Some(request.body_digest());
    assert_eq!(held, expected);
}

#[test]
fn a_sharded_issuer_recoups_once_and_refuses_spent_coins_with_proof() {
    recoups_once_and_refuses_spent_coins_with_proof(&Placement::Rocks);
}

fn recoups_once_and_refuses_spent_coins_with_proof(placement: &Placement) {
    let dir = placement.dir("recoup");
    actix::System::new().block_on(async {
        let issuer = start_on(&dir, placement);
        let (withdrawal, coins) = withdrawn(&issuer, 3).await;
        let value = coins[0].value();
        // Coin 2 is deposited before the revocation.
        let paid = spend_batch(&acquirer_key(), [1; 16], vec![permission(&coins[2], 1)]);
        let answer = issuer.spend_check(paid).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted]);
        issuer.revoke(coins[0].coin().denomination).await.unwrap();
        let recoup = |index: usize| {
            wallet::prepare_recoup(
                &account_key(),
                withdrawal.body(),
                index as u32,
                &coins[index],
            )
        };
        let before = balance(&issuer);

        let answer = issuer.recoup(recoup(0)).await.unwrap();
        assert_eq!(answer.credited, value);
        assert_eq!(issuer.recoup(recoup(0)).await.unwrap(), answer);
        assert_eq!(balance(&issuer), before.checked_add(value).unwrap());
        assert_spent_by(&issuer, &recoup(0));
        // Two copies of one request at once: one credit.
        let (a, b) = tokio::join!(issuer.recoup(recoup(1)), issuer.recoup(recoup(1)));
        assert_eq!(a.unwrap(), b.unwrap());
        let credited = before
            .checked_add(value)
            .unwrap()
            .checked_add(value)
            .unwrap();
        assert_eq!(balance(&issuer), credited);
        // Coin 2 was deposited: refused with the deposit as proof, nothing credited.
        match issuer.recoup(recoup(2)).await {
            Err(IssuerError::RecoupCoinSpent { earlier }) => {
                assert!(matches!(*earlier, EarlierSpend::Deposit(_)));
            }
            other => panic!("expected recoup.coin_spent, got {other:?}"),
        }
        assert_eq!(balance(&issuer), credited);
        // A deposit of a recouped coin: the recoup permission is the proof.
        let again = spend_batch(&acquirer_key(), [2; 16], vec![permission(&coins[0], 2)]);
        let answer = issuer.spend_check(again).await.unwrap();
        let proof = Box::new(recoup(0).body().permission.clone());
        assert_eq!(
            answer.results.to_vec(),
            vec![SpendResult::Recouped { earlier: proof }]
        );
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

const RECOUP_DIR_VAR: &str = "SEMPER_ISSUER_SHARD_RECOUP_CRASH_DIR";

/// Runs in the child process only: withdraws a coin, revokes its denomination, prints its recoup
/// and a deposit of it, then dies in the recoup as soon as the coin's group has spent it.
#[test]
#[ignore = "run by a_recoup_killed_between_its_group_and_the_credit_credits_once_on_retry as a child"]
fn issuer_shard_recoup_crash_child() {
    let Ok(dir) = std::env::var(RECOUP_DIR_VAR) else {
        return;
    };
    actix::System::new().block_on(async move {
        let issuer = start(Path::new(&dir));
        let (withdrawal, coins) = withdrawn(&issuer, 1).await;
        issuer.revoke(coins[0].coin().denomination).await.unwrap();
        let recoup = wallet::prepare_recoup(&account_key(), withdrawal.body(), 0, &coins[0]);
        let deposit = spend_batch(&acquirer_key(), [1; 16], vec![permission(&coins[0], 1)]);
        tell_parent("RECOUP", &recoup);
        tell_parent("DEPOSIT", &deposit);
        tell_parent_value("BALANCE", balance(&issuer).minor_units());
        abort_after_group_commits(&issuer, 1);
        let answer = issuer.recoup(recoup).await;
        tell_parent_value("ANSWERED", format!("{answer:?}"));
    });
}

#[test]
fn a_recoup_killed_between_its_group_and_the_credit_credits_once_on_retry() {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "semper-issuer-shards-recoup-crash-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let output = ChildOutput::of_crash(
        "issuer_shard_recoup_crash_child",
        RECOUP_DIR_VAR,
        &dir,
        &["COMMITTED"],
    );
    let recoup: SignedRecoupRequest = output.message("RECOUP");
    let deposit: SignedSpendCheckBatch = output.message("DEPOSIT");
    let before: u64 = output.value("BALANCE").parse().unwrap();

    actix::System::new().block_on(async {
        let issuer = start(&dir);
        // The crash left the coin spent in its group, by the recoup, and nothing credited.
        assert_spent_by(&issuer, &recoup);
        assert_eq!(balance(&issuer).minor_units(), before);
        let slot = recoups::recoup(&issuer.state().store, &ACCOUNT, &WITHDRAWAL, 0).unwrap();
        assert!(slot.is_none());

        // The wallet's retry replays the group's verdict and credits once.
        let answer = issuer.recoup(recoup.clone()).await.unwrap();
        let value = answer.credited.minor_units();
        assert!(value > 0);
        assert_eq!(balance(&issuer).minor_units(), before + value);
        assert_eq!(issuer.recoup(recoup.clone()).await.unwrap(), answer);
        assert_eq!(balance(&issuer).minor_units(), before + value);
        assert_spent_by(&issuer, &recoup);
        // The deposit of the coin is refused with the recoup permission as proof.
        let refused = issuer.spend_check(deposit).await.unwrap();
        let proof = Box::new(recoup.body().permission.clone());
        assert_eq!(
            refused.results.to_vec(),
            vec![SpendResult::Recouped { earlier: proof }]
        );
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// Of `coins`, the first in group 0 and the first in group 1 (by their spent-set keys).
fn one_per_group(issuer: &IssuerHandle, coins: &[WalletCoin]) -> Vec<WalletCoin> {
    let state = issuer.state();
    let map = state.spent_shards.as_ref().unwrap().map();
    let group = |coin: &WalletCoin| {
        let coin = coin.coin();
        map.group_of(&spent_key(&coin.denomination, coin.public_key.as_bytes()))
    };
    let picked: Vec<WalletCoin> = (0..2)
        .filter_map(|g| coins.iter().find(|c| group(c) == g).cloned())
        .collect();
    assert_eq!(picked.len(), 2, "all coins fell in one group: run again");
    picked
}

/// Who spent each input of `request`, in the issuer's store and in either group.
fn spenders(issuer: &IssuerHandle, request: &SwapRequest) -> Vec<[Option<Digest>; 3]> {
    let state = issuer.state();
    let shards = state.spent_shards.as_ref().unwrap();
    request
        .coins
        .iter()
        .map(|permission| {
            let coin = &permission.body().coin;
            let key = spent_key(&coin.denomination, coin.public_key.as_bytes());
            [
                &state.store,
                shards.store(0).unwrap(),
                shards.store(1).unwrap(),
            ]
            .map(|store| spent_by(store, &key).unwrap().map(|(digest, _)| digest))
        })
        .collect()
}

/// Asserts that every input of `request` is spent in its own group only, by `request`.
fn assert_swapped_by(issuer: &IssuerHandle, request: &SwapRequest) {
    let map = issuer.state().spent_shards.as_ref().unwrap().map().clone();
    for (permission, held) in request.coins.iter().zip(spenders(issuer, request)) {
        let coin = &permission.body().coin;
        let group = map.group_of(&spent_key(&coin.denomination, coin.public_key.as_bytes()));
        let mut expected = [None; 3];
        expected[1 + group] = Some(swap_digest(request));
        assert_eq!(held, expected);
    }
}

/// Blind signatures the signer ever made, over every key.
fn signatures(issuer: &IssuerHandle) -> u64 {
    let counts = issuer.state().signer.counts().unwrap();
    counts.iter().map(|count| count.signatures).sum()
}

#[test]
fn a_sharded_issuer_swaps_once_and_refuses_its_inputs_with_proof() {
    swaps_once_and_refuses_its_inputs_with_proof(&Placement::Rocks);
}

fn swaps_once_and_refuses_its_inputs_with_proof(placement: &Placement) {
    let dir = placement.dir("swap");
    actix::System::new().block_on(async {
        let issuer = start_on(&dir, placement);
        let (_, coins) = withdrawn(&issuer, 10).await;
        let given = one_per_group(&issuer, &coins);
        let d = first_denomination(&issuer);
        let mut rng = rand::rng();
        let id = RequestId([21; 16]);
        let (request, planned) =
            wallet::prepare_swap(&mut rng, id, &given, &[d.clone(), d.clone()]).unwrap();
        let signed = signatures(&issuer);
        let answer = issuer.swap(request.clone()).await.unwrap();
        let fresh = wallet::finalize_swap(id, planned, &answer).unwrap();
        assert_eq!(fresh.len(), 2);
        assert_eq!(signatures(&issuer), signed + 2);
        // Each input spent in its own group, by the swap; the swap recorded in the issuer's store.
        assert_swapped_by(&issuer, &request);
        let record = swaps::swap(&issuer.state().store, &id).unwrap().unwrap();
        assert_eq!(record.blind_signatures, answer.blind_signatures);
        // A replay: the same answer, nothing signed or spent again.
        assert_eq!(issuer.swap(request.clone()).await.unwrap(), answer);
        assert_eq!(signatures(&issuer), signed + 2);
        assert_swapped_by(&issuer, &request);

        // A deposit of an input: refused with the swap permission as proof.
        let deposit = spend_batch(&acquirer_key(), [1; 16], vec![permission(&given[0], 1)]);
        let refused = issuer.spend_check(deposit).await.unwrap();
        assert_eq!(
            refused.results.to_vec(),
            vec![SpendResult::Swapped {
                earlier: Box::new(request.coins[0].clone())
            }]
        );
        // A second swap of an input: a conflict, with the first swap's permission as proof.
        let (other, _) = wallet::prepare_swap(
            &mut rng,
            RequestId([22; 16]),
            &given[1..],
            std::slice::from_ref(&d),
        )
        .unwrap();
        match issuer.swap(other).await {
            Err(IssuerError::SwapConflict { index, earlier }) => {
                assert_eq!(index, 0);
                assert_eq!(*earlier, EarlierSpend::Swap(request.coins[1].clone()));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }

        // A swap of an unspent coin with a swapped one: refused, nothing signed; the unspent
        // coin is now spent by that refused swap, and its retry is refused the same way.
        let unspent = coins
            .iter()
            .find(|c| !given.iter().any(|g| g.coin() == c.coin()))
            .unwrap();
        let mixed_given = [unspent.clone(), given[0].clone()];
        let (mixed, _) = wallet::prepare_swap(
            &mut rng,
            RequestId([23; 16]),
            &mixed_given,
            &[d.clone(), d.clone()],
        )
        .unwrap();
        let signed = signatures(&issuer);
        for _ in 0..2 {
            match issuer.swap(mixed.clone()).await {
                Err(IssuerError::SwapConflict { index, earlier }) => {
                    assert_eq!(index, 1);
                    assert_eq!(*earlier, EarlierSpend::Swap(request.coins[0].clone()));
                }
                other => panic!("expected a conflict, got {other:?}"),
            }
        }
        assert_eq!(signatures(&issuer), signed);
        assert!(
            swaps::swap(&issuer.state().store, &RequestId([23; 16]))
                .unwrap()
                .is_none()
        );
        assert!(spenders(&issuer, &mixed)[0].contains(&Some(swap_digest(&mixed))));
        let deposit = spend_batch(&acquirer_key(), [2; 16], vec![permission(unspent, 2)]);
        let refused = issuer.spend_check(deposit).await.unwrap();
        assert_eq!(
            refused.results.to_vec(),
            vec![SpendResult::Swapped {
                earlier: Box::new(mixed.coins[0].clone())
            }]
        );
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

const SWAP_DIR_VAR: &str = "SEMPER_ISSUER_SHARD_SWAP_CRASH_DIR";

/// Runs in the child process only: withdraws coins, prints a swap of one from each group, a
/// deposit of its first input and the signer's count, then dies in the swap as soon as both
/// groups have spent their inputs, before anything is signed or recorded.
#[test]
#[ignore = "run by a_swap_killed_between_its_groups_and_its_record_signs_once_on_retry as a child"]
fn issuer_shard_swap_crash_child() {
    let Ok(dir) = std::env::var(SWAP_DIR_VAR) else {
        return;
    };
    actix::System::new().block_on(async move {
        let issuer = start(Path::new(&dir));
        let (_, coins) = withdrawn(&issuer, 10).await;
        let given = one_per_group(&issuer, &coins);
        let d = first_denomination(&issuer);
        let (request, _) = wallet::prepare_swap(
            &mut rand::rng(),
            RequestId([21; 16]),
            &given,
            &[d.clone(), d],
        )
        .unwrap();
        let deposit = spend_batch(&acquirer_key(), [1; 16], vec![permission(&given[0], 1)]);
        tell_parent("SWAP", &request);
        tell_parent("DEPOSIT", &deposit);
        tell_parent_value("SIGNED", signatures(&issuer));
        abort_after_group_commits(&issuer, 2);
        let answer = issuer.swap(request).await;
        tell_parent_value("ANSWERED", format!("{answer:?}"));
    });
}

#[test]
fn a_swap_killed_between_its_groups_and_its_record_signs_once_on_retry() {
    let dir: PathBuf = std::env::temp_dir().join(format!(
        "semper-issuer-shards-swap-crash-{}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    let output = ChildOutput::of_crash(
        "issuer_shard_swap_crash_child",
        SWAP_DIR_VAR,
        &dir,
        &["COMMITTED 0", "COMMITTED 1"],
    );
    let request: SwapRequest = output.message("SWAP");
    let deposit: SignedSpendCheckBatch = output.message("DEPOSIT");
    let signed: u64 = output.value("SIGNED").parse().unwrap();

    actix::System::new().block_on(async {
        let issuer = start(&dir);
        // The crash left both inputs spent in their groups, by the swap, and nothing signed or
        // recorded.
        assert_swapped_by(&issuer, &request);
        assert_eq!(signatures(&issuer), signed);
        let store = &issuer.state().store;
        assert!(swaps::swap(store, &request.request_id).unwrap().is_none());

        // The wallet's retry replays the groups' verdicts, signs once and records.
        let answer = issuer.swap(request.clone()).await.unwrap();
        assert_eq!(answer.blind_signatures.len(), 2);
        assert_eq!(signatures(&issuer), signed + 2);
        let record = swaps::swap(store, &request.request_id).unwrap().unwrap();
        assert_eq!(record.blind_signatures, answer.blind_signatures);
        // Again: answered from the record, nothing signed.
        assert_eq!(issuer.swap(request.clone()).await.unwrap(), answer);
        assert_eq!(signatures(&issuer), signed + 2);
        assert_swapped_by(&issuer, &request);
        // The deposit of an input is refused with the swap permission as proof.
        let refused = issuer.spend_check(deposit).await.unwrap();
        assert_eq!(
            refused.results.to_vec(),
            vec![SpendResult::Swapped {
                earlier: Box::new(request.coins[0].clone())
            }]
        );
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_sharded_issuer_swaps_a_refunded_coin_once_for_its_allowance() {
    swaps_a_refunded_coin_once_for_its_allowance(&Placement::Rocks);
}

fn swaps_a_refunded_coin_once_for_its_allowance(placement: &Placement) {
    let dir = placement.dir("swap_refunded");
    actix::System::new().block_on(async {
        let issuer = start_on(&dir, placement);
        let (_, coins) = withdrawn(&issuer, 10).await;
        let given = one_per_group(&issuer, &coins);
        // Coin 0 is deposited, then refunded whole (no refund fee): an allowance of 1.00 in its
        // group.
        let paid = permission(&given[0], 1);
        let deposit = spend_batch(&acquirer_key(), [1; 16], vec![paid.clone()]);
        let answer = issuer.spend_check(deposit).await.unwrap();
        assert_eq!(answer.results.to_vec(), vec![SpendResult::Accepted]);
        let coin = given[0].coin();
        let notice = Signed::sign(
            RefundNotice {
                acquirer: ACQUIRER,
                refund: Digest([3; 32]),
                denomination: coin.denomination,
                coin: CoinId::of(&coin.public_key),
                permission: paid.body_digest(),
                amount: eur("1.00"),
            },
            &acquirer_key(),
        );
        let refunded = issuer.refund(notice).await.unwrap();
        assert!(
            matches!(refunded, RefundAnswer::Confirmed { .. }),
            "{refunded:?}"
        );

        // Swapped with an unspent coin of the other group: the allowance counts for 1.00.
        let d = first_denomination(&issuer);
        let mut rng = rand::rng();
        let with_refund = [given[0].refunded(eur("1.00")), given[1].clone()];
        let (request, _) = wallet::prepare_swap(
            &mut rng,
            RequestId([31; 16]),
            &with_refund,
            &[d.clone(), d.clone()],
        )
        .unwrap();
        let answer = issuer.swap(request.clone()).await.unwrap();
        assert_eq!(answer.blind_signatures.len(), 2);
        assert_eq!(issuer.swap(request.clone()).await.unwrap(), answer);
        // The state a crash between the groups' writes and the record leaves (the record
        // dropped): the retry replays both coins, the refunded one by its mark of the swap, and
        // signs and records again.
        let store = &issuer.state().store;
        let key = request.request_id.as_bytes().to_vec();
        store.write_synced(&[(Column::Swaps, key, None)]).unwrap();
        let signed = signatures(&issuer);
        assert_eq!(issuer.swap(request.clone()).await.unwrap(), answer);
        assert_eq!(signatures(&issuer), signed + 2);
        assert!(swaps::swap(store, &request.request_id).unwrap().is_some());
        // The refunded coin's record stays its deposit's; the other is spent by the swap.
        let held = spenders(&issuer, &request);
        assert!(held[0].contains(&Some(paid.body_digest())), "{held:?}");
        assert!(held[1].contains(&Some(swap_digest(&request))), "{held:?}");

        // Its allowance is used: a second swap of it is refused with the deposit as proof.
        let (again, _) = wallet::prepare_swap(
            &mut rng,
            RequestId([32; 16]),
            &[given[0].refunded(eur("1.00"))],
            std::slice::from_ref(&d),
        )
        .unwrap();
        match issuer.swap(again).await {
            Err(IssuerError::SwapConflict { index, earlier }) => {
                assert_eq!(index, 0);
                assert_eq!(*earlier, EarlierSpend::Deposit(paid.clone()));
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        issuer.stop();
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario run on either placement.
type Scenario = fn(&Placement);

/// The recoup and swap scenarios with the issuer's store and both its groups in PostgreSQL
/// databases of a server this test starts (and stops, failed or not).
#[test]
fn over_postgres_a_sharded_issuer_recoups_and_swaps_once() {
    let server = pg::PgServer::start();
    let scenarios: [(&str, Scenario); 3] = [
        ("recoup", recoups_once_and_refuses_spent_coins_with_proof),
        ("swap", swaps_once_and_refuses_its_inputs_with_proof),
        (
            "swap_refunded",
            swaps_a_refunded_coin_once_for_its_allowance,
        ),
    ];
    for (name, scenario) in scenarios {
        scenario(&Placement::postgres(&server, name));
    }
}
