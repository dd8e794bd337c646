//! The issuer's denominations: stored with their revocation flag, and the published set's sequence
//! number, changed together in one write; and the set it publishes, as its master key signed it,
//! stored with the revocations it brings in one write.

use semper_protocol::codec::Encode;
use semper_protocol::denomination::{Denomination, SignedDenominationSet};

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, META_PUBLISHED_SET, META_SET_SEQUENCE};
use crate::store::Store;

/// Most denominations an issuer keeps: the bound of one published set.
pub const DENOMINATIONS_STORED_MAX: usize = semper_protocol::limits::DENOMINATIONS_MAX;

/// A stored denomination.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDenomination {
    /// The denomination.
    pub denomination: Denomination,
    /// Whether it is revoked.
    pub revoked: bool,
}

/// Saves a denomination (new, or newly revoked) and bumps the set's sequence number.
#[derive(Clone, Debug)]
pub struct SaveDenomination(pub StoredDenomination);

impl Transaction for SaveDenomination {
    /// The new sequence number of the denomination set.
    type Output = u64;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(u64, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        put_denomination(&mut writes, &self.0);
        let sequence = bump_sequence(reader, &mut writes)?;
        Ok((sequence, writes))
    }
}

/// Writes the next value of the count of denomination changes, and gives it.
fn bump_sequence(reader: &GroupReader<'_>, writes: &mut WriteSet) -> Result<u64, StorageError> {
    let sequence = read_sequence(reader.get(Column::Meta, META_SET_SEQUENCE)?)? + 1;
    writes.put(
        Column::Meta,
        META_SET_SEQUENCE.to_vec(),
        sequence.to_be_bytes().to_vec(),
    );
    Ok(sequence)
}

fn put_denomination(writes: &mut WriteSet, stored: &StoredDenomination) {
    let mut value = stored.denomination.to_bytes();
    value.push(u8::from(stored.revoked));
    writes.put(
        Column::Denominations,
        stored.denomination.id().as_bytes().to_vec(),
        value,
    );
}

/// Stores the set to publish, signed, with the denominations it newly revokes marked revoked, and
/// bumps the count of changes:
/// unless a set of the same or a greater sequence is stored already (another process took a
/// newer one first), in which case nothing is written and the answer is `false`.
#[derive(Clone, Debug)]
pub struct SavePublishedSet {
    /// The set, as the master key signed it (checked by the caller).
    pub set: SignedDenominationSet,
    /// The denominations it revokes that were not revoked before.
    pub newly_revoked: Vec<Denomination>,
}

impl Transaction for SavePublishedSet {
    /// Whether the set was stored.
    type Output = bool;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(bool, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        if let Some(bytes) = reader.get(Column::Meta, META_PUBLISHED_SET)? {
            let stored = decode_record::<SignedDenominationSet>("meta", &bytes)?;
            if stored.body().fields().sequence >= self.set.body().fields().sequence {
                return Ok((false, writes));
            }
        }
        // The count of changes moves, so that other processes of a shared store take the set.
        bump_sequence(reader, &mut writes)?;
        for denomination in self.newly_revoked {
            put_denomination(
                &mut writes,
                &StoredDenomination {
                    denomination,
                    revoked: true,
                },
            );
        }
        writes.put(
            Column::Meta,
            META_PUBLISHED_SET.to_vec(),
            self.set.to_bytes(),
        );
        Ok((true, writes))
    }
}

/// The set the issuer publishes, as last stored; `None` before the first.
pub fn load_published(store: &Store) -> Result<Option<SignedDenominationSet>, StorageError> {
    store
        .get(Column::Meta, META_PUBLISHED_SET)?
        .map(|bytes| decode_record::<SignedDenominationSet>("meta", &bytes))
        .transpose()
}

/// A sequence counter stored in the meta column: a big-endian u64, 0 when absent.
pub(crate) fn read_sequence(bytes: Option<Vec<u8>>) -> Result<u64, StorageError> {
    match bytes {
        None => Ok(0),
        Some(bytes) => <[u8; 8]>::try_from(bytes.as_slice())
            .map(u64::from_be_bytes)
            .map_err(|_| StorageError::Corrupt {
                column: "meta",
                reason: "sequence counter is not 8 bytes".into(),
            }),
    }
}

/// The set's sequence number as stored: it moves with every denomination saved.
pub fn sequence(store: &Store) -> Result<u64, StorageError> {
    read_sequence(store.get(Column::Meta, META_SET_SEQUENCE)?)
}

/// Every stored denomination, and the set's sequence number.
pub fn load_all(store: &Store) -> Result<(Vec<StoredDenomination>, u64), StorageError> {
    let records = store.scan_prefix(Column::Denominations, &[], DENOMINATIONS_STORED_MAX + 1)?;
    // Dropping some silently would make their coins unknown: refuse instead.
    if records.len() > DENOMINATIONS_STORED_MAX {
        return Err(StorageError::Corrupt {
            column: "denominations",
            reason: format!("more than {DENOMINATIONS_STORED_MAX} denominations stored"),
        });
    }
    let denominations = records
        .into_iter()
        .map(|(_, value)| {
            let (flag, encoded) = value.split_last().ok_or(StorageError::Corrupt {
                column: "denominations",
                reason: "empty record".into(),
            })?;
            Ok(StoredDenomination {
                denomination: decode_record::<Denomination>("denominations", encoded)?,
                revoked: *flag != 0,
            })
        })
        .collect::<Result<Vec<_>, StorageError>>()?;
    let sequence = read_sequence(store.get(Column::Meta, META_SET_SEQUENCE)?)?;
    Ok((denominations, sequence))
}
