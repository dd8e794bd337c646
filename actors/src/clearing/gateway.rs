//! The clearing handle as a [`ClearingGateway`]: how an acquirer in the same process reaches the
//! clearing house, with the same answers a link would carry.

use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};

use super::actor::ClearingHandle;
use super::error::ClearingError;
use crate::gateway::{ClearingGateway, GatewayError, GatewayFuture};

impl From<ClearingError> for GatewayError {
    fn from(error: ClearingError) -> Self {
        Self {
            code: error.code().to_owned(),
            message: error.to_string(),
            retryable: error.retryable(),
        }
    }
}

impl ClearingGateway for ClearingHandle {
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        Box::pin(async move { Ok(ClearingHandle::submit(self, submission).await?) })
    }

    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Box::pin(
            async move { Ok(ClearingHandle::reports_after(self, after_sequence, limit).await?) },
        )
    }
}
