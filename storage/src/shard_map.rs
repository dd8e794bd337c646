//! Which shard group holds a coin's spent-set record: a keyed hash of the coin's key picks one
//! of [`SHARD_BUCKETS`] buckets, and a map from config gives each bucket to one shard group.
//!
//! The hash is HMAC-SHA256 under a secret of the bank ([`ShardSecret`]): without it, a wallet
//! could grind coin keys until they all fall into one shard and load that shard alone. The
//! bucket count is fixed forever, since it decides where the coins already spent are; only the
//! map from buckets to groups is configuration, and it may not change once coins are placed (see
//! [`ShardMap::fingerprint`], which the stores record).

use std::fmt;

use semper_protocol::crypto::hash::sha256;
use zeroize::Zeroizing;

/// Buckets of the shard map. Fixed forever: it decides where spent coins already are.
pub const SHARD_BUCKETS: u16 = 1024;
/// Bytes of a [`ShardSecret`].
pub const SHARD_SECRET_BYTES: usize = 32;
/// HMAC-SHA256's block: keys of up to this many bytes are used as they are, zero-padded.
const HMAC_BLOCK_BYTES: usize = 64;

/// The bank's secret that keys the coin-to-bucket hash. Never shown: its `Debug` is redacted, and
/// it is wiped when dropped.
#[derive(Clone)]
pub struct ShardSecret(Zeroizing<[u8; SHARD_SECRET_BYTES]>);

impl ShardSecret {
    /// The secret of these bytes (read from the key store, where it was made at random once).
    pub fn new(bytes: &[u8; SHARD_SECRET_BYTES]) -> Self {
        Self(Zeroizing::new(*bytes))
    }

    /// HMAC-SHA256 of `message` under the secret (RFC 2104, with SHA-256).
    fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut inner_pad = Zeroizing::new([0x36u8; HMAC_BLOCK_BYTES]);
        let mut outer_pad = Zeroizing::new([0x5cu8; HMAC_BLOCK_BYTES]);
        for (i, byte) in self.0.iter().enumerate() {
            inner_pad[i] ^= byte;
            outer_pad[i] ^= byte;
        }
        let inner = sha256(&[inner_pad.as_slice(), message]);
        sha256(&[outer_pad.as_slice(), &inner])
    }

    /// The bucket of the spent-set key `key` (see `schema::spent_key`).
    pub fn bucket(&self, key: &[u8]) -> u16 {
        let mac = self.mac(key);
        // 2^32 is a multiple of the bucket count: every bucket is equally likely.
        (u32::from_be_bytes([mac[0], mac[1], mac[2], mac[3]]) % u32::from(SHARD_BUCKETS)) as u16
    }
}

impl fmt::Debug for ShardSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShardSecret(redacted)")
    }
}

/// Buckets `first..=last`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BucketRange {
    /// The first bucket of the range.
    pub first: u16,
    /// The last bucket of the range, included.
    pub last: u16,
}

/// Why a map from buckets to shard groups is refused. Groups are numbered from 0 in config order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ShardMapError {
    /// No group at all.
    #[error("no shard group: at least one is needed")]
    NoGroups,
    /// A group owns no bucket.
    #[error("shard group {group} owns no bucket")]
    EmptyGroup {
        /// The group.
        group: usize,
    },
    /// A range is reversed or reaches past the last bucket.
    #[error(
        "shard group {group}: bucket range {first}-{last} is not within 0-{max}",
        max = SHARD_BUCKETS - 1
    )]
    BadRange {
        /// The group.
        group: usize,
        /// The range's first bucket.
        first: u16,
        /// The range's last bucket.
        last: u16,
    },
    /// Two groups (or one group twice) claim a bucket.
    #[error("bucket {bucket} is given to shard group {first} and to shard group {second}")]
    Overlap {
        /// The bucket.
        bucket: u16,
        /// The group that claimed it first.
        first: usize,
        /// The group that claimed it again.
        second: usize,
    },
    /// Buckets no group owns.
    #[error("buckets {first}-{last} belong to no shard group")]
    Missing {
        /// The first bucket without a group.
        first: u16,
        /// The last bucket of that run.
        last: u16,
    },
}

/// Where each coin's spent-set record lives: its bucket, and the bucket's shard group.
#[derive(Clone, Debug)]
pub struct ShardMap {
    /// The group of each bucket.
    owner: Vec<u16>,
    groups: usize,
    secret: ShardSecret,
}

