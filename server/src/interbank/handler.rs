//! The link handler of a node: decodes each request, checks that the authenticated peer may make
//! it, and hands it to the role this process hosts.

use std::sync::Arc;

use semper_actors::acquirer::AcquirerHandle;
use semper_actors::clearing::ClearingHandle;
use semper_actors::issuer::IssuerHandle;
use semper_link::{Handler, HandlerFuture, PeerIdentity, RemoteError, Role};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};
use semper_protocol::messages::settlement::SignedSettlementReport;

use super::errors::{remote_error, role_refusal};

/// The roles this process hosts; a request for a role it does not host is refused.
#[derive(Clone, Default)]
pub struct HostedRoles {
    /// The issuer, if this node is one.
    pub issuer: Option<IssuerHandle>,
    /// The acquirer, if this node is one.
    pub acquirer: Option<AcquirerHandle>,
    /// The clearing house, if this node is one.
    pub clearing: Option<ClearingHandle>,
}

impl HostedRoles {
    /// Weak references to each role's state: gone once its DB is closed.
    pub fn state_refs(&self) -> Vec<std::sync::Weak<dyn std::any::Any + Send + Sync>> {
        let mut refs: Vec<std::sync::Weak<dyn std::any::Any + Send + Sync>> = Vec::new();
        if let Some(issuer) = &self.issuer {
            let weak: std::sync::Weak<semper_actors::issuer::IssuerState> =
                Arc::downgrade(issuer.state());
            refs.push(weak);
        }
        if let Some(acquirer) = &self.acquirer {
            let weak: std::sync::Weak<semper_actors::acquirer::AcquirerState> =
                Arc::downgrade(acquirer.state());
            refs.push(weak);
        }
        if let Some(clearing) = &self.clearing {
            let weak: std::sync::Weak<semper_actors::clearing::ClearingState> =
                Arc::downgrade(clearing.state());
            refs.push(weak);
        }
        refs
    }

    /// Stops every role's actor: each takes no more messages, and its DB closes once the last
    /// handle on it is gone.
    pub fn stop(&self) {
        if let Some(issuer) = &self.issuer {
            issuer.stop();
        }
        if let Some(acquirer) = &self.acquirer {
            acquirer.stop();
        }
        if let Some(clearing) = &self.clearing {
            clearing.stop();
        }
    }
}

/// Serves the inter-bank link for the roles of one node.
pub struct BankHandler {
    roles: HostedRoles,
}

impl BankHandler {
    /// A handler over `roles`.
    pub fn new(roles: HostedRoles) -> Arc<Self> {
        Arc::new(Self { roles })
    }
}

fn not_hosted(role: &str) -> RemoteError {
    RemoteError::new("link.role_not_hosted", format!("this node is not {role}"))
}

fn forbidden(peer: &PeerIdentity, what: &str) -> RemoteError {
    RemoteError::new(
        "link.forbidden",
        format!("bank {} may not {what}", peer.bank()),
    )
}

