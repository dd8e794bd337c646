//! The clearing house's answer to a settlement submission: which confirmations it claimed for the
//! acquirer, in which cycle, and why it refused the others.

use serde::{Deserialize, Serialize};

use crate::bounded::BoundedVec;
use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};
use crate::codec_struct;
use crate::ids::{BankId, CycleId, SubmissionId};
use crate::limits::{SUBMISSION_CONFIRMATIONS_MAX, SUBMISSION_REFUNDS_MAX};
use crate::messages::spend::{deserialize_refusal_code, read_refusal_code, write_refusal_code};
use crate::signed::Signed;
use crate::time::Timestamp;

/// What the clearing house did with one confirmation of a submission.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum ClaimResult {
    /// Counted in the receipt's cycle, for this acquirer.
    Claimed,
    /// Already counted for an earlier submission, named here; not counted again.
    AlreadyClaimed {
        /// The acquirer whose submission claimed it.
        acquirer: BankId,
        /// That submission.
        submission_id: SubmissionId,
    },
    /// Not counted: a bad issuer signature, an unknown issuer, or a confirmation of another
    /// acquirer.
    Refused {
        /// The stable error code of the refusal.
        #[serde(deserialize_with = "deserialize_refusal_code")]
        code: String,
    },
}

impl Encode for ClaimResult {
    fn encode_to(&self, writer: &mut Writer) {
        match self {
            Self::Claimed => writer.u8(0),
            Self::AlreadyClaimed {
                acquirer,
                submission_id,
            } => {
                writer.u8(1);
                acquirer.encode_to(writer);
                submission_id.encode_to(writer);
            }
            Self::Refused { code } => {
                writer.u8(2);
                write_refusal_code(writer, code);
            }
        }
    }
}

impl Decode for ClaimResult {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        match reader.u8("claim result")? {
            0 => Ok(Self::Claimed),
            1 => Ok(Self::AlreadyClaimed {
                acquirer: BankId::decode_from(reader)?,
                submission_id: SubmissionId::decode_from(reader)?,
            }),
            2 => Ok(Self::Refused {
                code: read_refusal_code(reader)?,
            }),
            other => Err(DecodeError::invalid(
                "claim result",
                format!("unknown tag {other}"),
            )),
        }
    }
}

/// The clearing house's receipt for a submission: see [`SignedSubmissionReceipt`]. A retried
/// submission gets the same receipt.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubmissionReceipt {
    /// The clearing house.
    pub clearing: BankId,
    /// The acquirer that submitted.
    pub acquirer: BankId,
    /// The submission answered.
    pub submission_id: SubmissionId,
    /// The cycle its claims were counted in.
    pub cycle: CycleId,
    /// That cycle's number.
    pub cycle_sequence: u64,
    /// When the clearing house recorded it.
    pub received_at: Timestamp,
    /// One result per spend confirmation, in the submission's order.
    pub claims: BoundedVec<ClaimResult, SUBMISSION_CONFIRMATIONS_MAX>,
    /// One result per refund confirmation, in the submission's order.
    pub refund_claims: BoundedVec<ClaimResult, SUBMISSION_REFUNDS_MAX>,
}

codec_struct!(message "semper/submission-receipt" v 2, SubmissionReceipt {
    clearing,
    acquirer,
    submission_id,
    cycle,
    cycle_sequence,
    received_at,
    claims,
    refund_claims
});

/// A submission receipt with the clearing house's signature.
pub type SignedSubmissionReceipt = Signed<SubmissionReceipt>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_and_refuse_unknown_claim_tags() {
        let receipt = SubmissionReceipt {
            clearing: BankId([1; 16]),
            acquirer: BankId([2; 16]),
            submission_id: SubmissionId([3; 16]),
            cycle: CycleId([4; 16]),
            cycle_sequence: 5,
            received_at: Timestamp::from_unix_ms(6),
            claims: vec![
                ClaimResult::Claimed,
                ClaimResult::AlreadyClaimed {
                    acquirer: BankId([7; 16]),
                    submission_id: SubmissionId([8; 16]),
                },
                ClaimResult::Refused {
                    code: "confirmation.bad_signature".into(),
                },
            ]
            .try_into()
            .unwrap(),
            refund_claims: vec![ClaimResult::Claimed].try_into().unwrap(),
        };
        let bytes = receipt.to_bytes();
        assert_eq!(SubmissionReceipt::from_bytes(&bytes).unwrap(), receipt);
        let json = serde_json::to_string(&receipt).unwrap();
        assert_eq!(
            serde_json::from_str::<SubmissionReceipt>(&json).unwrap(),
            receipt
        );
        let over = format!(r#"{{"result":"refused","code":"{}"}}"#, "c".repeat(65));
        assert!(serde_json::from_str::<ClaimResult>(&over).is_err());
        let mut bad = ClaimResult::Claimed.to_bytes();
        bad[0] = 9;
        assert_eq!(
            ClaimResult::from_bytes(&bad).unwrap_err().code(),
            "decode.invalid"
        );
    }
}
