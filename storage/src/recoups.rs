//! Recoups: a coin of a revoked denomination given back, in one atomic write that marks the coin
//! spent (its signed recoup permission the proof against any later spend), credits its value to
//! the account that withdrew it with a journal entry, and records the recoup under the withdrawal
//! slot it came from, so that each withdrawn coin is recouped at most once and a replay gets the
//! same answer. With a sharded spent set the coin's own shard group marks it spent first
//! ([`SpentShards::check_coin`](crate::spent_shards::SpentShards::check_coin)), and this write
//! only credits and records (docs/protocol.md §7.26 says why the two steps are safe).

use semper_protocol::amount::Amount;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::{AccountId, CoinId, DenominationId, Digest, RequestId};
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::{JournalReason, LedgerError, decode_record, journal, read_account};
use crate::schema::{Column, recoup_key};
use crate::spent::{SpendEntry, SpendOutcome, check_and_insert};

/// A recoup as stored, under its withdrawal slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecoupRecord {
    /// Digest of the recoup request's body: a retry must match it.
    pub request_digest: Digest,
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin recouped.
    pub coin: CoinId,
    /// The value credited.
    pub credited: Amount,
    /// When it was recorded.
    pub at: Timestamp,
}

codec_struct!(RecoupRecord {
    request_digest,
    denomination,
    coin,
    credited,
    at
});

/// What recording a recoup did. Every outcome but `Recorded` wrote nothing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecoupOutcome {
    /// Credited, spent and recorded now.
    Recorded(RecoupRecord),
    /// The same request was recorded before: its record, and nothing credited again.
    Replayed(RecoupRecord),
    /// This withdrawal slot was recouped before by another request (another coin or secret).
    SlotRecouped,
    /// The coin was spent before (deposited, swapped, or recouped from another slot): its earlier
    /// signed permission, canonically encoded.
    CoinSpent {
        /// The earlier signed permission.
        earlier: Vec<u8>,
    },
    /// The ledger refused the credit (the account is gone, or the balance would overflow).
    Ledger(LedgerError),
}

/// Credits a recouped coin's value to its account, spends the coin and records the recoup, all
/// or nothing.
#[derive(Clone, Debug)]
pub struct RecordRecoup {
    /// The account credited: the withdrawal's.
    pub account: AccountId,
    /// The withdrawal's request id.
    pub request_id: RequestId,
    /// The coin's position in the withdrawal.
    pub index: u32,
    /// What to store and credit.
    pub record: RecoupRecord,
    /// The coin, spent by its signed recoup permission in this same write; `None` when the
    /// coin's own shard group has spent it already (a sharded spent set), for this very recoup.
    pub coin: Option<SpendEntry>,
}

impl Transaction for RecordRecoup {
    type Output = RecoupOutcome;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let nothing = |outcome| Ok((outcome, WriteSet::new()));
        let key = recoup_key(&self.account, &self.request_id, self.index);
        if let Some(earlier) = read(reader, &key)? {
            return nothing(if earlier.request_digest == self.record.request_digest {
                RecoupOutcome::Replayed(earlier)
            } else {
                RecoupOutcome::SlotRecouped
            });
        }
        let Some(account) = read_account(reader, &self.account)? else {
            return nothing(RecoupOutcome::Ledger(LedgerError::UnknownAccount));
        };
        let balance = match account.balance.checked_add(self.record.credited) {
            Ok(balance) => balance,
            Err(error) => return nothing(RecoupOutcome::Ledger(error.into())),
        };
        let mut writes = WriteSet::new();
        if let Some(coin) = &self.coin
            && let Some(refused) = spend_here(coin, reader, &mut writes)?
        {
            return nothing(refused);
        }
        let reason = JournalReason::Recoup {
            coin: self.record.coin,
            amount: self.record.credited,
        };
        journal(
            &mut writes,
            &self.account,
            &account,
            reason,
            balance,
            self.record.at,
        );
        writes.put(Column::Recoups, key.to_vec(), self.record.to_bytes());
        Ok((RecoupOutcome::Recorded(self.record), writes))
    }
}

/// Marks the coin spent in this write: `None` when it is new, else the refusal (nothing to write).
fn spend_here(
    coin: &SpendEntry,
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
) -> Result<Option<RecoupOutcome>, StorageError> {
    let outcomes = check_and_insert(std::slice::from_ref(coin), reader, writes)?;
    match outcomes.into_iter().next() {
        Some(SpendOutcome::New) => Ok(None),
        // The same permission with no record of this slot: the coin was recouped from another
        // slot, which this one may not pay for again.
        Some(SpendOutcome::Replay) => Ok(Some(RecoupOutcome::CoinSpent {
            earlier: coin.permission.clone(),
        })),
        Some(SpendOutcome::Conflict { earlier }) => Ok(Some(RecoupOutcome::CoinSpent { earlier })),
        None => Err(StorageError::Corrupt {
            column: "spent_coins",
            reason: "no outcome for the recouped coin".to_owned(),
        }),
    }
}

fn read(reader: &GroupReader<'_>, key: &[u8]) -> Result<Option<RecoupRecord>, StorageError> {
    reader
        .get(Column::Recoups, key)?
        .map(|bytes| decode_record("recoups", &bytes))
        .transpose()
}

/// A stored recoup, read directly from the store.
pub fn recoup(
    store: &crate::Store,
    account: &AccountId,
    request_id: &RequestId,
    index: u32,
) -> Result<Option<RecoupRecord>, StorageError> {
    store
        .get(Column::Recoups, &recoup_key(account, request_id, index))?
        .map(|bytes| decode_record("recoups", &bytes))
        .transpose()
}
