//! The bound on account openings per client address: opening an account costs the issuer a
//! durable record, and asks nothing but a fresh key, so one client could otherwise fill its DB.
//!
//! A fixed window per address: at most `per_client_max` openings in each
//! [`ACCOUNT_OPENS_WINDOW`]; the count restarts with the window. An IPv6 client is counted by its
//! /64, the block one host is usually given. The table of addresses is bounded too: once it holds
//! [`ACCOUNT_OPENS_CLIENTS_MAX`] addresses in a window, a new address is refused until the window
//! ends, so a flood of addresses costs memory once, not without bound. The caller passes the time
//! in, so the rule is tested without a clock.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::error::{ACCOUNT_OPENS_LIMITED, ApiError};

/// The window over which openings are counted.
pub const ACCOUNT_OPENS_WINDOW: Duration = Duration::from_secs(60);
/// Most client addresses counted in one window.
pub const ACCOUNT_OPENS_CLIENTS_MAX: usize = 16_384;

/// Why an opening is refused: retry once the window ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpensRefused {
    /// This address opened its bound in this window.
    ClientBound,
    /// The window already counts its bound of addresses.
    TableFull,
}

/// The openings counted per client address in the current window.
struct Window {
    started: Instant,
    counts: HashMap<IpAddr, u32>,
}

/// Account openings per client address, up to their bound.
pub struct AccountOpens {
    per_client_max: u32,
    window: Mutex<Window>,
}

impl AccountOpens {
    /// At most `per_client_max` openings per address and window, counted from `now`.
    pub fn new(per_client_max: u32, now: Instant) -> Self {
        Self {
            per_client_max,
            window: Mutex::new(Window {
                started: now,
                counts: HashMap::new(),
            }),
        }
    }

    /// Counts one opening by `client` at `now`, or says why it is refused.
    pub fn admit(&self, client: IpAddr, now: Instant) -> Result<(), OpensRefused> {
        // A poisoned lock only means another request panicked while counting: the counts are
        // still whole numbers, so keep using them.
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if now.saturating_duration_since(window.started) >= ACCOUNT_OPENS_WINDOW {
            window.started = now;
            window.counts.clear();
        }
        let key = counted_as(client);
        let table_full = window.counts.len() >= ACCOUNT_OPENS_CLIENTS_MAX;
        match window.counts.get_mut(&key) {
            Some(count) if *count >= self.per_client_max => Err(OpensRefused::ClientBound),
            Some(count) => {
                *count += 1;
                Ok(())
            }
            None if table_full => Err(OpensRefused::TableFull),
            None if self.per_client_max == 0 => Err(OpensRefused::ClientBound),
            None => {
                window.counts.insert(key, 1);
                Ok(())
            }
        }
    }
}

impl AccountOpens {
    /// [`AccountOpens::admit`], refused as the API answers it: 429 `account.opens_limited`,
    /// marked for `Retry-After`.
    pub fn admit_or_limited(&self, client: IpAddr, now: Instant) -> Result<(), ApiError> {
        self.admit(client, now).map_err(|refused| {
            let why = match refused {
                OpensRefused::ClientBound => "this address opened its bound of accounts",
                OpensRefused::TableFull => "too many addresses are opening accounts",
            };
            ApiError::new(
                ACCOUNT_OPENS_LIMITED,
                format!(
                    "{why} in this {} s window: retry later",
                    ACCOUNT_OPENS_WINDOW.as_secs()
                ),
            )
            .retryable(true)
        })
    }
}

/// The address a client is counted under: itself for IPv4, its /64 for IPv6.
fn counted_as(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(Ipv6Addr::from(prefix))
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_account_opens_are_bounded_per_address_and_window() {
        let start = Instant::now();
        let opens = AccountOpens::new(2, start);
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        assert_eq!(opens.admit(a, start), Ok(()));
        assert_eq!(opens.admit(a, start), Ok(()));
        assert_eq!(opens.admit(a, start), Err(OpensRefused::ClientBound));
        // Another address has its own count.
        assert_eq!(opens.admit(b, start), Ok(()));
        // The next window starts afresh.
        let later = start + ACCOUNT_OPENS_WINDOW;
        assert_eq!(opens.admit(a, later), Ok(()));
    }

    #[test]
    fn http_account_opens_count_an_ipv6_client_by_its_64() {
        let start = Instant::now();
        let opens = AccountOpens::new(1, start);
        let one: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let same_64: IpAddr = "2001:db8:1:2:ffff::9".parse().unwrap();
        let other_64: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(opens.admit(one, start), Ok(()));
        assert_eq!(opens.admit(same_64, start), Err(OpensRefused::ClientBound));
        assert_eq!(opens.admit(other_64, start), Ok(()));
    }

    #[test]
    fn http_account_opens_table_is_bounded() {
        let start = Instant::now();
        let opens = AccountOpens::new(1, start);
        for i in 0..ACCOUNT_OPENS_CLIENTS_MAX as u32 {
            let client = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            assert_eq!(opens.admit(client, start), Ok(()));
        }
        let newcomer: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(opens.admit(newcomer, start), Err(OpensRefused::TableFull));
        assert_eq!(opens.admit(newcomer, start + ACCOUNT_OPENS_WINDOW), Ok(()));
    }
}
