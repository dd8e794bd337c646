//! The issuer's spent-set shard groups in the config (`[[banks.issuer.spent_shards]]`): where
//! each group's store is and which of the fixed buckets it holds, their checks (each failure
//! names its key), and the issuer's [`SpentShardsConfig`] made from them.
//!
//! No group (the default) keeps the spent set in the issuer's own store, as before. Otherwise
//! there are at least two, each a store of its own; see `semper_storage::spent_shards` for how a
//! spend check is split over them and why that is safe.

use std::path::{Path, PathBuf};

use semper_actors::issuer::SpentShardsConfig;
use semper_storage::Location;
use semper_storage::shard_map::{
    BucketRange, SHARD_BUCKETS, SHARD_SECRET_BYTES, ShardMap, ShardMapError, ShardSecret,
};
use serde::Deserialize;

use super::{ConfigError, Secret};

/// Most shard groups of one issuer: each has its own committer thread and spent filter.
pub const SPENT_SHARD_GROUPS_MAX: usize = 64;

/// One shard group of an issuer's spent set.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SpentShardSection {
    /// A RocksDB directory of its own, relative to the issuer's directory unless absolute.
    pub rocksdb: Option<PathBuf>,
    /// A PostgreSQL database of its own, by libpq connection string (it may hold a password).
    pub postgres: Option<Secret>,
    /// Its buckets, each `"first-last"` or `"bucket"`, of 0 to 1023. Every group lists its own,
    /// or none does: then the buckets split evenly over the groups, in order.
    #[serde(default)]
    pub buckets: Vec<String>,
}

/// Checks the shard groups at `key` (`banks[i].issuer.spent_shards`).
pub fn check_spent_shards(key: &str, groups: &[SpentShardSection]) -> Result<(), ConfigError> {
    match groups.len() {
        0 => return Ok(()),
        1 => {
            return Err(ConfigError::invalid(
                key,
                "one shard group is the issuer's own store: list no group, or at least two",
            ));
        }
        n if n > SPENT_SHARD_GROUPS_MAX => {
            return Err(ConfigError::invalid(
                key,
                format!("{n} groups; at most {SPENT_SHARD_GROUPS_MAX}"),
            ));
        }
        _ => {}
    }
    for (index, group) in groups.iter().enumerate() {
        let group_key = format!("{key}[{index}]");
        let place = place_of(group).ok_or_else(|| {
            ConfigError::invalid(
                &group_key,
                "needs exactly one of `rocksdb` (a directory) or `postgres` (a connection string)",
            )
        })?;
        if let Some(first) = groups[..index]
            .iter()
            .position(|g| place_of(g) == Some(place))
        {
            return Err(ConfigError::invalid(
                group_key,
                format!("the same store as {key}[{first}]: each group needs its own"),
            ));
        }
    }
    let ranges = bucket_ranges(key, groups)?;
    // The table is what is checked here; the real secret is the issuer's, read at its start.
    let secret = ShardSecret::new(&[0; SHARD_SECRET_BYTES]);
    ShardMap::new(secret, &ranges)
        .map(|_| ())
        .map_err(|error| map_error(key, groups, error))
}

/// The issuer's shard config from `groups`, with relative RocksDB directories under
/// `issuer_dir`. Call it on a checked config: bucket lists that do not parse give a group no
/// bucket, which the issuer refuses at start.
pub fn spent_shards_config(groups: &[SpentShardSection], issuer_dir: &Path) -> SpentShardsConfig {
    let locations = groups
        .iter()
        .filter_map(|group| match (&group.rocksdb, &group.postgres) {
            (Some(dir), None) => Some(Location::Rocks(if dir.is_absolute() {
                dir.clone()
            } else {
                issuer_dir.join(dir)
            })),
            (None, Some(conninfo)) => Some(Location::Postgres(conninfo.expose().to_owned())),
            _ => None,
        })
        .collect();
    let buckets = if groups.iter().all(|g| g.buckets.is_empty()) {
        Vec::new()
    } else {
        groups
            .iter()
            .map(|group| {
                group
                    .buckets
                    .iter()
                    .map(|text| parse_range(text))
                    .collect::<Option<Vec<_>>>()
                    .unwrap_or_default()
            })
            .collect()
    };
    SpentShardsConfig {
        groups: locations,
        buckets,
    }
}