impl Handler for BankHandler {
    fn request(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<Vec<u8>> {
        let roles = self.roles.clone();
        Box::pin(async move {
            let request = LinkRequest::from_bytes(&payload)
                .map_err(|error| remote_error(error.code(), &error))?;
            let response = serve(roles, peer, request).await?;
            Ok(response.to_bytes())
        })
    }

    fn one_way(&self, peer: PeerIdentity, payload: Vec<u8>) -> HandlerFuture<()> {
        let roles = self.roles.clone();
        Box::pin(async move {
            let notice = LinkNotice::from_bytes(&payload)
                .map_err(|error| remote_error(error.code(), &error))?;
            match notice {
                LinkNotice::Report(report) => {
                    if !peer.has_role(Role::Clearing) {
                        return Err(forbidden(&peer, "push settlement reports"));
                    }
                    receive_report(&roles, *report).await
                }
            }
        })
    }
}

/// Hands a pushed report to each participant role hosted here, which verifies it against the
/// clearing house it trusts and reconciles it with its books.
async fn receive_report(
    roles: &HostedRoles,
    report: SignedSettlementReport,
) -> Result<(), RemoteError> {
    if roles.issuer.is_none() && roles.acquirer.is_none() {
        return Err(not_hosted("a settlement participant"));
    }
    if let Some(issuer) = &roles.issuer {
        issuer
            .receive_report(report.clone())
            .await
            .map_err(|error| role_refusal(&error))?;
    }
    if let Some(acquirer) = &roles.acquirer {
        acquirer
            .receive_report(report)
            .await
            .map_err(|error| role_refusal(&error))?;
    }
    Ok(())
}

async fn serve(
    roles: HostedRoles,
    peer: PeerIdentity,
    request: LinkRequest,
) -> Result<LinkResponse, RemoteError> {
    match request {
        LinkRequest::DenominationSet => {
            let issuer = roles.issuer.ok_or_else(|| not_hosted("an issuer"))?;
            let set = issuer
                .denomination_set()
                .map_err(|error| role_refusal(&error))?;
            Ok(LinkResponse::DenominationSet(Box::new((*set).clone())))
        }
        LinkRequest::SpendCheck(batch) => {
            let issuer = roles.issuer.ok_or_else(|| not_hosted("an issuer"))?;
            // The batch names its acquirer, whose key the issuer checks; the link's peer must be
            // that very bank, so no acquirer can replay another's batch.
            if !peer.has_role(Role::Acquirer) || peer.bank() != batch.body().acquirer {
                return Err(forbidden(&peer, "send spend checks for this acquirer"));
            }
            let answer = issuer
                .spend_check(*batch)
                .await
                .map_err(|error| role_refusal(&error))?;
            Ok(LinkResponse::SpendCheck(Box::new(answer)))
        }
        LinkRequest::Refund(notice) => {
            let issuer = roles.issuer.ok_or_else(|| not_hosted("an issuer"))?;
            // As for spend checks: only the acquirer named in a notice may send it.
            if !peer.has_role(Role::Acquirer) || peer.bank() != notice.body().acquirer {
                return Err(forbidden(&peer, "send refunds for this acquirer"));
            }
            let answer = issuer
                .refund(*notice)
                .await
                .map_err(|error| role_refusal(&error))?;
            Ok(LinkResponse::Refund(Box::new(answer)))
        }
        LinkRequest::Submit(submission) => {
            let clearing = roles
                .clearing
                .ok_or_else(|| not_hosted("a clearing house"))?;
            // Same rule as spend checks: only the acquirer named in a submission may submit it.
            if !peer.has_role(Role::Acquirer) || peer.bank() != submission.body().acquirer {
                return Err(forbidden(&peer, "submit for this acquirer"));
            }
            let receipt = clearing
                .submit(*submission)
                .await
                .map_err(|error| role_refusal(&error))?;
            Ok(LinkResponse::Receipt(Box::new(receipt)))
        }
        LinkRequest::ReportsAfter {
            after_sequence,
            limit,
        } => {
            let clearing = roles
                .clearing
                .ok_or_else(|| not_hosted("a clearing house"))?;
            if !clearing
                .state()
                .participants
                .banks()
                .any(|bank| bank == peer.bank())
            {
                return Err(forbidden(&peer, "read settlement reports"));
            }
            // The clearing house answers at most `REPORTS_PER_ANSWER_MAX` reports, whatever the
            // limit asked.
            let reports = clearing
                .reports_after(after_sequence, limit as usize)
                .await
                .map_err(|error| role_refusal(&error))?;
            let reports = BoundedVec::new(reports).map_err(|error| {
                RemoteError::new("clearing.reports_over_bound", error.to_string())
            })?;
            Ok(LinkResponse::Reports(reports))
        }
    }
}