impl ShardMap {
    /// A map of `groups[g]`'s ranges to group `g`: every bucket in exactly one group, every group
    /// with a bucket.
    pub fn new(secret: ShardSecret, groups: &[Vec<BucketRange>]) -> Result<Self, ShardMapError> {
        if groups.is_empty() {
            return Err(ShardMapError::NoGroups);
        }
        let mut owner: Vec<Option<usize>> = vec![None; usize::from(SHARD_BUCKETS)];
        for (group, ranges) in groups.iter().enumerate() {
            if ranges.is_empty() {
                return Err(ShardMapError::EmptyGroup { group });
            }
            for &BucketRange { first, last } in ranges {
                if first > last || last >= SHARD_BUCKETS {
                    return Err(ShardMapError::BadRange { group, first, last });
                }
                for bucket in first..=last {
                    if let Some(earlier) = owner[usize::from(bucket)].replace(group) {
                        return Err(ShardMapError::Overlap {
                            bucket,
                            first: earlier,
                            second: group,
                        });
                    }
                }
            }
        }
        if let Some(first) = owner.iter().position(Option::is_none) {
            let run = owner[first..].iter().take_while(|o| o.is_none()).count();
            return Err(ShardMapError::Missing {
                first: first as u16,
                last: (first + run - 1) as u16,
            });
        }
        Ok(Self {
            // Every bucket has an owner (checked above), and a group index fits: at most one
            // group per bucket is non-empty.
            owner: owner.into_iter().map(|o| o.unwrap_or(0) as u16).collect(),
            groups: groups.len(),
            secret,
        })
    }

    /// `groups` groups of contiguous, nearly equal bucket ranges, in order: the map config
    /// describes when it gives only a group count.
    pub fn even_ranges(groups: usize) -> Vec<Vec<BucketRange>> {
        let buckets = usize::from(SHARD_BUCKETS);
        (0..groups)
            .map(|g| {
                let (first, end) = (g * buckets / groups, (g + 1) * buckets / groups);
                if first == end {
                    Vec::new()
                } else {
                    vec![BucketRange {
                        first: first as u16,
                        last: (end - 1) as u16,
                    }]
                }
            })
            .collect()
    }

    /// How many shard groups.
    pub fn groups(&self) -> usize {
        self.groups
    }

    /// The bucket of the spent-set key `key`.
    pub fn bucket(&self, key: &[u8]) -> u16 {
        self.secret.bucket(key)
    }

    /// The shard group of the spent-set key `key`.
    pub fn group_of(&self, key: &[u8]) -> usize {
        usize::from(self.owner[usize::from(self.bucket(key))])
    }

