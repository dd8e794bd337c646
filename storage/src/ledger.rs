//! The account ledger: balances that never go negative, each change journaled in the same write.

use semper_protocol::amount::{Amount, AmountError, Currency};
use semper_protocol::codec::{Decode, DecodeError, Encode, Reader, Writer};
use semper_protocol::codec_struct;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::{AccountId, CoinId, RequestId};
use semper_protocol::time::Timestamp;

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::schema::{Column, journal_key};

/// Longest operator credit reference, in bytes.
pub const CREDIT_REFERENCE_MAX_BYTES: usize = 64;

/// Why the ledger refused a change. Nothing was written. Each has a stable [`LedgerError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    /// No such account.
    #[error("unknown account")]
    UnknownAccount,
    /// The account id is taken, by another key or currency.
    #[error("account id already in use")]
    AccountExists,
    /// The balance cannot pay.
    #[error("insufficient funds: balance {balance}, needed {needed}")]
    InsufficientFunds {
        /// The balance.
        balance: Amount,
        /// What was asked.
        needed: Amount,
    },
    /// Wrong currency or overflow.
    #[error("{0}")]
    Amount(#[from] AmountError),
    /// A credit reference was used before, for another account or amount.
    #[error("credit reference already used for another credit")]
    ReferenceReused,
    /// A credit reference was empty or too long.
    #[error("credit reference must be 1 to {CREDIT_REFERENCE_MAX_BYTES} bytes")]
    BadReference,
    /// A withdrawal request id was used before, with another request.
    #[error("request id already used for another withdrawal")]
    RequestIdReused,
}

impl LedgerError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownAccount => "account.unknown",
            Self::AccountExists => "account.exists",
            Self::InsufficientFunds { .. } => "account.insufficient_funds",
            Self::Amount(e) => e.code(),
            Self::ReferenceReused => "credit.reference_reused",
            Self::BadReference => "credit.bad_reference",
            Self::RequestIdReused => "withdraw.request_id_reused",
        }
    }
}

/// An account's stored state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountRecord {
    /// The key that signs the account's withdrawals.
    pub public_key: VerifyingKey,
    /// The balance, in the account's currency.
    pub balance: Amount,
    /// How many journal entries the account has.
    pub journal_len: u64,
}

codec_struct!(AccountRecord {
    public_key,
    balance,
    journal_len
});

/// Why a balance changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JournalReason {
    /// The account was opened, with a zero balance.
    Opened,
    /// An operator credit for an incoming transfer.
    Credit {
        /// The transfer's reference.
        reference: String,
        /// The amount credited.
        amount: Amount,
    },
    /// A withdrawal of coins.
    Withdrawal {
        /// The wallet's request id.
        request_id: RequestId,
        /// The amount debited.
        amount: Amount,
    },
    /// A coin of a revoked denomination given back (recouped), its value credited.
    Recoup {
        /// The coin.
        coin: CoinId,
        /// The amount credited.
        amount: Amount,
    },
}

/// One balance change: who (the key's account), what and why, when, and the balance after.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalEntry {
    /// Position in the account's journal, from 0.
    pub sequence: u64,
    /// What happened.
    pub reason: JournalReason,
    /// The balance after it.
    pub balance_after: Amount,
    /// When.
    pub at: Timestamp,
}

impl Encode for JournalReason {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            Self::Opened => writer.u8(0),
            Self::Credit { reference, amount } => {
                writer.u8(1);
                writer.bytes(reference.as_bytes());
                amount.encode_to(writer);
            }
            Self::Withdrawal { request_id, amount } => {
                writer.u8(2);
                request_id.encode_to(writer);
                amount.encode_to(writer);
            }
            Self::Recoup { coin, amount } => {
                writer.u8(3);
                coin.encode_to(writer);
                amount.encode_to(writer);
            }
        }
    }
}

impl Decode for JournalReason {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("journal reason")? {
            0 => Ok(Self::Opened),
            1 => {
                let reference = reader.bytes(CREDIT_REFERENCE_MAX_BYTES, "credit reference")?;
                let reference = String::from_utf8(reference.to_vec())
                    .map_err(|e| DecodeError::invalid("credit reference", e))?;
                Ok(Self::Credit {
                    reference,
                    amount: Amount::decode_from(reader)?,
                })
            }
            2 => Ok(Self::Withdrawal {
                request_id: RequestId::decode_from(reader)?,
                amount: Amount::decode_from(reader)?,
            }),
            3 => Ok(Self::Recoup {
                coin: CoinId::decode_from(reader)?,
                amount: Amount::decode_from(reader)?,
            }),
            other => Err(DecodeError::invalid(
                "journal reason",
                format!("tag {other}"),
            )),
        }
    }
}

codec_struct!(JournalEntry {
    sequence,
    reason,
    balance_after,
    at
});

/// Decodes a stored record, reporting failure as corruption of `column`.
pub(crate) fn decode_record<T: Decode>(
    column: &'static str,
    bytes: &[u8],
) -> Result<T, StorageError> {
    T::from_bytes(bytes).map_err(|e| StorageError::Corrupt {
        column,
        reason: e.to_string(),
    })
}

