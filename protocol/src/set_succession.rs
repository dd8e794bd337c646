//! What a denomination set may change of the one before it. The offline master-key tool checks a
//! set against the last one it signed before signing it, and the issuer checks an uploaded set
//! against the one it publishes before taking it: the same rules on both sides of the air gap.
//!
//! A successor is the same issuer's, newer (a greater `sequence`), lists every denomination the
//! previous one listed (coins in wallets stay depositable and recoupable), and undoes no
//! revocation (revocation is final). It may add denominations and revocations.

use crate::denomination::DenominationSet;
use crate::ids::DenominationId;

/// Why a set may not follow another. Each variant has a stable [`SuccessionRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SuccessionRefusal {
    /// The set is another issuer's.
    #[error("the set is bank {found}'s, not {expected}'s")]
    WrongIssuer {
        /// The issuer expected.
        expected: crate::ids::BankId,
        /// The set's issuer.
        found: crate::ids::BankId,
    },
    /// The set is not newer than the previous one.
    #[error("the set's sequence {found} is not above {previous}, the last one's: it is stale")]
    NotNewer {
        /// The previous set's sequence.
        previous: u64,
        /// This set's.
        found: u64,
    },
    /// The set leaves out a denomination the previous one listed.
    #[error("the set leaves out denomination {0}, which the last set listed")]
    DropsDenomination(DenominationId),
    /// The set no longer lists a revoked denomination as revoked.
    #[error("the set undoes the revocation of denomination {0}: revocation is final")]
    Unrevokes(DenominationId),
    /// The set revokes a denomination it does not list.
    #[error("the set revokes denomination {0}, which it does not list")]
    RevokesUnlisted(DenominationId),
}

impl SuccessionRefusal {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::WrongIssuer { .. } => "set.wrong_issuer",
            Self::NotNewer { .. } => "set.not_newer",
            Self::DropsDenomination(_) => "set.drops_denomination",
            Self::Unrevokes(_) => "set.unrevokes",
            Self::RevokesUnlisted(_) => "set.revokes_unlisted",
        }
    }
}

/// Checks that `next` may follow `previous` (`None`: the issuer's first set) as the set of
/// `issuer`.
pub fn check_successor(
    issuer: crate::ids::BankId,
    previous: Option<&DenominationSet>,
    next: &DenominationSet,
) -> Result<(), SuccessionRefusal> {
    let fields = next.fields();
    if fields.issuer != issuer {
        return Err(SuccessionRefusal::WrongIssuer {
            expected: issuer,
            found: fields.issuer,
        });
    }
    let listed = |id: &DenominationId| fields.denominations.iter().any(|d| d.id() == *id);
    if let Some(id) = fields.revoked.iter().find(|id| !listed(id)) {
        return Err(SuccessionRefusal::RevokesUnlisted(*id));
    }
    let Some(previous) = previous else {
        return Ok(());
    };
    let before = previous.fields();
    if fields.sequence <= before.sequence {
        return Err(SuccessionRefusal::NotNewer {
            previous: before.sequence,
            found: fields.sequence,
        });
    }
    if let Some(dropped) = before.denominations.iter().find(|d| !listed(&d.id())) {
        return Err(SuccessionRefusal::DropsDenomination(dropped.id()));
    }
    if let Some(id) = before.revoked.iter().find(|id| !next.is_revoked(id)) {
        return Err(SuccessionRefusal::Unrevokes(*id));
    }
    Ok(())
}

/// The denominations `next` revokes that `previous` did not: what taking `next` revokes.
pub fn newly_revoked(
    previous: Option<&DenominationSet>,
    next: &DenominationSet,
) -> Vec<DenominationId> {
    next.fields()
        .revoked
        .iter()
        .filter(|id| previous.is_none_or(|previous| !previous.is_revoked(id)))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::denomination::DenominationSetFields;
    use crate::test_keys::{self, ISSUER, NOW};

    fn set(sequence: u64, values: &[&str], revoked: &[usize]) -> DenominationSet {
        let keys = [test_keys::rsa_2048(), test_keys::rsa_2048_other()];
        let denominations: Vec<_> = values
            .iter()
            .zip(keys)
            .map(|(value, key)| test_keys::denomination(value, key))
            .collect();
        let revoked: Vec<_> = revoked.iter().map(|i| denominations[*i].id()).collect();
        DenominationSet::new(DenominationSetFields {
            issuer: ISSUER,
            sequence,
            issued_at: NOW,
            denominations: denominations.try_into().unwrap(),
            revoked: revoked.try_into().unwrap(),
        })
        .unwrap()
    }

    #[test]
    fn a_successor_is_newer_keeps_every_denomination_and_every_revocation() {
        let first = set(1, &["EUR:1.00"], &[]);
        check_successor(ISSUER, None, &first).unwrap();
        let grown = set(2, &["EUR:1.00", "EUR:2.00"], &[0]);
        check_successor(ISSUER, Some(&first), &grown).unwrap();
        assert_eq!(
            newly_revoked(Some(&first), &grown),
            vec![grown.fields().denominations[0].id()]
        );
        assert!(newly_revoked(Some(&grown), &set(3, &["EUR:1.00", "EUR:2.00"], &[0])).is_empty());

        let refusal = |previous: &DenominationSet, next: &DenominationSet| {
            check_successor(ISSUER, Some(previous), next)
                .unwrap_err()
                .code()
        };
        assert_eq!(
            refusal(&grown, &set(2, &["EUR:1.00", "EUR:2.00"], &[0])),
            "set.not_newer"
        );
        assert_eq!(
            refusal(&grown, &set(3, &["EUR:1.00"], &[0])),
            "set.drops_denomination"
        );
        assert_eq!(
            refusal(&grown, &set(3, &["EUR:1.00", "EUR:2.00"], &[])),
            "set.unrevokes"
        );
        assert_eq!(
            check_successor(crate::ids::BankId([9; 16]), None, &first)
                .unwrap_err()
                .code(),
            "set.wrong_issuer"
        );
    }

    #[test]
    fn a_set_may_not_revoke_what_it_does_not_list() {
        let mut fields = set(1, &["EUR:1.00"], &[]).fields().clone();
        fields.revoked = vec![DenominationId([7; 32])].try_into().unwrap();
        let unlisted = DenominationSet::new(fields).unwrap();
        assert_eq!(
            check_successor(ISSUER, None, &unlisted).unwrap_err().code(),
            "set.revokes_unlisted"
        );
    }
}
