//! Bounds per client address: connections open and requests in progress from one address, so
//! that one client (a slowloris, a flood) cannot take what the server has for all of them.
//!
//! A client is its IPv4 address, or its IPv6 /64: one host's share of a network, since a host
//! given a /64 can pick any address in it. A connection over the bound is closed as it opens (in
//! [`Clients::on_connect`], before a byte of it is read); a request over the bound answers 503
//! `server.busy` with `Retry-After`.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, Shutdown};
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::dev::Extensions;
use actix_web::rt::net::TcpStream;

use super::error::{ApiError, SERVER_BUSY};

/// Counts the server exports about its clients.
pub const HTTP_CONNECTIONS_REFUSED_TOTAL: &str = "semper_http_client_connections_refused_total";
/// Requests refused because their client had too many in progress.
pub const HTTP_CLIENT_REQUESTS_REFUSED_TOTAL: &str = "semper_http_client_requests_refused_total";

/// What a client is known by: its IPv4 address, or the /64 of its IPv6 address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The client behind `ip` (an IPv4-mapped IPv6 address is its IPv4 address).
    pub fn of(ip: IpAddr) -> Self {
        match ip {
            IpAddr::V4(v4) => Self(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Self(IpAddr::V4(v4)),
                None => {
                    let s = v6.segments();
                    Self(IpAddr::V6(Ipv6Addr::new(
                        s[0], s[1], s[2], s[3], 0, 0, 0, 0,
                    )))
                }
            },
        }
    }
}

/// The bounds per client.
#[derive(Clone, Copy, Debug)]
pub struct ClientBounds {
    /// Connections open at once from one client.
    pub connections_max: usize,
    /// Requests in progress from one client, body upload included.
    pub requests_in_flight_max: usize,
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    Connection,
    Request,
}

#[derive(Debug, Default)]
struct Counts {
    connections: usize,
    requests: usize,
}

impl Counts {
    fn of(&mut self, kind: Kind) -> &mut usize {
        match kind {
            Kind::Connection => &mut self.connections,
            Kind::Request => &mut self.requests,
        }
    }
}

/// The connections and requests of every client now connected; shared by every worker. An entry
/// lives while its client has a connection or a request, so the table is bounded by the
/// connections the server holds.
#[derive(Debug)]
pub struct Clients {
    bounds: ClientBounds,
    table: Mutex<HashMap<ClientKey, Counts>>,
}

/// A connection or request counted against its client until dropped.
#[derive(Debug)]
pub struct Held {
    clients: Arc<Clients>,
    key: ClientKey,
    kind: Kind,
}

impl Drop for Held {
    fn drop(&mut self) {
        let mut table = self.clients.lock();
        if let Some(counts) = table.get_mut(&self.key) {
            let count = counts.of(self.kind);
            *count = count.saturating_sub(1);
            if counts.connections == 0 && counts.requests == 0 {
                table.remove(&self.key);
            }
        }
    }
}

