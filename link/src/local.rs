//! The in-process carrier: the client API over a handler, with no sockets or framing.

use std::sync::Arc;

use semper_protocol::ids::BankId;
use tokio::time::timeout_at;

use crate::admission::{Admission, Limits};
use crate::client::{LinkClient, LinkFuture};
use crate::error::LinkError;
use crate::handler::Handler;
use crate::peer::PeerIdentity;
use crate::remote::bounded_reply;

/// A link that calls a [`Handler`] in the same process, with the same bounds and errors as the
/// QUIC [`crate::Link`]: the payload bound, the in-flight bound ([`LinkError::Busy`]), the
/// request timeout ([`LinkError::Timeout`]) and handler errors ([`LinkError::Remote`]).
///
/// A one-way message runs on its own task and keeps its in-flight slot until handled.
#[derive(Clone)]
pub struct LocalLink {
    handler: Arc<dyn Handler>,
    caller: PeerIdentity,
    peer: BankId,
    admission: Arc<Admission>,
}

impl LocalLink {
    /// A link to `peer`'s `handler`, which sees every call as coming from `caller`.
    pub fn new(
        handler: Arc<dyn Handler>,
        caller: PeerIdentity,
        peer: BankId,
        limits: Limits,
    ) -> Result<Self, LinkError> {
        Ok(Self {
            handler,
            caller,
            peer,
            admission: Arc::new(Admission::new(limits)?),
        })
    }

    /// Calls the handler's `request` and returns its answer.
    pub async fn request(&self, payload: Vec<u8>) -> Result<Vec<u8>, LinkError> {
        let (_slot, deadline) = self.admission.admit(&payload).await?;
        match timeout_at(deadline, self.handler.request(self.caller, payload)).await {
            Ok(answer) => bounded_reply(answer).map_err(LinkError::from),
            Err(_elapsed) => Err(LinkError::Timeout),
        }
    }

    /// Hands the message to the handler's `one_way` on a new task; must run inside a tokio
    /// runtime.
    pub async fn send(&self, payload: Vec<u8>) -> Result<(), LinkError> {
        let (slot, _deadline) = self.admission.admit(&payload).await?;
        let work = self.handler.one_way(self.caller, payload);
        let bank = self.caller.bank();
        tokio::spawn(async move {
            if let Err(error) = work.await {
                tracing::warn!(%bank, code = error.code(), message = error.message(), "one-way message refused");
            }
            drop(slot);
        });
        Ok(())
    }

    /// Refuses every later call with [`LinkError::Closed`].
    pub fn close(&self) {
        self.admission.close();
    }
}

impl std::fmt::Debug for LocalLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalLink")
            .field("caller", &self.caller)
            .field("peer", &self.peer)
            .finish_non_exhaustive()
    }
}

impl LinkClient for LocalLink {
    fn peer(&self) -> BankId {
        self.peer
    }

    fn request(&self, payload: Vec<u8>) -> LinkFuture<'_, Vec<u8>> {
        Box::pin(LocalLink::request(self, payload))
    }

    fn send(&self, payload: Vec<u8>) -> LinkFuture<'_, ()> {
        Box::pin(LocalLink::send(self, payload))
    }
}
