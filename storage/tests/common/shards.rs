//! The sharded spent set's scenario, run over RocksDB directories (`spent_shards.rs`) and over
//! PostgreSQL databases (`backends.rs`): the same checks whatever holds the groups.

use std::sync::Arc;

use semper_protocol::amount::Amount;
use semper_protocol::ids::{BankId, BatchId, Digest};
use semper_storage::commit::Committer;
use semper_storage::confirmed_batches;
use semper_storage::schema::{Column, spent_key};
use semper_storage::shard_map::{SHARD_SECRET_BYTES, ShardMap, ShardSecret};
use semper_storage::spent::{BatchIdReused, SpendBatch, SpendEntry, SpendOutcome};
use semper_storage::spent_shards::{BatchAnswer, SpentShards};
use semper_storage::{CommitConfig, Location, Role, StorageError, Store};

use super::{eur, spend};

/// The acquirer of every batch here.
pub const ACQUIRER: BankId = BankId([9; 16]);

/// A map of `groups` even ranges under secret `byte`.
pub fn map(byte: u8, groups: usize) -> ShardMap {
    ShardMap::new(
        ShardSecret::new(&[byte; SHARD_SECRET_BYTES]),
        &ShardMap::even_ranges(groups),
    )
    .unwrap()
}

/// Batch `id` whose body digest is `body`.
pub fn batch(id: u8, body: u8) -> SpendBatch {
    SpendBatch {
        acquirer: ACQUIRER,
        batch: BatchId([id; 16]),
        digest: Digest([body; 32]),
    }
}

/// The issuer's main store at `main` with its committer, and its spent set's groups at `groups`
/// under `map`.
pub fn open(
    main: &Location,
    groups: &[Location],
    map: ShardMap,
) -> Result<(Store, Arc<Committer>, SpentShards), StorageError> {
    let store = main.open(Role::Issuer)?;
    let committer = Arc::new(Committer::start(store.clone(), CommitConfig::default()));
    let shards = SpentShards::open(map, groups, &store, CommitConfig::default())?;
    Ok((store, committer, shards))
}

/// Runs a split spend check and waits for its answer.
pub fn check(
    shards: &SpentShards,
    main: &Arc<Committer>,
    batch: SpendBatch,
    entries: Vec<SpendEntry>,
) -> BatchAnswer {
    let (sender, receiver) = std::sync::mpsc::channel();
    shards.check_batch(main, batch, entries, move |answer| {
        let _ = sender.send(answer);
    });
    receiver
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("a split spend check never answered")
}

/// The spends of coins `coins`, each with permission number `permission`.
pub fn spends(coins: std::ops::Range<u32>, permission: u32) -> Vec<SpendEntry> {
    coins.map(|c| spend(c, permission)).collect()
}

/// The groups (of `shards`, then the main store: number `groups`) that hold `coin`.
pub fn holders(shards: &SpentShards, main: &Store, coin: u32) -> Vec<usize> {
    let entry = spend(coin, 0);
    let key = spent_key(&entry.denomination, &entry.coin);
    let groups = shards.map().groups();
    (0..=groups)
        .filter(|g| {
            let store = if *g == groups {
                main
            } else {
                shards.store(*g).unwrap()
            };
            store.get(Column::SpentCoins, &key).unwrap().is_some()
        })
        .collect()
}

/// The totals recorded for batch `id`.
pub fn totals(main: &Store, id: u8) -> Option<Vec<Amount>> {
    confirmed_batches::totals(main, &[(ACQUIRER, BatchId([id; 16]))])
        .unwrap()
        .into_values()
        .next()
}

/// The whole scenario: a batch split over the groups, each coin in its own group only; its retry
/// replays; double spends are refused with proof; a reused batch id writes nothing; everything
/// survives a reopen; and another map, swapped groups or an unsharded start are refused.
pub fn scenario(main: &Location, groups: &[Location]) {
    let n = groups.len();
    {
        let (store, committer, shards) = open(main, groups, map(1, n)).unwrap();
        let first = check(&shards, &committer, batch(1, 1), spends(0..60, 1)).unwrap();
        assert_eq!(first, Ok(vec![SpendOutcome::New; 60]));
        let mut per_group = vec![0; n];
        for coin in 0..60 {
            let entry = spend(coin, 1);
            let home = shards
                .map()
                .group_of(&spent_key(&entry.denomination, &entry.coin));
            assert_eq!(holders(&shards, &store, coin), vec![home], "coin {coin}");
            per_group[home] += 1;
        }
        assert!(per_group.iter().all(|c| *c > 0), "{per_group:?}");
        assert_eq!(totals(&store, 1), Some(vec![eur("60.00")]));

        // The retry replays every coin, and records the same totals.
        let again = check(&shards, &committer, batch(1, 1), spends(0..60, 1)).unwrap();
        assert_eq!(again, Ok(vec![SpendOutcome::Replay; 60]));
        assert_eq!(totals(&store, 1), Some(vec![eur("60.00")]));

        // Double spends, in every group, with proof; the new coins of that batch are confirmed.
        let mut entries = spends(0..60, 2);
        entries.extend(spends(60..70, 2));
        let outcomes = check(&shards, &committer, batch(2, 2), entries)
            .unwrap()
            .unwrap();
        for (coin, outcome) in (0..60).zip(&outcomes) {
            assert_eq!(
                *outcome,
                SpendOutcome::Conflict {
                    earlier: spend(coin, 1).permission
                }
            );
        }
        assert_eq!(outcomes[60..], vec![SpendOutcome::New; 10]);
        assert_eq!(totals(&store, 2), Some(vec![eur("10.00")]));

        // Batch 1's id with another body: refused whole, and none of its coins spent.
        let reused = check(&shards, &committer, batch(1, 7), spends(100..110, 1)).unwrap();
        assert_eq!(reused, Err(BatchIdReused));
        assert!((100..110).all(|coin| holders(&shards, &store, coin).is_empty()));
    }
    // Everything is in the databases: reopened, batch 1 still replays.
    {
        let (_store, committer, shards) = open(main, groups, map(1, n)).unwrap();
        let again = check(&shards, &committer, batch(1, 1), spends(0..60, 1)).unwrap();
        assert_eq!(again, Ok(vec![SpendOutcome::Replay; 60]));
    }
    // Another secret or another table would look for coins where they are not: refused.
    for other in [map(2, n), map(1, n + 1)] {
        let locations: Vec<Location> = groups
            .iter()
            .cloned()
            .cycle()
            .take(other.groups())
            .collect();
        assert!(matches!(
            open(main, &locations, other),
            Err(StorageError::ShardMismatch(_))
        ));
    }
    let mut swapped = groups.to_vec();
    swapped.swap(0, 1);
    assert!(matches!(
        open(main, &swapped, map(1, n)),
        Err(StorageError::ShardMismatch(_))
    ));
    // An issuer started without its groups would check coins in the wrong place: refused.
    let store = main.open(Role::Issuer).unwrap();
    assert!(matches!(
        SpentShards::check_unsharded(&store),
        Err(StorageError::ShardMismatch(_))
    ));
}