/// What tells two groups' stores apart: the directory, or the connection string.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place<'a> {
    Rocks(&'a Path),
    Postgres(&'a str),
}

fn place_of(group: &SpentShardSection) -> Option<Place<'_>> {
    match (&group.rocksdb, &group.postgres) {
        (Some(dir), None) => Some(Place::Rocks(dir)),
        (None, Some(conninfo)) => Some(Place::Postgres(conninfo.expose())),
        _ => None,
    }
}

/// Each group's ranges: all listed, or (none listed) the even split.
fn bucket_ranges(
    key: &str,
    groups: &[SpentShardSection],
) -> Result<Vec<Vec<BucketRange>>, ConfigError> {
    if groups.iter().all(|g| g.buckets.is_empty()) {
        return Ok(ShardMap::even_ranges(groups.len()));
    }
    groups
        .iter()
        .enumerate()
        .map(|(index, group)| {
            group
                .buckets
                .iter()
                .enumerate()
                .map(|(item, text)| {
                    parse_range(text).ok_or_else(|| {
                        ConfigError::invalid(
                            format!("{key}[{index}].buckets[{item}]"),
                            format!(
                                "`{text}` is not a bucket (`7`) or a range (`0-511`) within 0-{}",
                                SHARD_BUCKETS - 1
                            ),
                        )
                    })
                })
                .collect()
        })
        .collect()
}

/// `"first-last"` or `"bucket"`; a reversed or out-of-range one is left to the map's check.
fn parse_range(text: &str) -> Option<BucketRange> {
    let (first, last) = text.split_once('-').unwrap_or((text, text));
    Some(BucketRange {
        first: first.trim().parse().ok()?,
        last: last.trim().parse().ok()?,
    })
}

