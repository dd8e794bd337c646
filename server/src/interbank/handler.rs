//! The link handler of a node: decodes each request, checks that the authenticated peer may make
//! it, and hands it to the role this process hosts.

use std::sync::Arc;

use semper_actors::issuer::IssuerHandle;
use semper_link::{Handler, HandlerFuture, PeerIdentity, RemoteError, Role};
use semper_protocol::codec::{Decode, Encode};
use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};

use super::errors::remote_error;

/// The roles this process hosts; a request for a role it does not host is refused.
#[derive(Clone, Default)]
pub struct HostedRoles {
    /// The issuer, if this node is one.
    pub issuer: Option<IssuerHandle>,
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
        Box::pin(async move {
            let notice = LinkNotice::from_bytes(&payload)
                .map_err(|error| remote_error(error.code(), &error))?;
            match notice {
                LinkNotice::Report(_report) => {
                    if !peer.has_role(Role::Clearing) {
                        return Err(forbidden(&peer, "push settlement reports"));
                    }
                    Ok(())
                }
            }
        })
    }
}

async fn serve(
    roles: HostedRoles,
    peer: PeerIdentity,
    request: LinkRequest,
) -> Result<LinkResponse, RemoteError> {
    match request {
        LinkRequest::DenominationSet => {
            let issuer = roles.issuer.ok_or_else(|| not_hosted("an issuer"))?;
            Ok(LinkResponse::DenominationSet(Box::new(
                (*issuer.denomination_set()).clone(),
            )))
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
                .map_err(|error| remote_error(error.code(), &error))?;
            Ok(LinkResponse::SpendCheck(Box::new(answer)))
        }
        LinkRequest::Submit(_) | LinkRequest::ReportsAfter { .. } => {
            Err(not_hosted("a clearing house"))
        }
    }
}
