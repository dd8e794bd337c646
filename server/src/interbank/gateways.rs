//! The actors' gateways to other banks, over links: one link per peer bank.

use std::collections::HashMap;
use std::sync::Arc;

use semper_actors::gateway::{
    ClearingGateway, GatewayError, GatewayFuture, IssuerGateway, ReportSink,
};
use semper_link::LinkClient;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::ids::BankId;
use semper_protocol::messages::link::{
    LinkNotice, LinkRequest, LinkResponse, REPORTS_PER_ANSWER_MAX,
};
use semper_protocol::messages::receipt::SignedSubmissionReceipt;
use semper_protocol::messages::refund::{RefundAnswer, SignedRefundNotice};
use semper_protocol::messages::settlement::{SignedSettlementReport, SignedSettlementSubmission};
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckResponse};

use super::errors::gateway_error;

/// Links to the banks this node talks to, as the actors' gateways.
#[derive(Clone, Default)]
pub struct LinkGateways {
    links: HashMap<BankId, Arc<dyn LinkClient>>,
    clearing: Option<BankId>,
}

impl LinkGateways {
    /// No links yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the link to `link.peer()`.
    pub fn with_link(mut self, link: Arc<dyn LinkClient>) -> Self {
        self.links.insert(link.peer(), link);
        self
    }

    /// Names the bank that is the clearing house; its link must be added too.
    pub fn with_clearing(mut self, clearing: BankId) -> Self {
        self.clearing = Some(clearing);
        self
    }

    fn link(&self, bank: BankId) -> Result<&Arc<dyn LinkClient>, GatewayError> {
        self.links.get(&bank).ok_or_else(|| {
            GatewayError::refused("link.no_route", format!("no link to bank {bank}"))
        })
    }

    async fn call(&self, bank: BankId, request: LinkRequest) -> Result<LinkResponse, GatewayError> {
        let link = self.link(bank)?;
        let answer = link
            .request(request.to_bytes())
            .await
            .map_err(gateway_error)?;
        LinkResponse::from_bytes(&answer).map_err(|error| {
            GatewayError::refused(error.code(), format!("bank {bank} answered: {error}"))
        })
    }

    fn clearing_bank(&self) -> Result<BankId, GatewayError> {
        self.clearing.ok_or_else(|| {
            GatewayError::refused("link.no_clearing", "no clearing house configured")
        })
    }
}

fn unexpected(bank: BankId, wanted: &str) -> GatewayError {
    GatewayError::refused(
        "link.unexpected_response",
        format!("bank {bank} answered with something other than {wanted}"),
    )
}

impl IssuerGateway for LinkGateways {
    fn denomination_set(&self, issuer: BankId) -> GatewayFuture<'_, SignedDenominationSet> {
        Box::pin(async move {
            match self.call(issuer, LinkRequest::DenominationSet).await? {
                LinkResponse::DenominationSet(set) => Ok(*set),
                _ => Err(unexpected(issuer, "a denomination set")),
            }
        })
    }

    fn spend_check(
        &self,
        issuer: BankId,
        batch: SignedSpendCheckBatch,
    ) -> GatewayFuture<'_, SpendCheckResponse> {
        Box::pin(async move {
            match self
                .call(issuer, LinkRequest::SpendCheck(Box::new(batch)))
                .await?
            {
                LinkResponse::SpendCheck(response) => Ok(*response),
                _ => Err(unexpected(issuer, "a spend-check answer")),
            }
        })
    }

    fn refund(
        &self,
        issuer: BankId,
        notice: SignedRefundNotice,
    ) -> GatewayFuture<'_, RefundAnswer> {
        Box::pin(async move {
            match self
                .call(issuer, LinkRequest::Refund(Box::new(notice)))
                .await?
            {
                LinkResponse::Refund(answer) => Ok(*answer),
                _ => Err(unexpected(issuer, "a refund answer")),
            }
        })
    }
}

impl ClearingGateway for LinkGateways {
    fn submit(
        &self,
        submission: SignedSettlementSubmission,
    ) -> GatewayFuture<'_, SignedSubmissionReceipt> {
        Box::pin(async move {
            let clearing = self.clearing_bank()?;
            match self
                .call(clearing, LinkRequest::Submit(Box::new(submission)))
                .await?
            {
                LinkResponse::Receipt(receipt) => Ok(*receipt),
                _ => Err(unexpected(clearing, "a submission receipt")),
            }
        })
    }

    fn reports_after(
        &self,
        after_sequence: u64,
        limit: u32,
    ) -> GatewayFuture<'_, Vec<SignedSettlementReport>> {
        Box::pin(async move {
            let clearing = self.clearing_bank()?;
            let limit = limit.min(REPORTS_PER_ANSWER_MAX as u32);
            let request = LinkRequest::ReportsAfter {
                after_sequence,
                limit,
            };
            match self.call(clearing, request).await? {
                LinkResponse::Reports(reports) => Ok(reports.into_vec()),
                _ => Err(unexpected(clearing, "settlement reports")),
            }
        })
    }
}

impl ReportSink for LinkGateways {
    fn deliver(
        &self,
        participant: BankId,
        report: SignedSettlementReport,
    ) -> GatewayFuture<'_, ()> {
        Box::pin(async move {
            let notice = LinkNotice::Report(Box::new(report));
            self.link(participant)?
                .send(notice.to_bytes())
                .await
                .map_err(gateway_error)
        })
    }
}