/// The map's refusal, at the key of the group it is about.
fn map_error(key: &str, groups: &[SpentShardSection], error: ShardMapError) -> ConfigError {
    let listed = !groups.iter().all(|g| g.buckets.is_empty());
    match error {
        ShardMapError::EmptyGroup { group } if listed => ConfigError::invalid(
            format!("{key}[{group}].buckets"),
            "empty: when one group lists its buckets, every group must",
        ),
        ShardMapError::EmptyGroup { .. } => {
            ConfigError::invalid(key, format!("more groups than the {SHARD_BUCKETS} buckets"))
        }
        ShardMapError::BadRange { group, first, last } => ConfigError::invalid(
            format!("{key}[{group}].buckets"),
            format!(
                "range {first}-{last} is not within 0-{}, first to last",
                SHARD_BUCKETS - 1
            ),
        ),
        ShardMapError::Overlap {
            bucket,
            first,
            second,
        } => ConfigError::invalid(
            format!("{key}[{second}].buckets"),
            if first == second {
                format!("bucket {bucket} is listed twice")
            } else {
                format!("bucket {bucket} is also in {key}[{first}].buckets")
            },
        ),
        ShardMapError::Missing { first, last } => ConfigError::invalid(
            key,
            format!(
                "buckets {first}-{last} are in no group: the groups must cover 0-{}",
                SHARD_BUCKETS - 1
            ),
        ),
        ShardMapError::NoGroups => ConfigError::invalid(key, "no group"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rocks(dir: &str, buckets: &[&str]) -> SpentShardSection {
        SpentShardSection {
            rocksdb: Some(dir.into()),
            postgres: None,
            buckets: buckets.iter().map(|b| b.to_string()).collect(),
        }
    }

    /// The key and message of the refusal of `groups`.
    fn refusal(groups: &[SpentShardSection]) -> (String, String) {
        match check_spent_shards("banks[0].issuer.spent_shards", groups) {
            Err(ConfigError::Invalid { key, problem }) => (key, problem),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn none_or_several_groups_are_taken() {
        assert!(check_spent_shards("k", &[]).is_ok());
        assert!(check_spent_shards("k", &[rocks("a", &[]), rocks("b", &[])]).is_ok());
        let listed = [rocks("a", &["0-99", "512-1023"]), rocks("b", &["100-511"])];
        assert!(check_spent_shards("k", &listed).is_ok());
        let config = spent_shards_config(&listed, Path::new("/bank/issuer"));
        assert_eq!(
            config.groups,
            vec![
                Location::Rocks("/bank/issuer/a".into()),
                Location::Rocks("/bank/issuer/b".into())
            ]
        );
        assert_eq!(
            config.buckets[0],
            vec![
                BucketRange { first: 0, last: 99 },
                BucketRange {
                    first: 512,
                    last: 1023
                }
            ]
        );
        let even = spent_shards_config(&[rocks("/x", &[]), rocks("y", &[])], Path::new("/i"));
        assert!(even.buckets.is_empty());
        assert_eq!(even.groups[0], Location::Rocks("/x".into()));
    }

    #[test]
    fn each_refusal_names_its_key() {
        let key = "banks[0].issuer.spent_shards";
        let (k, p) = refusal(&[rocks("a", &[])]);
        assert_eq!(k, key);
        assert!(p.contains("at least two"), "{p}");

        let neither = SpentShardSection {
            rocksdb: None,
            postgres: None,
            buckets: Vec::new(),
        };
        assert_eq!(refusal(&[rocks("a", &[]), neither]).0, format!("{key}[1]"));
        let both = SpentShardSection {
            rocksdb: Some("d".into()),
            postgres: Some(Secret::new("host=h")),
            buckets: Vec::new(),
        };
        assert_eq!(refusal(&[both, rocks("a", &[])]).0, format!("{key}[0]"));
        let (k, p) = refusal(&[rocks("a", &[]), rocks("b", &[]), rocks("a", &[])]);
        assert_eq!(k, format!("{key}[2]"));
        assert!(p.contains(&format!("{key}[0]")), "{p}");

        let (k, p) = refusal(&[rocks("a", &["0-600"]), rocks("b", &["500-1023"])]);
        assert_eq!(k, format!("{key}[1].buckets"));
        assert!(
            p.contains("bucket 500") && p.contains(&format!("{key}[0]")),
            "{p}"
        );
        let (k, p) = refusal(&[rocks("a", &["0-99"]), rocks("b", &["200-1023"])]);
        assert_eq!(k, key);
        assert!(p.contains("100-199"), "{p}");
        let (k, p) = refusal(&[rocks("a", &["0-1023"]), rocks("b", &[])]);
        assert_eq!(k, format!("{key}[1].buckets"));
        assert!(p.contains("empty"), "{p}");
        let (k, _) = refusal(&[rocks("a", &["0-1024"]), rocks("b", &["5"])]);
        assert_eq!(k, format!("{key}[0].buckets"));
        let (k, _) = refusal(&[rocks("a", &["0-511"]), rocks("b", &["512-x"])]);
        assert_eq!(k, format!("{key}[1].buckets[0]"));
    }

    /// A one-issuer config whose issuer has `shards` (TOML) appended.
    fn parse(shards: &str) -> Result<super::super::Config, ConfigError> {
        let text = format!(
            "[[banks]]\nname = \"i\"\nid = \"01000000000000000000000000000001\"\n\
             link_listen = \"127.0.0.1:0\"\n[banks.issuer]\ndenominations = [\"EUR:1.00\"]\n\
             {shards}"
        );
        super::super::Config::parse(
            &text,
            Path::new("t.toml"),
            Path::new("."),
            std::iter::empty(),
        )
    }

    #[test]
    fn the_toml_keys_parse_and_their_errors_name_them() {
        let config = parse(
            "[[banks.issuer.spent_shards]]\nrocksdb = \"a\"\n\
             [[banks.issuer.spent_shards]]\npostgres = \"host=db dbname=s1\"\n",
        )
        .unwrap();
        let issuer = config.banks[0].issuer.as_ref().unwrap();
        let shards = spent_shards_config(&issuer.spent_shards, Path::new("/d/i/issuer"));
        assert_eq!(
            shards.groups,
            vec![
                Location::Rocks("/d/i/issuer/a".into()),
                Location::Postgres("host=db dbname=s1".into())
            ]
        );
        // No groups: the spent set stays in the issuer's store.
        let plain = parse("").unwrap();
        assert!(
            plain.banks[0]
                .issuer
                .as_ref()
                .unwrap()
                .spent_shards
                .is_empty()
        );
        let error = parse(
            "[[banks.issuer.spent_shards]]\nrocksdb = \"a\"\n\
             [[banks.issuer.spent_shards]]\nrocksdb = \"b\"\nbuckets = [\"0-5\"]\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("`banks[0].issuer.spent_shards[0].buckets`"),
            "{error}"
        );
        let error = parse("[[banks.issuer.spent_shards]]\nrocksdb = \"a\"\nlocation = 1\n")
            .unwrap_err()
            .to_string();
        assert!(error.contains("spent_shards[0]"), "{error}");
    }

    #[test]
    fn a_connection_string_is_never_shown() {
        let group = SpentShardSection {
            rocksdb: None,
            postgres: Some(Secret::new("host=h password=hunter2")),
            buckets: Vec::new(),
        };
        assert!(!format!("{group:?}").contains("hunter2"));
    }
}
