//! The issuer's side of refunds: the refunds it recorded, each with its signed confirmation, and
//! per coin the refund allowance, the value the coin may still be swapped for although it is
//! spent. Both are written in the store that holds the coin's spent-set record, in one atomic
//! write with the check against it.
//!
//! The swap reads the allowance with [`refund_allowance`] and consumes it with
//! [`stage_allowance_use`] in its own atomic write.

use std::collections::HashMap;

use semper_protocol::amount::Amount;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::codec_struct;
use semper_protocol::ids::{CoinId, DenominationId, Digest};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::refund::{SignedRefundConfirmation, SignedRefundNotice};
use semper_protocol::refund::{RefundRefusal, SpentCoin, check_notice};

use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, spent_key};
use crate::spent::decode_spent;
use crate::store::Store;

/// What was refunded on a spent coin, and how much of that is used: kept as refund fees, or
/// swapped since. The coin may be swapped for `refunded − swapped`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefundAllowance {
    /// Every refund of the coin, summed: never more than what the coin paid.
    pub refunded: Amount,
    /// What is used of it: the refund fees the issuer kept from each refund (the customer pays
    /// them out of what it gets back), and what swaps of the coin used. Never more than
    /// `refunded`.
    pub swapped: Amount,
}

codec_struct!(RefundAllowance { refunded, swapped });

impl RefundAllowance {
    /// The value the coin may still be swapped for.
    pub fn available(&self) -> Amount {
        // `swapped ≤ refunded`, in one currency, is kept by every write.
        self.refunded
            .checked_sub(self.swapped)
            .unwrap_or(Amount::zero(self.refunded.currency()))
    }
}

/// A refund the issuer recorded: the notice it came with, and the confirmation it answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuerRefund {
    /// Digest of the notice's body: a retry must match it.
    pub notice_digest: Digest,
    /// The signed confirmation, returned to every retry.
    pub confirmation: SignedRefundConfirmation,
}

codec_struct!(IssuerRefund {
    notice_digest,
    confirmation
});

/// The value the coin (`denomination`, `coin`) may be swapped for although it is spent: what
/// was refunded on it less what swaps used since. `None` when the coin was never refunded.
///
/// `store` is the store holding the coin's spent-set record (the issuer's main store, or the
/// coin's shard group).
pub fn refund_allowance(
    store: &Store,
    denomination: &DenominationId,
    coin: &CoinId,
) -> Result<Option<Amount>, StorageError> {
    store
        .get(
            Column::RefundAllowances,
            &spent_key(denomination, coin.as_bytes()),
        )?
        .map(|bytes| decode_record::<RefundAllowance>("refund_allowances", &bytes))
        .transpose()
        .map(|allowance| allowance.map(|a| a.available()))
}

/// The swap asked for more of a coin's refund allowance than is left: nothing was staged.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the coin's refund allowance is smaller than the value swapped")]
pub struct AllowanceExceeded;

impl AllowanceExceeded {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        "refund.allowance_exceeded"
    }
}

/// Stages, in a swap's own write, the use of `amount` of the coin's refund allowance. Refused
/// (nothing staged) when the coin has less left, or none, or in another currency.
pub fn stage_allowance_use(
    reader: &GroupReader<'_>,
    writes: &mut WriteSet,
    denomination: &DenominationId,
    coin: &CoinId,
    amount: Amount,
) -> Result<Result<(), AllowanceExceeded>, StorageError> {
    let key = spent_key(denomination, coin.as_bytes());
    let Some(mut allowance) = read_allowance(reader, &key)? else {
        return Ok(Err(AllowanceExceeded));
    };
    let available = allowance.available();
    if amount.currency() != available.currency() || amount.minor_units() > available.minor_units() {
        return Ok(Err(AllowanceExceeded));
    }
    allowance.swapped = match allowance.swapped.checked_add(amount) {
        Ok(swapped) => swapped,
        Err(_) => return Ok(Err(AllowanceExceeded)),
    };
    writes.put(Column::RefundAllowances, key.to_vec(), allowance.to_bytes());
    Ok(Ok(()))
}

fn read_allowance(
    reader: &GroupReader<'_>,
    key: &[u8; 64],
) -> Result<Option<RefundAllowance>, StorageError> {
    reader
        .get(Column::RefundAllowances, key)?
        .map(|bytes| decode_record("refund_allowances", &bytes))
        .transpose()
}

