//! The UDP socket under a QUIC endpoint: a real one, or any socket quinn can drive.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::{Endpoint, EndpointConfig, ServerConfig};

use crate::error::LinkError;

/// What a QUIC endpoint sends its datagrams through.
#[derive(Debug)]
pub enum LinkSocket {
    /// A UDP socket bound to this address (port 0 picks a free port).
    Bind(SocketAddr),
    /// An already bound UDP socket.
    Udp(std::net::UdpSocket),
    /// Any datagram carrier quinn can drive, e.g. an emulated circuit.
    Custom(Arc<dyn quinn::AsyncUdpSocket>),
}

impl From<SocketAddr> for LinkSocket {
    fn from(addr: SocketAddr) -> Self {
        Self::Bind(addr)
    }
}

impl LinkSocket {
    /// Makes a QUIC endpoint on this socket; must run inside a tokio runtime.
    pub(crate) fn endpoint(self, server: Option<ServerConfig>) -> Result<Endpoint, LinkError> {
        let runtime = quinn::default_runtime().ok_or_else(|| {
            LinkError::Config("a link must run inside a tokio runtime".to_owned())
        })?;
        let socket = match self {
            Self::Bind(addr) => runtime.wrap_udp_socket(std::net::UdpSocket::bind(addr)?)?,
            Self::Udp(socket) => runtime.wrap_udp_socket(socket)?,
            Self::Custom(socket) => socket,
        };
        Ok(Endpoint::new_with_abstract_socket(
            EndpointConfig::default(),
            server,
            socket,
            runtime,
        )?)
    }
}