/// The mark [`Clients::on_connect`] leaves on a connection it counted.
#[derive(Debug)]
struct ConnectionHeld(#[allow(dead_code)] Held);

impl Clients {
    /// An empty table with these bounds (each at least one).
    pub fn new(bounds: ClientBounds) -> Arc<Self> {
        Arc::new(Self {
            bounds: ClientBounds {
                connections_max: bounds.connections_max.max(1),
                requests_in_flight_max: bounds.requests_in_flight_max.max(1),
            },
            table: Mutex::new(HashMap::new()),
        })
    }

    /// Counts a new connection from `ip`, or `None` when its client has all it may.
    pub fn admit_connection(self: &Arc<Self>, ip: IpAddr) -> Option<Held> {
        self.admit(ip, Kind::Connection, self.bounds.connections_max)
    }

    /// Counts a request from `ip`, or answers 503 `server.busy` when its client has all the
    /// requests in progress it may.
    pub fn admit_request(self: &Arc<Self>, ip: IpAddr) -> Result<Held, ApiError> {
        let max = self.bounds.requests_in_flight_max;
        self.admit(ip, Kind::Request, max).ok_or_else(|| {
            metrics::counter!(HTTP_CLIENT_REQUESTS_REFUSED_TOTAL).increment(1);
            ApiError::new(
                SERVER_BUSY,
                format!("more than {max} requests in progress from your address"),
            )
        })
    }

    /// For `HttpServer::on_connect`: counts the new connection `stream` against its client, or
    /// closes it at once (both ways) when the client has all the connections it may; the server
    /// then reads end of stream and drops it without reading a request.
    pub fn on_connect(self: &Arc<Self>, stream: &TcpStream, extensions: &mut Extensions) {
        let Ok(peer) = stream.peer_addr() else {
            return;
        };
        match self.admit_connection(peer.ip()) {
            Some(held) => {
                extensions.insert(ConnectionHeld(held));
            }
            None => {
                metrics::counter!(HTTP_CONNECTIONS_REFUSED_TOTAL).increment(1);
                tracing::debug!(%peer, "connection refused: its address has too many");
                // Already closed by the peer, or never fully open: nothing more to do.
                let _ = socket2::SockRef::from(stream).shutdown(Shutdown::Both);
            }
        }
    }

    /// Counts `kind` from `ip` if its client has fewer than `max`.
    fn admit(self: &Arc<Self>, ip: IpAddr, kind: Kind, max: usize) -> Option<Held> {
        let key = ClientKey::of(ip);
        let mut table = self.lock();
        let count = table.entry(key).or_default().of(kind);
        if *count >= max {
            return None;
        }
        *count += 1;
        Some(Held {
            clients: Arc::clone(self),
            key,
            kind,
        })
    }

    /// The connections and requests from `ip`'s client now.
    pub fn counts(&self, ip: IpAddr) -> (usize, usize) {
        self.lock()
            .get(&ClientKey::of(ip))
            .map_or((0, 0), |counts| (counts.connections, counts.requests))
    }

    /// The table; a panic elsewhere while holding it left only counts, which stay usable.
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<ClientKey, Counts>> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn http_clients_are_bounded_each_on_its_own() {
        let clients = Clients::new(ClientBounds {
            connections_max: 2,
            requests_in_flight_max: 1,
        });
        let a = clients.admit_connection(ip("127.0.0.2")).unwrap();
        let b = clients.admit_connection(ip("127.0.0.2")).unwrap();
        assert!(clients.admit_connection(ip("127.0.0.2")).is_none());
        // Another address has its own bound.
        let other = clients.admit_connection(ip("127.0.0.1")).unwrap();
        let request = clients.admit_request(ip("127.0.0.2")).unwrap();
        let refused = clients.admit_request(ip("127.0.0.2")).unwrap_err();
        assert_eq!(refused.code(), SERVER_BUSY);
        assert_eq!(clients.counts(ip("127.0.0.2")), (2, 1));
        drop((a, request));
        assert_eq!(clients.counts(ip("127.0.0.2")), (1, 0));
        assert!(clients.admit_connection(ip("127.0.0.2")).is_some());
        drop((b, other));
        // Entries go with their last connection or request.
        assert!(clients.lock().is_empty());
    }

    #[test]
    fn http_an_ipv6_client_is_its_64_and_a_mapped_address_its_ipv4() {
        assert_eq!(
            ClientKey::of(ip("2001:db8:1:2:aaaa::1")),
            ClientKey::of(ip("2001:db8:1:2:bbbb::2"))
        );
        assert_ne!(
            ClientKey::of(ip("2001:db8:1:2::1")),
            ClientKey::of(ip("2001:db8:1:3::1"))
        );
        assert_eq!(
            ClientKey::of(ip("::ffff:10.0.0.1")),
            ClientKey::of(ip("10.0.0.1"))
        );
    }
}
