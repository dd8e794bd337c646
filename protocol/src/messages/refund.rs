//! Refunds: a merchant gives back (part of) a coin it deposited. Its acquirer debits it and
//! tells the coin's issuer, which lets the coin be swapped once more for the refunded value and
//! confirms; the confirmation settles from the acquirer to the issuer (DESIGN.md, flow 6).

use serde::{Deserialize, Serialize};

use crate::amount::Amount;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::ids::{BankId, CoinId, ContractHash, DenominationId, Digest, MerchantId, RequestId};
use crate::messages::spend::{deserialize_refusal_code, read_refusal_code, write_refusal_code};
use crate::signed::Signed;
use crate::time::Timestamp;

/// A merchant's refund of one coin it deposited for a contract, signed by the merchant's key:
/// see [`SignedRefundRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    /// The merchant refunding, and debited.
    pub merchant: MerchantId,
    /// The merchant's idempotency key: a retry with the same body gets the same answer and is
    /// debited once.
    pub refund_id: RequestId,
    /// The contract the coin paid: the deposit permission's.
    pub contract_hash: ContractHash,
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin's public key.
    pub coin: CoinId,
    /// The value given back: at most what the coin paid, less what was refunded before.
    pub amount: Amount,
}

codec_struct!(message "semper/refund-request" v 1, RefundRequest {
    merchant,
    refund_id,
    contract_hash,
    denomination,
    coin,
    amount
});

/// A refund request with the merchant key's signature.
pub type SignedRefundRequest = Signed<RefundRequest>;

/// What an acquirer tells a coin's issuer about a refund it debited, signed by the acquirer's
/// bank key: the acquirer owes the issuer `amount` once confirmed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundNotice {
    /// The acquirer that debited the merchant, and will owe.
    pub acquirer: BankId,
    /// The refund's identity: the digest of the merchant's signed request body. Unique per
    /// refund, and the same for every retry.
    pub refund: Digest,
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin's public key.
    pub coin: CoinId,
    /// Digest of the deposit permission the coin was spent with, at this acquirer.
    pub permission: Digest,
    /// The value refunded.
    pub amount: Amount,
}

codec_struct!(message "semper/refund-notice" v 1, RefundNotice {
    acquirer,
    refund,
    denomination,
    coin,
    permission,
    amount
});

/// A refund notice with the acquirer's signature.
pub type SignedRefundNotice = Signed<RefundNotice>;

/// The issuer's confirmation that a coin may be swapped again for `amount`: the claim an
/// acquirer's settlement submission carries, owed by the acquirer to the issuer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundConfirmation {
    /// The issuer confirming, and owed.
    pub issuer: BankId,
    /// The acquirer owing.
    pub acquirer: BankId,
    /// The refund: the notice's `refund`.
    pub refund: Digest,
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The coin's public key.
    pub coin: CoinId,
    /// The value refunded: what the acquirer owes the issuer.
    pub amount: Amount,
    /// The coin's refund fee (its denomination's `fees.refund`), kept by the issuer: the coin
    /// may be swapped again for `amount − fee`.
    pub fee: Amount,
    /// When the issuer recorded it.
    pub confirmed_at: Timestamp,
}

codec_struct!(message "semper/refund-confirmation" v 2, RefundConfirmation {
    issuer,
    acquirer,
    refund,
    denomination,
    coin,
    amount,
    fee,
    confirmed_at
});

/// A refund confirmation with the issuer's confirmation-key signature.
pub type SignedRefundConfirmation = Signed<RefundConfirmation>;

/// The issuer's answer to a refund notice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum RefundAnswer {
    /// Recorded (now, or before: a retry gets the same confirmation).
    Confirmed {
        /// The signed confirmation.
        confirmation: Box<SignedRefundConfirmation>,
    },
    /// Refused, nothing recorded, with the stable code of the reason.
    Refused {
        /// The stable error code.
        #[serde(deserialize_with = "deserialize_refusal_code")]
        code: String,
    },
}

impl Encode for RefundAnswer {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        match self {
            Self::Confirmed { confirmation } => {
                writer.u8(0);
                confirmation.encode_to(writer);
            }
            Self::Refused { code } => {
                writer.u8(1);
                write_refusal_code(writer, code);
            }
        }
    }
}

impl Decode for RefundAnswer {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        match reader.u8("refund answer")? {
            0 => Ok(Self::Confirmed {
                confirmation: Box::new(SignedRefundConfirmation::decode_from(reader)?),
            }),
            1 => Ok(Self::Refused {
                code: read_refusal_code(reader)?,
            }),
            other => Err(DecodeError::invalid(
                "refund answer",
                format!("unknown tag {other}"),
            )),
        }
    }
}

impl crate::codec::Message for RefundAnswer {
    const DOMAIN: &'static str = "semper/refund-answer";
    const VERSION: u8 = 1;
}

/// The acquirer's answer to a merchant's refund: the merchant was debited `amount` (now, or by
/// an earlier try of the same request), and the coin has been refunded `coin_refunded` in all.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefundResponse {
    /// The merchant.
    pub merchant: MerchantId,
    /// The refund answered.
    pub refund_id: RequestId,
    /// The refund's identity, as the issuer and the clearing house know it.
    pub refund: Digest,
    /// The value debited by this refund.
    pub amount: Amount,
    /// Everything refunded on the coin so far, this refund included.
    pub coin_refunded: Amount,
}

codec_struct!(message "semper/refund-response" v 1, RefundResponse {
    merchant,
    refund_id,
    refund,
    amount,
    coin_refunded
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Encode;

    #[test]
    fn answers_round_trip_and_an_unknown_tag_is_refused() {
        let refused = RefundAnswer::Refused {
            code: "refund.over_spent".into(),
        };
        assert_eq!(RefundAnswer::from_bytes(&refused.to_bytes()), Ok(refused));
        let mut bytes = RefundAnswer::Refused { code: "x".into() }.to_bytes();
        let tag = bytes.len() - 6;
        bytes[tag] = 7;
        assert!(RefundAnswer::from_bytes(&bytes).is_err());
    }
}
