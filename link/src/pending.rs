//! The bounds on handshakes under way on a link server: in all, and from one source address.
//!
//! A handshake costs the server state before the peer has proved anything, so an attacker that
//! starts handshakes and never finishes them must run into a bound of its own, not into the one
//! an honest bank needs: the per-address bound is what keeps one source from using up the total.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

/// Why a handshake was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PendingRefusal {
    /// The bound on handshakes under way in all is reached.
    Full,
    /// The bound on handshakes under way from this source address is reached.
    AddressFull,
}

/// Counts handshakes under way, in all and per source address.
#[derive(Debug)]
pub(crate) struct PendingHandshakes {
    total_max: usize,
    per_address_max: usize,
    counts: Mutex<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    /// Only addresses with a handshake under way: at most `total_max` entries.
    by_address: HashMap<IpAddr, usize>,
}

impl PendingHandshakes {
    /// Bounds of `total_max` handshakes in all and `per_address_max` from one address.
    pub(crate) fn new(total_max: usize, per_address_max: usize) -> Arc<Self> {
        Arc::new(Self {
            total_max,
            per_address_max,
            counts: Mutex::new(Counts::default()),
        })
    }

    /// Admits a handshake from `address`, counted until the guard is dropped.
    pub(crate) fn admit(self: &Arc<Self>, address: IpAddr) -> Result<PendingGuard, PendingRefusal> {
        // An IPv4 peer seen through an IPv6 socket is the same source as over IPv4.
        let address = address.to_canonical();
        let mut counts = self.lock();
        if counts.total >= self.total_max {
            return Err(PendingRefusal::Full);
        }
        let from_address = counts.by_address.entry(address).or_insert(0);
        if *from_address >= self.per_address_max {
            return Err(PendingRefusal::AddressFull);
        }
        *from_address += 1;
        counts.total += 1;
        Ok(PendingGuard {
            pending: self.clone(),
            address,
        })
    }

    /// Handshakes under way in all.
    #[cfg(test)]
    fn total(&self) -> usize {
        self.lock().total
    }

    fn release(&self, address: IpAddr) {
        let mut counts = self.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(from_address) = counts.by_address.get_mut(&address) {
            *from_address = from_address.saturating_sub(1);
            if *from_address == 0 {
                counts.by_address.remove(&address);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        self.counts
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One handshake under way; dropping it frees its place in both bounds.
#[derive(Debug)]
pub(crate) struct PendingGuard {
    pending: Arc<PendingHandshakes>,
    address: IpAddr,
}

impl Drop for PendingGuard {
    fn drop(&mut self) {
        self.pending.release(self.address);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_fills_its_own_bound_not_the_total() {
        let pending = PendingHandshakes::new(4, 2);
        let (a, b): (IpAddr, IpAddr) = ([127, 0, 0, 2].into(), [127, 0, 0, 1].into());
        let held = [pending.admit(a).unwrap(), pending.admit(a).unwrap()];
        assert_eq!(pending.admit(a).unwrap_err(), PendingRefusal::AddressFull);
        let honest = pending.admit(b).unwrap();
        let other = pending.admit(b).unwrap();
        assert_eq!(
            pending.admit([10, 0, 0, 1].into()).unwrap_err(),
            PendingRefusal::Full
        );
        drop(held);
        drop((honest, other));
        assert_eq!(pending.total(), 0);
        assert!(
            pending.lock().by_address.is_empty(),
            "no entry outlives its handshakes"
        );
    }

    #[test]
    fn a_mapped_ipv4_address_counts_as_itself() {
        let pending = PendingHandshakes::new(4, 1);
        let _held = pending.admit([127, 0, 0, 2].into()).unwrap();
        let mapped: IpAddr = "::ffff:127.0.0.2".parse().unwrap();
        assert_eq!(
            pending.admit(mapped).unwrap_err(),
            PendingRefusal::AddressFull
        );
    }
}
