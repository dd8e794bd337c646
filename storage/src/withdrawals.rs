//! Withdrawals: debit, journal, the record of the blind signatures and their count in the books
//! ([`crate::issued`]), in one atomic write, keyed by the wallet's request id so that a replay
//! gets the same signatures and is neither debited nor counted again.

use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::crypto::blind_rsa::BlindSignature;
use semper_protocol::ids::{AccountId, Digest, RequestId};
use semper_protocol::limits::WITHDRAW_COINS_MAX;
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::issued::{self, Issued};
use crate::ledger::{JournalReason, LedgerError, decode_record, journal, read_account};
use crate::schema::{Column, withdrawal_key};

/// A withdrawal as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WithdrawalRecord {
    /// Digest of the signed request's body: a retry must match it.
    pub request_digest: Digest,
    /// The amount debited.
    pub total: Amount,
    /// The blind signatures returned, in order.
    pub blind_signatures: BoundedVec<BlindSignature, WITHDRAW_COINS_MAX>,
    /// When it was recorded.
    pub at: Timestamp,
}

codec_struct!(WithdrawalRecord {
    request_digest,
    total,
    blind_signatures,
    at
});

/// What recording a withdrawal did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WithdrawOutcome {
    /// Debited and recorded now.
    Recorded(WithdrawalRecord),
    /// The same request was recorded before: its stored answer, and nothing debited.
    Replayed(WithdrawalRecord),
}

impl WithdrawOutcome {
    /// The record, whether new or replayed.
    pub fn record(&self) -> &WithdrawalRecord {
        match self {
            Self::Recorded(record) | Self::Replayed(record) => record,
        }
    }
}

/// Debits the account, journals it, records the withdrawal with its blind signatures, and counts
/// them in the books.
#[derive(Clone, Debug)]
pub struct RecordWithdrawal {
    /// The account debited.
    pub account: AccountId,
    /// The wallet's idempotency key.
    pub request_id: RequestId,
    /// What to store and debit.
    pub record: WithdrawalRecord,
    /// The signed coins per denomination, one for each of the record's signatures.
    pub issued: Issued,
}

impl Transaction for RecordWithdrawal {
    type Output = Result<WithdrawOutcome, LedgerError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let refuse = |error| Ok((Err(error), WriteSet::new()));
        let key = withdrawal_key(&self.account, &self.request_id);
        if let Some(bytes) = reader.get(Column::Withdrawals, &key)? {
            let earlier: WithdrawalRecord = decode_record("withdrawals", &bytes)?;
            return if earlier.request_digest == self.record.request_digest {
                Ok((Ok(WithdrawOutcome::Replayed(earlier)), WriteSet::new()))
            } else {
                refuse(LedgerError::RequestIdReused)
            };
        }
        let Some(account) = read_account(reader, &self.account)? else {
            return refuse(LedgerError::UnknownAccount);
        };
        let balance = match account.balance.checked_sub(self.record.total) {
            Ok(balance) => balance,
            Err(semper_protocol::amount::AmountError::Negative) => {
                return refuse(LedgerError::InsufficientFunds {
                    balance: account.balance,
                    needed: self.record.total,
                });
            }
            Err(error) => return refuse(error.into()),
        };
        let mut writes = WriteSet::new();
        let signatures = self.record.blind_signatures.len();
        issued::stage(reader, &mut writes, &self.issued, signatures)?;
        writes.put(Column::Withdrawals, key.to_vec(), self.record.to_bytes());
        let reason = JournalReason::Withdrawal {
            request_id: self.request_id,
            amount: self.record.total,
        };
        journal(
            &mut writes,
            &self.account,
            &account,
            reason,
            balance,
            self.record.at,
        );
        Ok((Ok(WithdrawOutcome::Recorded(self.record)), writes))
    }
}

/// A stored withdrawal, read directly from the store.
pub fn withdrawal(
    store: &crate::Store,
    account: &AccountId,
    request_id: &RequestId,
) -> Result<Option<WithdrawalRecord>, StorageError> {
    store
        .get(Column::Withdrawals, &withdrawal_key(account, request_id))?
        .map(|bytes| decode_record("withdrawals", &bytes))
        .transpose()
}
