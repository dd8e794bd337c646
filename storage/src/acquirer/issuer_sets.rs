//! The denomination sets of the issuers an acquirer trusts, as last fetched and verified: what
//! its deposit checks use after a restart, until the next refresh.

use semper_protocol::codec::Encode;
use semper_protocol::denomination::SignedDenominationSet;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::Column;
use crate::store::Store;

/// Stores an issuer's verified set, unless a newer one (by sequence number) is stored already.
#[derive(Clone, Debug)]
pub struct SaveIssuerSet(pub SignedDenominationSet);

impl Transaction for SaveIssuerSet {
    /// Whether the set was stored: false when the stored one is newer.
    type Output = bool;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(bool, WriteSet), StorageError> {
        let fields = self.0.body().fields();
        let key = fields.issuer.as_bytes().to_vec();
        if let Some(bytes) = reader.get(Column::IssuerSets, &key)? {
            let stored: SignedDenominationSet = decode_record("issuer_sets", &bytes)?;
            if stored.body().fields().sequence > fields.sequence {
                return Ok((false, WriteSet::new()));
            }
        }
        let mut writes = WriteSet::new();
        writes.put(Column::IssuerSets, key, self.0.to_bytes());
        Ok((true, writes))
    }
}

/// Up to `limit` stored sets, by issuer id. The caller verifies each again against its config.
pub fn load_all(store: &Store, limit: usize) -> Result<Vec<SignedDenominationSet>, StorageError> {
    store
        .scan_prefix(Column::IssuerSets, &[], limit)?
        .into_iter()
        .map(|(_, value)| decode_record("issuer_sets", &value))
        .collect()
}
