//! Merchants: the key that signs their deposits, a balance per currency that grows by credits
//! and shrinks only by refunds, and a journal entry for every credit and debit, written with it.

use semper_protocol::amount::{Amount, AmountError, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::{Digest, MerchantId, RequestId};
use semper_protocol::time::Timestamp;

use super::CURRENCIES_MAX;
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, merchant_journal_key};
use crate::store::Store;

/// Why a merchant record was not changed. Nothing was written. Each has a stable
/// [`MerchantError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MerchantError {
    /// No such merchant.
    #[error("unknown merchant")]
    UnknownMerchant,
    /// The merchant id is taken, by another key.
    #[error("merchant id already in use")]
    MerchantExists,
    /// A deposit id was used before, with another request.
    #[error("deposit id already used for another deposit")]
    DepositIdReused,
    /// A credit overflows, or mixes currencies.
    #[error("{0}")]
    Amount(#[from] AmountError),
    /// The merchant holds balances in as many currencies as a record can list.
    #[error("too many currencies for one merchant")]
    TooManyCurrencies,
    /// A deposit lists more coins than one request may.
    #[error("too many coins in one deposit")]
    TooManyCoins,
}

impl MerchantError {
    /// The stable error code that the HTTP layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownMerchant => "merchant.unknown",
            Self::MerchantExists => "merchant.exists",
            Self::DepositIdReused => "deposit.id_reused",
            Self::Amount(e) => e.code(),
            Self::TooManyCurrencies => "merchant.too_many_currencies",
            Self::TooManyCoins => "deposit.too_many_coins",
        }
    }
}

/// A merchant's stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantRecord {
    /// The key that signs the merchant's deposit requests.
    pub public_key: VerifyingKey,
    /// One balance per currency credited so far, sorted by currency.
    pub balances: BoundedVec<Amount, CURRENCIES_MAX>,
    /// How many journal entries the merchant has.
    pub journal_len: u64,
}

codec_struct!(MerchantRecord {
    public_key,
    balances,
    journal_len
});

impl MerchantRecord {
    /// The balance in `currency`: zero if never credited in it.
    pub fn balance(&self, currency: Currency) -> Amount {
        self.balances
            .iter()
            .find(|b| b.currency() == currency)
            .copied()
            .unwrap_or(Amount::zero(currency))
    }

    /// The record with `amount` added to its currency's balance.
    fn credited(&self, amount: Amount) -> Result<Self, MerchantError> {
        let mut balances = self.balances.to_vec();
        match balances
            .iter_mut()
            .find(|b| b.currency() == amount.currency())
        {
            Some(balance) => *balance = balance.checked_add(amount)?,
            None => {
                balances.push(amount);
                balances.sort_by_key(|b| b.currency());
            }
        }
        Ok(Self {
            public_key: self.public_key,
            balances: BoundedVec::new(balances).map_err(|_| MerchantError::TooManyCurrencies)?,
            journal_len: self.journal_len,
        })
    }

    /// The record with `amount` taken off its currency's balance; an error (overflow) when the
    /// balance is smaller, which a refund bounded by its coin's credit never meets.
    fn debited(&self, amount: Amount) -> Result<Self, MerchantError> {
        let balance = self.balance(amount.currency()).checked_sub(amount)?;
        let mut balances = self.balances.to_vec();
        if let Some(slot) = balances
            .iter_mut()
            .find(|b| b.currency() == amount.currency())
        {
            *slot = balance;
        }
        Ok(Self {
            public_key: self.public_key,
            balances: BoundedVec::new(balances).map_err(|_| MerchantError::TooManyCurrencies)?,
            journal_len: self.journal_len,
        })
    }
}

/// One credit to a merchant (which deposit, how much) or one refund's debit, and the balance of
/// its currency after it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MerchantJournalEntry {
    /// Position in the merchant's journal, from 0.
    pub sequence: u64,
    /// The deposit credited, or the refund id of a debit.
    pub deposit_id: RequestId,
    /// The amount credited.
    pub amount: Amount,
    /// The balance of that currency after it.
    pub balance_after: Amount,
    /// When.
    pub at: Timestamp,
    /// For a refund's debit, the refund's digest: `amount` was taken off the balance.
    pub refund: Option<Digest>,
}

