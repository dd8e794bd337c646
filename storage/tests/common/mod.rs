//! Helpers shared by the storage tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{AccountId, DenominationId, Digest};
use semper_protocol::time::Timestamp;
use semper_storage::commit::Committer;
use semper_storage::issued::Issued;
use semper_storage::ledger::{Credit, OpenAccount};
use semper_storage::spent::SpendEntry;
use semper_storage::{CommitConfig, Role, Store};

pub mod child;
pub mod issued;
pub mod shards;
pub mod target;

/// A fresh directory under the system temp dir, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
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

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

pub const AT: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

pub fn open_issuer(dir: &TempDir) -> (Store, Committer) {
    let store = Store::open(&dir.0, Role::Issuer).unwrap();
    let committer = Committer::start(store.clone(), CommitConfig::default());
    (store, committer)
}

/// Opens account `id` and credits it `amount` under reference `funding-<id>`.
pub fn funded_account(committer: &Committer, id: u8, amount: &str) -> AccountId {
    let account = AccountId([id; 16]);
    let key = SigningKey::from_seed(&[id; 32]);
    committer
        .execute(OpenAccount {
            account,
            public_key: *key.verifying_key(),
            currency: Currency::new("EUR").unwrap(),
            at: AT,
        })
        .unwrap()
        .unwrap();
    committer
        .execute(Credit {
            account,
            reference: format!("funding-{id}"),
            amount: eur(amount),
            at: AT,
        })
        .unwrap()
        .unwrap();
    account
}

/// The denomination of the coins the tests' withdrawals sign.
pub const WITHDRAWN: DenominationId = DenominationId([3; 32]);

/// The books' counts of a request signing `coins` coins of [`WITHDRAWN`].
pub fn withdrawn(coins: usize) -> Issued {
    Issued::of(&vec![WITHDRAWN; coins])
}

/// A spend of coin `coin` with permission number `permission`.
pub fn spend(coin: u32, permission: u32) -> SpendEntry {
    let mut coin_key = [0u8; 32];
    coin_key[..4].copy_from_slice(&coin.to_be_bytes());
    let mut digest = [0u8; 32];
    digest[..4].copy_from_slice(&coin.to_be_bytes());
    digest[4..8].copy_from_slice(&permission.to_be_bytes());
    SpendEntry {
        denomination: DenominationId([7; 32]),
        coin: coin_key,
        permission_digest: Digest(digest),
        permission: format!("permission {permission} of coin {coin}").into_bytes(),
        amount: eur("1.00"),
    }
}
pub mod pg;
