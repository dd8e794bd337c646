//! What an issuer confirmed for each spend-check batch, per currency: written with the batch's
//! spends, read back when a settlement report lists the batch.

use std::collections::HashMap;

use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::{BankId, BatchId};
use semper_protocol::limits::CONFIRMATION_ENTRIES_MAX;

use crate::commit::WriteSet;
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, confirmed_batch_key};
use crate::store::Store;

/// A batch's confirmed totals, one per currency, sorted by currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchTotals {
    /// The totals: at most one per entry of a confirmation.
    pub totals: BoundedVec<Amount, CONFIRMATION_ENTRIES_MAX>,
}

codec_struct!(BatchTotals { totals });

/// Stages the totals of `confirmed`, the amounts of the coins a batch's confirmation lists, for
/// `acquirer`'s `batch`. Nothing is staged when there are none (no confirmation is signed then),
/// or when a total overflows: the clearing house refuses such a confirmation, so no report will
/// list it. Says whether totals were staged.
pub(crate) fn stage(
    writes: &mut WriteSet,
    acquirer: &BankId,
    batch: &BatchId,
    confirmed: impl IntoIterator<Item = Amount>,
) -> bool {
    let Ok(totals) = Amount::sum_per_currency(confirmed) else {
        return false;
    };
    if totals.is_empty() {
        return false;
    }
    // One total per currency, and a batch holds at most as many coins as the bound.
    let Ok(totals) = BoundedVec::new(totals) else {
        return false;
    };
    writes.put(
        Column::ConfirmedBatches,
        confirmed_batch_key(acquirer, batch).to_vec(),
        BatchTotals { totals }.to_bytes(),
    );
    true
}

/// The recorded totals of each of `batches` that the books hold, by (acquirer, batch).
pub fn totals(
    store: &Store,
    batches: &[(BankId, BatchId)],
) -> Result<HashMap<(BankId, BatchId), Vec<Amount>>, StorageError> {
    let keys: Vec<[u8; 32]> = batches
        .iter()
        .map(|(acquirer, batch)| confirmed_batch_key(acquirer, batch))
        .collect();
    let refs: Vec<&[u8]> = keys.iter().map(|k| k.as_slice()).collect();
    let mut found = HashMap::new();
    for (batch, value) in batches
        .iter()
        .zip(store.multi_get(Column::ConfirmedBatches, &refs)?)
    {
        if let Some(bytes) = value {
            let record: BatchTotals = decode_record("confirmed_batches", &bytes)?;
            found.insert(*batch, record.totals.into_vec());
        }
    }
    Ok(found)
}