/// Records an acquirer's refund notice, whose signature the caller checked, with the
/// confirmation the issuer signed for it: checked against the coin's spent-set record and
/// its allowance, all in one atomic write. The confirmation's `fee` (the coin's `fees.refund`)
/// is kept from the allowance the refund adds. The same notice again answers the confirmation
/// recorded the first time; nothing is written for a refusal.
#[derive(Clone, Debug)]
pub struct RecordRefundNotice {
    /// The notice, its signature checked.
    pub notice: SignedRefundNotice,
    /// The confirmation to record and answer if the notice is taken; its `fee` is the coin's
    /// refund fee.
    pub confirmation: SignedRefundConfirmation,
}

impl Transaction for RecordRefundNotice {
    type Output = Result<SignedRefundConfirmation, RefundRefusal>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        let mut writes = WriteSet::new();
        let body = self.notice.body();
        let digest = self.notice.body_digest();
        if let Some(bytes) = reader.get(Column::IssuerRefunds, body.refund.as_bytes())? {
            let earlier: IssuerRefund = decode_record("issuer_refunds", &bytes)?;
            let answer = if earlier.notice_digest == digest {
                Ok(earlier.confirmation)
            } else {
                Err(RefundRefusal::IdReused)
            };
            return Ok((answer, writes));
        }
        let key = spent_key(&body.denomination, body.coin.as_bytes());
        let spent = match reader.get(Column::SpentCoins, &key)? {
            Some(bytes) => {
                let (permission_digest, permission) = decode_spent(&bytes)?;
                let permission = SignedDepositPermission::from_bytes(&permission).map_err(|e| {
                    StorageError::Corrupt {
                        column: "spent_coins",
                        reason: format!("permission: {e}"),
                    }
                })?;
                Some((permission_digest, permission))
            }
            None => None,
        };
        let allowance = read_allowance(reader, &key)?;
        let checked = check_notice(
            body,
            spent
                .as_ref()
                .map(|(permission_digest, permission)| SpentCoin {
                    permission_digest: *permission_digest,
                    permission: permission.body(),
                    refunded: allowance.as_ref().map(|a| a.refunded),
                    fee: self.confirmation.body().fee,
                }),
        );
        let refunded = match checked {
            Ok(total) => total,
            Err(refusal) => return Ok((Err(refusal), writes)),
        };
        let used = allowance.map_or(Amount::zero(refunded.currency()), |a| a.swapped);
        // The fee is below the refund, in its currency (checked above), so `used` stays within
        // `refunded`.
        let Ok(swapped) = used.checked_add(self.confirmation.body().fee) else {
            return Ok((Err(RefundRefusal::BelowFee), writes));
        };
        let allowance = RefundAllowance { refunded, swapped };
        writes.put(Column::RefundAllowances, key.to_vec(), allowance.to_bytes());
        let record = IssuerRefund {
            notice_digest: digest,
            confirmation: self.confirmation.clone(),
        };
        writes.put(
            Column::IssuerRefunds,
            body.refund.as_bytes().to_vec(),
            record.to_bytes(),
        );
        Ok((Ok(self.confirmation), writes))
    }
}

/// A refund the issuer recorded, by the refund's digest: what it reconciles a report's refund
/// obligations against.
pub fn issuer_refund(store: &Store, refund: &Digest) -> Result<Option<IssuerRefund>, StorageError> {
    store
        .get(Column::IssuerRefunds, refund.as_bytes())?
        .map(|bytes| decode_record("issuer_refunds", &bytes))
        .transpose()
}

/// The refunds of `refunds` this store recorded, by refund: one multi-get.
pub fn issuer_refunds(
    store: &Store,
    refunds: &[Digest],
) -> Result<HashMap<Digest, IssuerRefund>, StorageError> {
    let refs: Vec<&[u8]> = refunds.iter().map(|r| r.as_bytes().as_slice()).collect();
    let mut found = HashMap::new();
    for (refund, value) in refunds
        .iter()
        .zip(store.multi_get(Column::IssuerRefunds, &refs)?)
    {
        if let Some(bytes) = value {
            found.insert(*refund, decode_record("issuer_refunds", &bytes)?);
        }
    }
    Ok(found)
}
