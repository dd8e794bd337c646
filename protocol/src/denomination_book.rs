//! What an issuer (or acquirer) knows of denominations: each one's state, and whether it may be
//! withdrawn or deposited now.

use std::collections::{HashMap, HashSet};

use crate::batch_verifier::DenominationLookup;
use crate::denomination::{Denomination, DenominationSet};
use crate::ids::DenominationId;
use crate::time::Timestamp;

/// Why a denomination may not be used now. Each variant has a stable [`DenominationRefusal::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DenominationRefusal {
    /// No such denomination.
    #[error("unknown denomination")]
    Unknown,
    /// The issuer revoked it: its coins are refused.
    #[error("denomination revoked")]
    Revoked,
    /// Its windows have not opened yet.
    #[error("denomination not yet valid")]
    NotYetValid,
    /// Its withdraw window has closed.
    #[error("denomination withdraw window closed")]
    WithdrawExpired,
    /// Its deposit window has closed.
    #[error("denomination deposit window closed")]
    DepositExpired,
}

impl DenominationRefusal {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Unknown => "denomination.unknown",
            Self::Revoked => "denomination.revoked",
            Self::NotYetValid => "denomination.not_yet_valid",
            Self::WithdrawExpired => "denomination.withdraw_expired",
            Self::DepositExpired => "denomination.deposit_expired",
        }
    }
}

/// Denominations by id, and which are revoked.
#[derive(Clone, Debug, Default)]
pub struct DenominationBook {
    denominations: HashMap<DenominationId, Denomination>,
    revoked: HashSet<DenominationId>,
}

impl DenominationBook {
    /// An empty book.
    pub fn new() -> Self {
        Self::default()
    }

    /// The book of a published set.
    pub fn from_set(set: &DenominationSet) -> Self {
        let mut book = Self::new();
        book.add_set(set);
        book
    }

    /// Adds every denomination of a published set, and its revocations: how an acquirer builds
    /// one book of several issuers' sets.
    pub fn add_set(&mut self, set: &DenominationSet) {
        for denomination in set.fields().denominations.iter() {
            self.add(denomination.clone());
        }
        for id in set.fields().revoked.iter() {
            self.revoke(*id);
        }
    }

    /// Adds (or replaces) a denomination.
    pub fn add(&mut self, denomination: Denomination) {
        self.denominations.insert(denomination.id(), denomination);
    }

    /// The denomination `id`, whatever its state.
    pub fn get(&self, id: &DenominationId) -> Option<&Denomination> {
        self.denominations.get(id)
    }

    /// Marks a denomination revoked. Revocation is final.
    pub fn revoke(&mut self, id: DenominationId) {
        self.revoked.insert(id);
    }

    /// Whether `id` is revoked.
    pub fn is_revoked(&self, id: &DenominationId) -> bool {
        self.revoked.contains(id)
    }

    /// Every denomination, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Denomination> {
        self.denominations.values()
    }

    /// Revoked ids, in no particular order.
    pub fn revoked(&self) -> impl Iterator<Item = &DenominationId> {
        self.revoked.iter()
    }

    /// The denomination, if coins of it may be withdrawn at `now`.
    pub fn withdrawable(
        &self,
        id: &DenominationId,
        now: Timestamp,
    ) -> Result<&Denomination, DenominationRefusal> {
        let denomination = self.usable(id, now)?;
        if denomination.can_withdraw(now) {
            Ok(denomination)
        } else {
            Err(DenominationRefusal::WithdrawExpired)
        }
    }

    /// The denomination, if coins of it may be deposited at `now`.
    pub fn depositable(
        &self,
        id: &DenominationId,
        now: Timestamp,
    ) -> Result<&Denomination, DenominationRefusal> {
        let denomination = self.usable(id, now)?;
        if denomination.can_deposit(now) {
            Ok(denomination)
        } else {
            Err(DenominationRefusal::DepositExpired)
        }
    }

    fn usable(
        &self,
        id: &DenominationId,
        now: Timestamp,
    ) -> Result<&Denomination, DenominationRefusal> {
        let denomination = self
            .denominations
            .get(id)
            .ok_or(DenominationRefusal::Unknown)?;
        if self.revoked.contains(id) {
            return Err(DenominationRefusal::Revoked);
        }
        if now < denomination.fields().valid_from {
            return Err(DenominationRefusal::NotYetValid);
        }
        Ok(denomination)
    }
}

impl DenominationLookup for DenominationBook {
    fn denomination(&self, id: &DenominationId) -> Option<&Denomination> {
        self.denominations.get(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_keys::{self, NOW};

    #[test]
    fn windows_and_revocation_give_distinct_refusals() {
        let d = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
        let f = d.fields().clone();
        let mut book = DenominationBook::new();
        book.add(d.clone());
        let id = d.id();
        assert!(book.withdrawable(&id, NOW).is_ok() && book.depositable(&id, NOW).is_ok());
        let early = Timestamp::from_unix_ms(f.valid_from.unix_ms() - 1);
        assert_eq!(
            book.withdrawable(&id, early).unwrap_err().code(),
            "denomination.not_yet_valid"
        );
        assert_eq!(
            book.withdrawable(&id, f.withdraw_until),
            Err(DenominationRefusal::WithdrawExpired)
        );
        assert!(book.depositable(&id, f.withdraw_until).is_ok());
        assert_eq!(
            book.depositable(&id, f.deposit_until),
            Err(DenominationRefusal::DepositExpired)
        );
        assert_eq!(
            book.depositable(&DenominationId([0; 32]), NOW),
            Err(DenominationRefusal::Unknown)
        );
        book.revoke(id);
        assert_eq!(
            book.withdrawable(&id, NOW),
            Err(DenominationRefusal::Revoked)
        );
        assert_eq!(
            book.depositable(&id, NOW).unwrap_err().code(),
            "denomination.revoked"
        );
    }
}
