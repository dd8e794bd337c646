//! What banks send each other over the inter-bank link: one request type and one answer type,
//! each a tagged union of the flows' messages. Every request is idempotent, so a caller may
//! resend one whose answer it lost.

use crate::bounded::BoundedVec;
use crate::codec::{Decode, DecodeError, Encode, Message, Reader, Writer};
use crate::denomination::SignedDenominationSet;
use crate::messages::receipt::SignedSubmissionReceipt;
use crate::messages::refund::{RefundAnswer, SignedRefundNotice};
use crate::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use crate::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};

/// Settlement reports in one answer to [`LinkRequest::ReportsAfter`]: as many as the clearing
/// house gives a participant catching up.
pub const REPORTS_PER_ANSWER_MAX: usize = crate::limits::REPORTS_AFTER_MAX;

/// A request from one bank to another.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkRequest {
    /// To an issuer: its signed denomination set as published now.
    DenominationSet,
    /// To an issuer: check and mark spent a batch of deposits.
    SpendCheck(Box<SignedSpendCheckBatch>),
    /// To the clearing house: claim confirmations for settlement.
    Submit(Box<SignedSettlementSubmission>),
    /// To the clearing house: the reports of cycles numbered above `after_sequence`.
    ReportsAfter {
        /// The last cycle number the caller holds.
        after_sequence: u64,
        /// The most reports wanted, at most [`REPORTS_PER_ANSWER_MAX`].
        limit: u32,
    },
    /// To a coin's issuer: record a refund the acquirer debited.
    Refund(Box<SignedRefundNotice>),
}

/// The answer to a [`LinkRequest`], of the matching kind. Refusals travel as the link's error
/// responses, with the stable code of the refusal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkResponse {
    /// The issuer's denomination set.
    DenominationSet(Box<SignedDenominationSet>),
    /// The issuer's answer per coin, and its confirmation.
    SpendCheck(Box<SpendCheckResponse>),
    /// The clearing house's receipt.
    Receipt(Box<SignedSubmissionReceipt>),
    /// Reports, oldest first.
    Reports(BoundedVec<SignedSettlementReport, REPORTS_PER_ANSWER_MAX>),
    /// The issuer's answer to a refund notice.
    Refund(Box<RefundAnswer>),
}

/// A message sent without an answer: the clearing house pushes each new report to every
/// participant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkNotice {
    /// A cycle's signed settlement report.
    Report(Box<SignedSettlementReport>),
}

impl Message for LinkRequest {
    const DOMAIN: &'static str = "semper/link-request";
    const VERSION: u8 = 1;
}

impl Message for LinkResponse {
    const DOMAIN: &'static str = "semper/link-response";
    const VERSION: u8 = 1;
}

impl Message for LinkNotice {
    const DOMAIN: &'static str = "semper/link-notice";
    const VERSION: u8 = 1;
}

impl Encode for LinkRequest {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        match self {
            Self::DenominationSet => writer.u8(0),
            Self::SpendCheck(batch) => {
                writer.u8(1);
                batch.encode_to(writer);
            }
            Self::Submit(submission) => {
                writer.u8(2);
                submission.encode_to(writer);
            }
            Self::ReportsAfter {
                after_sequence,
                limit,
            } => {
                writer.u8(3);
                writer.u64(*after_sequence);
                writer.u32(*limit);
            }
            Self::Refund(notice) => {
                writer.u8(4);
                notice.encode_to(writer);
            }
        }
    }
}

impl Decode for LinkRequest {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        match reader.u8("link request kind")? {
            0 => Ok(Self::DenominationSet),
            1 => Ok(Self::SpendCheck(Box::new(Decode::decode_from(reader)?))),
            2 => Ok(Self::Submit(Box::new(Decode::decode_from(reader)?))),
            3 => {
                let after_sequence = reader.u64("after sequence")?;
                let limit = reader.u32("report limit")?;
                if limit as usize > REPORTS_PER_ANSWER_MAX {
                    return Err(DecodeError::invalid(
                        "report limit",
                        format!("{limit} is over the bound of {REPORTS_PER_ANSWER_MAX}"),
                    ));
                }
                Ok(Self::ReportsAfter {
                    after_sequence,
                    limit,
                })
            }
            4 => Ok(Self::Refund(Box::new(Decode::decode_from(reader)?))),
            other => Err(DecodeError::invalid(
                "link request kind",
                format!("unknown kind {other}"),
            )),
        }
    }
}

impl Encode for LinkResponse {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        match self {
            Self::DenominationSet(set) => {
                writer.u8(0);
                set.encode_to(writer);
            }
            Self::SpendCheck(response) => {
                writer.u8(1);
                response.encode_to(writer);
            }
            Self::Receipt(receipt) => {
                writer.u8(2);
                receipt.encode_to(writer);
            }
            Self::Reports(reports) => {
                writer.u8(3);
                reports.encode_to(writer);
            }
            Self::Refund(answer) => {
                writer.u8(4);
                answer.encode_to(writer);
            }
        }
    }
}

impl Decode for LinkResponse {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        match reader.u8("link response kind")? {
            0 => Ok(Self::DenominationSet(Box::new(Decode::decode_from(
                reader,
            )?))),
            1 => Ok(Self::SpendCheck(Box::new(Decode::decode_from(reader)?))),
            2 => Ok(Self::Receipt(Box::new(Decode::decode_from(reader)?))),
            3 => Ok(Self::Reports(Decode::decode_from(reader)?)),
            4 => Ok(Self::Refund(Box::new(Decode::decode_from(reader)?))),
            other => Err(DecodeError::invalid(
                "link response kind",
                format!("unknown kind {other}"),
            )),
        }
    }
}

impl Encode for LinkNotice {
    fn encode_to(&self, writer: &mut Writer) {
        writer.domain::<Self>();
        match self {
            Self::Report(report) => {
                writer.u8(0);
                report.encode_to(writer);
            }
        }
    }
}

impl Decode for LinkNotice {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        reader.domain::<Self>()?;
        match reader.u8("link notice kind")? {
            0 => Ok(Self::Report(Box::new(Decode::decode_from(reader)?))),
            other => Err(DecodeError::invalid(
                "link notice kind",
                format!("unknown kind {other}"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_and_bound_the_report_limit() {
        for request in [
            LinkRequest::DenominationSet,
            LinkRequest::ReportsAfter {
                after_sequence: 41,
                limit: REPORTS_PER_ANSWER_MAX as u32,
            },
        ] {
            assert_eq!(LinkRequest::from_bytes(&request.to_bytes()), Ok(request));
        }
        let over = LinkRequest::ReportsAfter {
            after_sequence: 1,
            limit: REPORTS_PER_ANSWER_MAX as u32 + 1,
        };
        assert_eq!(
            LinkRequest::from_bytes(&over.to_bytes())
                .unwrap_err()
                .code(),
            "decode.invalid"
        );
        let mut unknown = LinkRequest::DenominationSet.to_bytes();
        let last = unknown.len() - 1;
        unknown[last] = 9;
        assert!(LinkRequest::from_bytes(&unknown).is_err());
        let empty = LinkResponse::Reports(BoundedVec::empty());
        assert_eq!(LinkResponse::from_bytes(&empty.to_bytes()), Ok(empty));
        // A response is never taken for a request, nor the other way round.
        assert!(
            LinkRequest::from_bytes(&LinkResponse::Reports(BoundedVec::empty()).to_bytes())
                .is_err()
        );
    }
}
