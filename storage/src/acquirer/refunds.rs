//! Refunds at the acquirer: a merchant's refund of a coin it deposited, debited in one atomic
//! write with its record, the coin's refunded total and its place in the queue of notices for
//! the coin's issuer; then the issuer's answer, recorded once.
//!
//! A refund id answers the same way for ever; a coin's refunds never add up to more than it
//! paid, whatever the concurrency or the retries.

use semper_protocol::amount::Amount;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::{BankId, Digest, MerchantId, RequestId};
use semper_protocol::messages::refund::{
    RefundAnswer, RefundResponse, SignedRefundConfirmation, SignedRefundNotice,
};
use semper_protocol::refund::{CreditedCoin, RefundRefusal, check_refund};
use semper_protocol::time::Timestamp;

use super::deposits::CoinCredit;
use super::lanes::REFUNDS_PENDING;
use super::merchants::{MerchantError, debit, read_merchant};
use super::outbox::enqueue_refund;
use super::sequence_of;
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, refund_key, sequence_key, spent_key};
use crate::store::Store;

/// Notices waiting for their issuer that one read returns.
pub const PENDING_READ_MAX: usize = 256;

/// A merchant's refund as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundRecord {
    /// Digest of the signed request's body: the refund's identity; a retry must match it.
    pub request_digest: Digest,
    /// The coin's issuer, told by `notice`.
    pub issuer: BankId,
    /// The notice for the issuer, signed once: every retry sends exactly it.
    pub notice: SignedRefundNotice,
    /// The answer to the merchant, returned again to every retry.
    pub response: RefundResponse,
    /// The issuer's answer, once had.
    pub answer: Option<RefundAnswer>,
}

codec_struct!(RefundRecord {
    request_digest,
    issuer,
    notice,
    response,
    answer
});

/// Why a refund was not recorded: nothing was written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefundError {
    /// The refund was refused (its checks, or its id reused).
    #[error(transparent)]
    Refused(#[from] RefundRefusal),
    /// The merchant is unknown, or its balance could not take the debit.
    #[error(transparent)]
    Merchant(#[from] MerchantError),
}

impl RefundError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Refused(refusal) => refusal.code(),
            Self::Merchant(error) => error.code(),
        }
    }
}

/// Records a merchant's refund, whose signature the caller checked: the coin's credit, its
/// deposit's deadline (against `at`) and its refunded total are checked and the merchant
/// debited, with the record and the notice queued for `issuer`, in one atomic write. The same
/// request again (same id, same body) answers the stored response and writes nothing.
#[derive(Clone, Debug)]
pub struct RecordRefund {
    /// The merchant.
    pub merchant: MerchantId,
    /// The merchant's refund id.
    pub refund_id: RequestId,
    /// Digest of the signed request's body.
    pub request_digest: Digest,
    /// The request's body.
    pub request: semper_protocol::messages::refund::RefundRequest,
    /// The coin's issuer.
    pub issuer: BankId,
    /// The notice for the issuer, signed by the acquirer's bank key from the coin's credit.
    pub notice: SignedRefundNotice,
    /// The coin's refund fee (its denomination's `fees.refund`): the refund must be above it.
    pub fee: Amount,
    /// The acquirer's clock.
    pub at: Timestamp,
}

/// What recording a refund did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RefundOutcome {
    /// Debited and recorded now.
    Recorded(RefundResponse),
    /// The same refund was recorded before: its answer, nothing debited now.
    Replayed(RefundResponse),
}

impl Transaction for RecordRefund {
    type Output = Result<RefundOutcome, RefundError>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let writes = WriteSet::new();
        let key = refund_key(&self.merchant, &self.refund_id);
        if let Some(earlier) = read_refund_at(reader, &key)? {
            let answer = if earlier.request_digest == self.request_digest {
                Ok(RefundOutcome::Replayed(earlier.response))
            } else {
                Err(RefundRefusal::IdReused.into())
            };
            return Ok((answer, writes));
        }
        Ok(match self.record(reader, writes, key)? {
            Ok((response, writes)) => (Ok(RefundOutcome::Recorded(response)), writes),
            Err(error) => (Err(error), WriteSet::new()),
        })
    }
}

impl RecordRefund {
    /// Checks the refund and stages its writes: `Err` leaves nothing staged that counts.
    fn record(
        self,
        reader: &GroupReader<'_>,
        mut writes: WriteSet,
        key: [u8; 32],
    ) -> Result<Result<(RefundResponse, WriteSet), RefundError>, StorageError> {
        let Some(merchant) = read_merchant(reader, &self.merchant)? else {
            return Ok(Err(MerchantError::UnknownMerchant.into()));
        };
        let coin_key = spent_key(&self.request.denomination, self.request.coin.as_bytes());
        let credit: Option<CoinCredit> = reader
            .get(Column::AcquiredCoins, &coin_key)?
            .map(|bytes| decode_record("acquired_coins", &bytes))
            .transpose()?;
        let refunded = read_coin_refunded(reader, &coin_key)?;
        let checked = check_refund(
            &self.request,
            credit.as_ref().map(|credit| CreditedCoin {
                permission: credit.permission.body(),
                refund_deadline: credit.refund_deadline,
                refunded,
                fee: self.fee,
            }),
            self.at,
        );
        let coin_refunded = match checked {
            Ok(total) => total,
            Err(refusal) => return Ok(Err(refusal.into())),
        };
        // The notice was built from the same credit: a credit is written once and never
        // changed, so only a caller's mistake could make them differ.
        if credit.is_none_or(|c| c.permission_digest != self.notice.body().permission) {
            return Ok(Err(RefundRefusal::WrongPermission.into()));
        }
        let amount = self.request.amount;
        if let Err(error) = debit(
            &mut writes,
            &self.merchant,
            &merchant,
            (self.refund_id, self.request_digest),
            amount,
            self.at,
        ) {
            return Ok(Err(error.into()));
        }
        writes.put(
            Column::CoinRefunds,
            coin_key.to_vec(),
            coin_refunded.to_bytes(),
        );
        let response = RefundResponse {
            merchant: self.merchant,
            refund_id: self.refund_id,
            refund: self.request_digest,
            amount,
            coin_refunded,
        };
        let record = RefundRecord {
            request_digest: self.request_digest,
            issuer: self.issuer,
            notice: self.notice,
            response: response.clone(),
            answer: None,
        };
        writes.put(Column::Refunds, key.to_vec(), record.to_bytes());
        let sequence = REFUNDS_PENDING.take(reader, &mut writes, 1)?;
        writes.put(
            Column::RefundsPending,
            sequence_key(sequence).to_vec(),
            key.to_vec(),
        );
        Ok(Ok((response, writes)))
    }
}

