//! Spend check: the acquirer asks the issuer to mark coins spent; the issuer answers per coin and
//! signs one confirmation over what it accepted.

use serde::{Deserialize, Deserializer, Serialize};

use crate::amount::Amount;
use crate::bounded::BoundedVec;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::ids::{BankId, BatchId, CoinId, DenominationId, Digest};
use crate::limits::{CONFIRMATION_ENTRIES_MAX, SPEND_BATCH_COINS_MAX};
use crate::messages::deposit::SignedDepositPermission;
use crate::messages::recoup::SignedRecoupPermission;
use crate::messages::swap::SignedSwapPermission;
use crate::signed::Signed;
use crate::time::Timestamp;

/// A batch of deposit permissions for one issuer, signed by the acquirer's bank key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendCheckBatch {
    /// The acquirer sending the batch.
    pub acquirer: BankId,
    /// The acquirer's id for the batch.
    pub batch_id: BatchId,
    /// The permissions, each with its coin key's signature.
    pub permissions: BoundedVec<SignedDepositPermission, SPEND_BATCH_COINS_MAX>,
}

codec_struct!(message "semper/spend-check-batch" v 1, SpendCheckBatch {
    acquirer,
    batch_id,
    permissions
});

/// A spend-check batch with the acquirer's signature.
pub type SignedSpendCheckBatch = Signed<SpendCheckBatch>;

/// The issuer's verdict on one coin of a batch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum SpendResult {
    /// First spend: the coin is now in the spent set.
    Accepted,
    /// The same permission as before: the same answer as before, nothing new spent.
    Replay,
    /// A double spend: the coin was spent with another permission, returned as proof.
    Conflict {
        /// The permission the coin was first spent with.
        earlier: Box<SignedDepositPermission>,
    },
    /// A double spend: the coin was given in for change (swapped) before, with this signed swap
    /// permission, returned as proof.
    Swapped {
        /// The swap permission the coin was first spent with.
        earlier: Box<SignedSwapPermission>,
    },
    /// A double spend: the coin was given back to its issuer for its value (recouped, its
    /// denomination being revoked) before, with this signed recoup permission, returned as proof.
    Recouped {
        /// The recoup permission the coin was given back with.
        earlier: Box<SignedRecoupPermission>,
    },
    /// The issuer refused the coin without touching its spent set: a bad signature, a revoked or
    /// expired denomination, or a coin of another issuer.
    Refused {
        /// The stable error code of the refusal.
        #[serde(deserialize_with = "deserialize_refusal_code")]
        code: String,
    },
}

/// A coin's first spend as the issuer's spent set keeps it (a signed deposit, swap or recoup
/// permission, told apart by its domain tag): the proof against any later, other spend of the coin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EarlierSpend {
    /// Spent by a deposit.
    Deposit(SignedDepositPermission),
    /// Given in to a swap.
    Swap(SignedSwapPermission),
    /// Given back for its value (recouped).
    Recoup(SignedRecoupPermission),
}

impl EarlierSpend {
    /// Decodes a stored signed permission of any kind.
    pub fn from_stored(bytes: &[u8]) -> Result<Self, DecodeError> {
        if let Ok(permission) = SignedDepositPermission::from_bytes(bytes) {
            return Ok(Self::Deposit(permission));
        }
        if let Ok(permission) = SignedSwapPermission::from_bytes(bytes) {
            return Ok(Self::Swap(permission));
        }
        SignedRecoupPermission::from_bytes(bytes).map(Self::Recoup)
    }

    /// The per-coin result that returns it as proof.
    pub fn into_result(self) -> SpendResult {
        match self {
            Self::Deposit(earlier) => SpendResult::Conflict {
                earlier: Box::new(earlier),
            },
            Self::Swap(earlier) => SpendResult::Swapped {
                earlier: Box::new(earlier),
            },
            Self::Recoup(earlier) => SpendResult::Recouped {
                earlier: Box::new(earlier),
            },
        }
    }
}

/// Longest refusal code, in bytes.
pub const REFUSAL_CODE_MAX_BYTES: usize = 64;

/// Writes a refusal code, as [`read_refusal_code`] reads it.
pub(crate) fn write_refusal_code(writer: &mut Writer, code: &str) {
    writer.bytes(code.as_bytes());
}

/// Reads a refusal code from JSON, within the bound its binary form has: a result parsed from
/// JSON can always be encoded, signed and decoded again.
pub(crate) fn deserialize_refusal_code<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<String, D::Error> {
    let code = String::deserialize(deserializer)?;
    if code.len() > REFUSAL_CODE_MAX_BYTES {
        return Err(serde::de::Error::custom(format!(
            "refusal code of {} bytes is over the bound of {REFUSAL_CODE_MAX_BYTES}",
            code.len()
        )));
    }
    Ok(code)
}