/// Reads an account through a group reader.
pub(crate) fn read_account(
    reader: &GroupReader<'_>,
    account: &AccountId,
) -> Result<Option<AccountRecord>, StorageError> {
    reader
        .get(Column::Accounts, account.as_bytes())?
        .map(|bytes| decode_record("accounts", &bytes))
        .transpose()
}

/// Writes the account with one more journal entry, for `reason`, at `balance_after`.
pub(crate) fn journal(
    writes: &mut WriteSet,
    account: &AccountId,
    record: &AccountRecord,
    reason: JournalReason,
    balance_after: Amount,
    at: Timestamp,
) -> AccountRecord {
    let entry = JournalEntry {
        sequence: record.journal_len,
        reason,
        balance_after,
        at,
    };
    let updated = AccountRecord {
        public_key: record.public_key,
        balance: balance_after,
        journal_len: record.journal_len + 1,
    };
    writes.put(
        Column::Journal,
        journal_key(account, entry.sequence).to_vec(),
        entry.to_bytes(),
    );
    writes.put(
        Column::Accounts,
        account.as_bytes().to_vec(),
        updated.to_bytes(),
    );
    updated
}

/// Opens an account with a zero balance. Opening it again with the same key and currency is a
/// replay and changes nothing.
#[derive(Clone, Debug)]
pub struct OpenAccount {
    /// The new account's id.
    pub account: AccountId,
    /// The key that will sign its withdrawals.
    pub public_key: VerifyingKey,
    /// Its currency.
    pub currency: Currency,
    /// When.
    pub at: Timestamp,
}

impl Transaction for OpenAccount {
    type Output = Result<AccountRecord, LedgerError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        if let Some(existing) = read_account(reader, &self.account)? {
            let same = existing.public_key == self.public_key
                && existing.balance.currency() == self.currency;
            let answer = if same {
                Ok(existing)
            } else {
                Err(LedgerError::AccountExists)
            };
            return Ok((answer, writes));
        }
        let zero = Amount::zero(self.currency);
        let fresh = AccountRecord {
            public_key: self.public_key,
            balance: zero,
            journal_len: 0,
        };
        let opened = journal(
            &mut writes,
            &self.account,
            &fresh,
            JournalReason::Opened,
            zero,
            self.at,
        );
        Ok((Ok(opened), writes))
    }
}

/// Credits an account for an incoming transfer. A reference seen twice credits once.
#[derive(Clone, Debug)]
pub struct Credit {
    /// The account credited.
    pub account: AccountId,
    /// The transfer's reference, unique per issuer.
    pub reference: String,
    /// The amount.
    pub amount: Amount,
    /// When.
    pub at: Timestamp,
}

impl Transaction for Credit {
    type Output = Result<AccountRecord, LedgerError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let refuse = |error| Ok((Err(error), WriteSet::new()));
        let reference_len = self.reference.len();
        if reference_len == 0 || reference_len > CREDIT_REFERENCE_MAX_BYTES {
            return refuse(LedgerError::BadReference);
        }
        let Some(record) = read_account(reader, &self.account)? else {
            return refuse(LedgerError::UnknownAccount);
        };
        // The reference record holds the account and amount, so a replay can be told from misuse.
        let mut claim = Writer::new();
        self.account.encode_to(&mut claim);
        self.amount.encode_to(&mut claim);
        let claim = claim.into_bytes();
        if let Some(earlier) = reader.get(Column::CreditReferences, self.reference.as_bytes())? {
            return if earlier == claim {
                Ok((Ok(record), writes))
            } else {
                refuse(LedgerError::ReferenceReused)
            };
        }
        let balance = match record.balance.checked_add(self.amount) {
            Ok(balance) => balance,
            Err(error) => return refuse(error.into()),
        };
        writes.put(
            Column::CreditReferences,
            self.reference.as_bytes().to_vec(),
            claim,
        );
        let reason = JournalReason::Credit {
            reference: self.reference,
            amount: self.amount,
        };
        let updated = journal(
            &mut writes,
            &self.account,
            &record,
            reason,
            balance,
            self.at,
        );
        Ok((Ok(updated), writes))
    }
}

/// An account's stored state, read directly from the store.
pub fn account(
    store: &crate::Store,
    account: &AccountId,
) -> Result<Option<AccountRecord>, StorageError> {
    store
        .get(Column::Accounts, account.as_bytes())?
        .map(|bytes| decode_record("accounts", &bytes))
        .transpose()
}

/// Up to `limit` journal entries of an account, oldest first.
pub fn journal_entries(
    store: &crate::Store,
    account: &AccountId,
    limit: usize,
) -> Result<Vec<JournalEntry>, StorageError> {
    store
        .scan_prefix(Column::Journal, account.as_bytes(), limit)?
        .into_iter()
        .map(|(_, value)| decode_record("journal", &value))
        .collect()
}