/// Records the issuer's answer to a pending refund's notice, whose confirmation (if any) the
/// caller checked against the notice and the issuer's key: the refund leaves the queue, and a
/// confirmation goes into the outbox for settlement. A refund answered before is left as it
/// was (`false`).
#[derive(Clone, Debug)]
pub struct RecordRefundAnswer {
    /// The pending entry's sequence number.
    pub sequence: u64,
    /// The refund: its merchant and id.
    pub refund: (MerchantId, RequestId),
    /// The issuer's answer.
    pub answer: RefundAnswer,
}

impl Transaction for RecordRefundAnswer {
    type Output = bool;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let key = refund_key(&self.refund.0, &self.refund.1);
        let Some(mut record) = read_refund_at(reader, &key)? else {
            return Ok((false, writes));
        };
        if record.answer.is_some() {
            return Ok((false, writes));
        }
        writes.delete(Column::RefundsPending, sequence_key(self.sequence).to_vec());
        if let RefundAnswer::Confirmed { confirmation } = &self.answer {
            enqueue_refund(reader, &mut writes, (**confirmation).clone())?;
        }
        record.answer = Some(self.answer);
        writes.put(Column::Refunds, key.to_vec(), record.to_bytes());
        Ok((true, writes))
    }
}

/// A refund waiting for its issuer's answer.
#[derive(Clone, Debug)]
pub struct PendingRefund {
    /// Its place in the queue.
    pub sequence: u64,
    /// The merchant and refund id.
    pub refund: (MerchantId, RequestId),
    /// The record, with the notice to send.
    pub record: RefundRecord,
}

/// The oldest refunds waiting for their issuer's answer, at most `limit` (and
/// [`PENDING_READ_MAX`]).
pub fn pending(store: &Store, limit: usize) -> Result<Vec<PendingRefund>, StorageError> {
    let limit = limit.clamp(1, PENDING_READ_MAX);
    let mut out = Vec::new();
    for (key, value) in store.scan_prefix(Column::RefundsPending, &[], limit)? {
        let sequence = sequence_of(&key, "refunds_pending")?;
        let ids = <[u8; 32]>::try_from(value.as_slice()).map_err(|_| StorageError::Corrupt {
            column: "refunds_pending",
            reason: "value is not a merchant and refund id".into(),
        })?;
        let mut merchant = [0u8; 16];
        let mut refund_id = [0u8; 16];
        merchant.copy_from_slice(&ids[..16]);
        refund_id.copy_from_slice(&ids[16..]);
        let refund = (MerchantId(merchant), RequestId(refund_id));
        let record = refund_record(store, &refund.0, &refund.1)?.ok_or(StorageError::Corrupt {
            column: "refunds_pending",
            reason: "a pending refund has no record".into(),
        })?;
        out.push(PendingRefund {
            sequence,
            refund,
            record,
        });
    }
    Ok(out)
}

/// A merchant's refund, read directly from the store.
pub fn refund_record(
    store: &Store,
    merchant: &MerchantId,
    refund_id: &RequestId,
) -> Result<Option<RefundRecord>, StorageError> {
    store
        .get(Column::Refunds, &refund_key(merchant, refund_id))?
        .map(|bytes| decode_record("refunds", &bytes))
        .transpose()
}

/// What was refunded on a coin this acquirer credited (key as the coin index's), if anything.
pub fn coin_refunded(store: &Store, coin: &[u8; 64]) -> Result<Option<Amount>, StorageError> {
    store
        .get(Column::CoinRefunds, coin)?
        .map(|bytes| decode_record("coin_refunds", &bytes))
        .transpose()
}

fn read_coin_refunded(
    reader: &GroupReader<'_>,
    coin: &[u8; 64],
) -> Result<Option<Amount>, StorageError> {
    reader
        .get(Column::CoinRefunds, coin)?
        .map(|bytes| decode_record("coin_refunds", &bytes))
        .transpose()
}

fn read_refund_at(
    reader: &GroupReader<'_>,
    key: &[u8; 32],
) -> Result<Option<RefundRecord>, StorageError> {
    reader
        .get(Column::Refunds, key)?
        .map(|bytes| decode_record("refunds", &bytes))
        .transpose()
}

/// The confirmation recorded for a refund, if its issuer confirmed it.
pub fn confirmation_of(record: &RefundRecord) -> Option<&SignedRefundConfirmation> {
    match &record.answer {
        Some(RefundAnswer::Confirmed { confirmation }) => Some(confirmation),
        _ => None,
    }
}