/// Reads a refusal code: UTF-8, at most [`REFUSAL_CODE_MAX_BYTES`].
pub(crate) fn read_refusal_code(reader: &mut Reader<'_>) -> Result<String, DecodeError> {
    let code = reader.bytes(REFUSAL_CODE_MAX_BYTES, "refusal code")?;
    let code = std::str::from_utf8(code).map_err(|e| DecodeError::invalid("refusal code", e))?;
    Ok(code.to_owned())
}

impl Encode for SpendResult {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            Self::Accepted => writer.u8(0),
            Self::Replay => writer.u8(1),
            Self::Conflict { earlier } => {
                writer.u8(2);
                earlier.encode_to(writer);
            }
            Self::Refused { code } => {
                writer.u8(3);
                write_refusal_code(writer, code);
            }
            Self::Swapped { earlier } => {
                writer.u8(4);
                earlier.encode_to(writer);
            }
            Self::Recouped { earlier } => {
                writer.u8(5);
                earlier.encode_to(writer);
            }
        }
    }
}

impl Decode for SpendResult {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("spend result")? {
            0 => Ok(Self::Accepted),
            1 => Ok(Self::Replay),
            2 => Ok(Self::Conflict {
                earlier: Box::new(SignedDepositPermission::decode_from(reader)?),
            }),
            3 => Ok(Self::Refused {
                code: read_refusal_code(reader)?,
            }),
            4 => Ok(Self::Swapped {
                earlier: Box::new(SignedSwapPermission::decode_from(reader)?),
            }),
            5 => Ok(Self::Recouped {
                earlier: Box::new(SignedRecoupPermission::decode_from(reader)?),
            }),
            other => Err(DecodeError::invalid(
                "spend result",
                format!("unknown tag {other}"),
            )),
        }
    }
}

/// One accepted coin, as the issuer confirms it and the clearing house claims it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfirmedSpend {
    /// The coin's key: unique per coin.
    pub coin: CoinId,
    /// The coin's denomination.
    pub denomination: DenominationId,
    /// The value spent.
    pub amount: Amount,
    /// The digest of the deposit permission that spent it.
    pub permission: Digest,
}

codec_struct!(ConfirmedSpend {
    coin,
    denomination,
    amount,
    permission
});

/// The issuer's confirmation of a batch's accepted coins: see [`SignedSpendConfirmation`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendConfirmation {
    /// The issuer confirming, and owing.
    pub issuer: BankId,
    /// The acquirer owed.
    pub acquirer: BankId,
    /// The batch confirmed.
    pub batch_id: BatchId,
    /// When the issuer confirmed.
    pub confirmed_at: Timestamp,
    /// The accepted coins.
    pub entries: BoundedVec<ConfirmedSpend, CONFIRMATION_ENTRIES_MAX>,
}

codec_struct!(message "semper/spend-confirmation" v 1, SpendConfirmation {
    issuer,
    acquirer,
    batch_id,
    confirmed_at,
    entries
});

/// A spend confirmation with the issuer's confirmation-key signature.
pub type SignedSpendConfirmation = Signed<SpendConfirmation>;

/// The issuer's answer to a batch: a result per coin, in order, and the confirmation of the
/// accepted ones (none when nothing was accepted).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpendCheckResponse {
    /// The batch answered.
    pub batch_id: BatchId,
    /// One result per permission, in the batch's order.
    pub results: BoundedVec<SpendResult, SPEND_BATCH_COINS_MAX>,
    /// The signed confirmation of the accepted coins.
    pub confirmation: Option<SignedSpendConfirmation>,
}

codec_struct!(message "semper/spend-check-response" v 3, SpendCheckResponse {
    batch_id,
    results,
    confirmation
});

impl Signed<SpendConfirmation> {
    /// The total confirmed, or an error if entries mix currencies or overflow.
    pub fn total(&self) -> Result<Option<Amount>, crate::amount::AmountError> {
        let mut total: Option<Amount> = None;
        for entry in self.body().entries.iter() {
            total = Some(match total {
                None => entry.amount,
                Some(sum) => sum.checked_add(entry.amount)?,
            });
        }
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_code_over_its_bound_is_refused_in_json_too() {
        // Found by fuzzing (fuzz/regressions/http_responses/refusal-code-over-its-bound): JSON
        // took a code of any length, whose binary form then did not decode.
        let json = |code: &str| format!(r#"{{"result":"refused","code":"{code}"}}"#);
        let longest = "c".repeat(REFUSAL_CODE_MAX_BYTES);
        let result: SpendResult = serde_json::from_str(&json(&longest)).unwrap();
        assert_eq!(SpendResult::from_bytes(&result.to_bytes()), Ok(result));
        let over = "c".repeat(REFUSAL_CODE_MAX_BYTES + 1);
        assert!(serde_json::from_str::<SpendResult>(&json(&over)).is_err());
    }
}