    /// What decides where coins are: the bucket-to-group table and (through a MAC, never the
    /// bytes) the secret. The stores record it, and a store opened under another fingerprint is
    /// refused, since its coins would be looked for in the wrong places.
    pub fn fingerprint(&self) -> [u8; 32] {
        let table: Vec<u8> = self.owner.iter().flat_map(|g| g.to_be_bytes()).collect();
        let secret_tag = self.secret.mac(b"semper spent-shard map fingerprint");
        sha256(&[
            b"semper-shard-map-v1",
            &(self.groups as u64).to_be_bytes(),
            &table,
            &secret_tag,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(byte: u8) -> ShardSecret {
        ShardSecret::new(&[byte; SHARD_SECRET_BYTES])
    }

    fn key(n: u32) -> [u8; 64] {
        let mut key = [0u8; 64];
        key[32..36].copy_from_slice(&n.to_be_bytes());
        key
    }

    fn range(first: u16, last: u16) -> BucketRange {
        BucketRange { first, last }
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231, test case 2 uses a 4-byte key; ours are 32 bytes, zero-padded the same way.
        let mut bytes = [0u8; SHARD_SECRET_BYTES];
        bytes[..4].copy_from_slice(b"Jefe");
        // A 4-byte key and the same key zero-padded to 32 bytes are the same HMAC key.
        let mac = ShardSecret::new(&bytes).mac(b"what do ya want for nothing?");
        let expected = "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843";
        let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(hex, expected);
    }

    #[test]
    fn buckets_are_keyed_stable_and_uniform() {
        let (a, b) = (secret(1), secret(2));
        let keys: Vec<[u8; 64]> = (0..20_480).map(key).collect();
        // Stable: the same secret gives the same bucket, every time.
        assert!(keys.iter().all(|k| a.bucket(k) == secret(1).bucket(k)));
        // Keyed: another secret moves almost every coin (1 in 1024 stays by chance).
        let same = keys.iter().filter(|k| a.bucket(*k) == b.bucket(*k)).count();
        assert!(same < 60, "{same} of 20480 coins in the same bucket");
        // Uniform enough: 20 coins a bucket expected; none empty, none past 3 times that.
        let mut counts = vec![0u32; usize::from(SHARD_BUCKETS)];
        for k in &keys {
            counts[usize::from(a.bucket(k))] += 1;
        }
        let (min, max) = (counts.iter().min(), counts.iter().max());
        assert!(
            min >= Some(&3) && max <= Some(&60),
            "bucket loads {min:?}..{max:?}"
        );
    }

    #[test]
    fn groups_follow_the_table_and_split_evenly() {
        let map = ShardMap::new(secret(7), &ShardMap::even_ranges(3)).unwrap();
        assert_eq!(map.groups(), 3);
        let mut per_group = [0u32; 3];
        for n in 0..30_000 {
            let k = key(n);
            let group = map.group_of(&k);
            let bucket = usize::from(map.bucket(&k));
            assert!(
                (group * 1024 / 3..(group + 1) * 1024 / 3).contains(&bucket),
                "bucket {bucket} in group {group}"
            );
            per_group[group] += 1;
        }
        assert!(
            per_group.iter().all(|n| (9_000..11_000).contains(n)),
            "{per_group:?}"
        );
        // An explicit table: even buckets to group 0, odd ones to group 1.
        let (mut even, mut odd) = (Vec::new(), Vec::new());
        for b in 0..SHARD_BUCKETS {
            if b % 2 == 0 { &mut even } else { &mut odd }.push(range(b, b));
        }
        let map = ShardMap::new(secret(7), &[even, odd]).unwrap();
        assert!((0..1000).all(|n| map.group_of(&key(n)) == usize::from(map.bucket(&key(n)) % 2)));
    }

    #[test]
    fn bad_maps_are_refused_with_the_group_and_buckets() {
        let map = |groups: &[Vec<BucketRange>]| ShardMap::new(secret(1), groups).err();
        assert_eq!(map(&[]), Some(ShardMapError::NoGroups));
        assert_eq!(
            map(&[vec![range(0, 1023)], vec![]]),
            Some(ShardMapError::EmptyGroup { group: 1 })
        );
        assert_eq!(
            map(&[vec![range(0, 600)], vec![range(500, 1023)]]),
            Some(ShardMapError::Overlap {
                bucket: 500,
                first: 0,
                second: 1
            })
        );
        assert_eq!(
            map(&[vec![range(0, 99), range(200, 1023)]]),
            Some(ShardMapError::Missing {
                first: 100,
                last: 199
            })
        );
        assert_eq!(
            map(&[vec![range(0, 1024)]]),
            Some(ShardMapError::BadRange {
                group: 0,
                first: 0,
                last: 1024
            })
        );
        assert_eq!(
            map(&[vec![range(9, 8)]]),
            Some(ShardMapError::BadRange {
                group: 0,
                first: 9,
                last: 8
            })
        );
        assert!(map(&ShardMap::even_ranges(1)).is_none());
        assert!(map(&ShardMap::even_ranges(1024)).is_none());
    }

    #[test]
    fn the_fingerprint_changes_with_the_table_and_the_secret() {
        let of = |s: u8, groups: usize| {
            ShardMap::new(secret(s), &ShardMap::even_ranges(groups))
                .unwrap()
                .fingerprint()
        };
        assert_eq!(of(1, 2), of(1, 2));
        assert_ne!(of(1, 2), of(1, 3));
        assert_ne!(of(1, 2), of(2, 2));
    }

    #[test]
    fn the_secret_is_never_shown() {
        assert_eq!(format!("{:?}", secret(0xab)), "ShardSecret(redacted)");
        let map = ShardMap::new(secret(0xab), &ShardMap::even_ranges(2)).unwrap();
        assert!(!format!("{map:?}").contains("171"));
    }
}