codec_struct!(MerchantJournalEntry {
    sequence,
    deposit_id,
    amount,
    balance_after,
    at,
    refund
});

/// Reads a merchant through a group reader.
pub(crate) fn read_merchant(
    reader: &GroupReader<'_>,
    merchant: &MerchantId,
) -> Result<Option<MerchantRecord>, StorageError> {
    reader
        .get(Column::Merchants, merchant.as_bytes())?
        .map(|bytes| decode_record("merchants", &bytes))
        .transpose()
}

/// Credits `amount` for `deposit_id`: writes the record and its journal entry, and returns the
/// updated record.
pub(crate) fn credit(
    writes: &mut WriteSet,
    merchant: &MerchantId,
    record: &MerchantRecord,
    deposit_id: RequestId,
    amount: Amount,
    at: Timestamp,
) -> Result<MerchantRecord, MerchantError> {
    let updated = record.credited(amount)?;
    Ok(journal(
        writes, merchant, updated, deposit_id, amount, at, None,
    ))
}

/// Debits `amount` for the refund `refund` (id `refund_id`): writes the record and its journal
/// entry, and returns the updated record.
pub(crate) fn debit(
    writes: &mut WriteSet,
    merchant: &MerchantId,
    record: &MerchantRecord,
    (refund_id, refund): (RequestId, Digest),
    amount: Amount,
    at: Timestamp,
) -> Result<MerchantRecord, MerchantError> {
    let updated = record.debited(amount)?;
    Ok(journal(
        writes,
        merchant,
        updated,
        refund_id,
        amount,
        at,
        Some(refund),
    ))
}

/// Writes `updated` with one more journal entry.
fn journal(
    writes: &mut WriteSet,
    merchant: &MerchantId,
    mut updated: MerchantRecord,
    deposit_id: RequestId,
    amount: Amount,
    at: Timestamp,
    refund: Option<Digest>,
) -> MerchantRecord {
    let entry = MerchantJournalEntry {
        sequence: updated.journal_len,
        deposit_id,
        amount,
        balance_after: updated.balance(amount.currency()),
        at,
        refund,
    };
    updated.journal_len += 1;
    writes.put(
        Column::MerchantJournal,
        merchant_journal_key(merchant, entry.sequence).to_vec(),
        entry.to_bytes(),
    );
    writes.put(
        Column::Merchants,
        merchant.as_bytes().to_vec(),
        updated.to_bytes(),
    );
    updated
}

/// Registers a merchant with its key and no balance. Registering it again with the same key is a
/// replay and changes nothing.
#[derive(Clone, Debug)]
pub struct RegisterMerchant {
    /// The merchant's id.
    pub merchant: MerchantId,
    /// The key that will sign its deposits.
    pub public_key: VerifyingKey,
}

impl Transaction for RegisterMerchant {
    type Output = Result<MerchantRecord, MerchantError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        if let Some(existing) = read_merchant(reader, &self.merchant)? {
            let answer = if existing.public_key == self.public_key {
                Ok(existing)
            } else {
                Err(MerchantError::MerchantExists)
            };
            return Ok((answer, writes));
        }
        let record = MerchantRecord {
            public_key: self.public_key,
            balances: BoundedVec::empty(),
            journal_len: 0,
        };
        writes.put(
            Column::Merchants,
            self.merchant.as_bytes().to_vec(),
            record.to_bytes(),
        );
        Ok((Ok(record), writes))
    }
}

/// A merchant's stored state, read directly from the store.
pub fn merchant(
    store: &Store,
    merchant: &MerchantId,
) -> Result<Option<MerchantRecord>, StorageError> {
    store
        .get(Column::Merchants, merchant.as_bytes())?
        .map(|bytes| decode_record("merchants", &bytes))
        .transpose()
}

/// Up to `limit` journal entries of a merchant, oldest first.
pub fn merchant_journal(
    store: &Store,
    merchant: &MerchantId,
    limit: usize,
) -> Result<Vec<MerchantJournalEntry>, StorageError> {
    store
        .scan_prefix(Column::MerchantJournal, merchant.as_bytes(), limit)?
        .into_iter()
        .map(|(_, value)| decode_record("merchant_journal", &value))
        .collect()
}
