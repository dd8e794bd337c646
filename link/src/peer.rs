//! Who is on the other end of a link: a bank and the roles it is trusted in.

use std::fmt;
use std::str::FromStr;

use semper_protocol::ids::BankId;

/// A role a bank plays towards the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// A bank that mints coins and checks their spending.
    Issuer,
    /// A merchants' bank that deposits coins.
    Acquirer,
    /// The clearing house between banks.
    Clearing,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 3] = [Role::Issuer, Role::Acquirer, Role::Clearing];

    /// The role's name in config files.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Issuer => "issuer",
            Self::Acquirer => "acquirer",
            Self::Clearing => "clearing",
        }
    }

    fn bit(self) -> u8 {
        match self {
            Self::Issuer => 1,
            Self::Acquirer => 2,
            Self::Clearing => 4,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|role| role.as_str() == s)
            .ok_or_else(|| format!("unknown role {s:?}: expected issuer, acquirer or clearing"))
    }
}

/// A set of roles: one process can host any mix of them.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct RoleSet(u8);

impl RoleSet {
    /// No role.
    pub const EMPTY: RoleSet = RoleSet(0);

    /// The set of the given roles.
    pub fn of(roles: &[Role]) -> Self {
        roles.iter().fold(Self::EMPTY, |set, &role| set.with(role))
    }

    /// This set with `role` added.
    pub fn with(self, role: Role) -> Self {
        Self(self.0 | role.bit())
    }

    /// Whether the set holds `role`.
    pub fn contains(self, role: Role) -> bool {
        self.0 & role.bit() != 0
    }

    /// The roles in the set, in [`Role::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = Role> {
        Role::ALL
            .into_iter()
            .filter(move |&role| self.contains(role))
    }
}

impl fmt::Debug for RoleSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// An authenticated peer: the bank whose pinned certificate it presented, and that bank's roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerIdentity {
    bank: BankId,
    roles: RoleSet,
}

impl PeerIdentity {
    /// A peer identity; the QUIC carrier makes these only from its trust store.
    pub fn new(bank: BankId, roles: RoleSet) -> Self {
        Self { bank, roles }
    }

    /// The peer's bank.
    pub fn bank(&self) -> BankId {
        self.bank
    }

    /// The roles the peer is trusted in.
    pub fn roles(&self) -> RoleSet {
        self.roles
    }

    /// Whether the peer is trusted in `role`; the application refuses a peer in the wrong role.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_sets_hold_what_was_put_in() {
        let set = RoleSet::of(&[Role::Issuer, Role::Clearing]);
        assert!(set.contains(Role::Issuer) && set.contains(Role::Clearing));
        assert!(!set.contains(Role::Acquirer));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Role::Issuer, Role::Clearing]
        );
        assert_eq!(format!("{set:?}"), "{Issuer, Clearing}");
    }

    #[test]
    fn roles_parse_from_their_names() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("bank".parse::<Role>().is_err());
    }
}
