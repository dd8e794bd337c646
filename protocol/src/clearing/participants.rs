//! The banks a clearing house knows: who may submit (acquirers, by their bank key) and whose
//! confirmations it counts (issuers, by their confirmation key).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::crypto::ed25519::VerifyingKey;
use crate::ids::BankId;

/// One registered bank. Its roles are the keys it has: a bank can issue, acquire, or both.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Participant {
    /// The bank.
    pub bank: BankId,
    /// The bank key that signs its settlement submissions, when it acquires.
    pub acquirer_key: Option<VerifyingKey>,
    /// The key that signs its spend confirmations, when it issues.
    pub issuer_key: Option<VerifyingKey>,
}

/// A participant list was refused. It has a stable [`ParticipantError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParticipantError {
    /// A bank is listed twice: which of its entries holds is unclear.
    #[error("participant {0} is listed twice")]
    Duplicate(BankId),
}

impl ParticipantError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Duplicate(_) => "participants.duplicate",
        }
    }
}

/// The registered participants, by bank id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Participants {
    by_bank: BTreeMap<BankId, Participant>,
}

impl Participants {
    /// The participants of `list`, each bank at most once.
    pub fn new(list: impl IntoIterator<Item = Participant>) -> Result<Self, ParticipantError> {
        let mut by_bank = BTreeMap::new();
        for participant in list {
            let bank = participant.bank;
            if by_bank.insert(bank, participant).is_some() {
                return Err(ParticipantError::Duplicate(bank));
            }
        }
        Ok(Self { by_bank })
    }

    /// The key `bank` signs submissions with, if it is a registered acquirer.
    pub fn acquirer_key(&self, bank: &BankId) -> Option<&VerifyingKey> {
        self.by_bank.get(bank)?.acquirer_key.as_ref()
    }

    /// The key `bank` signs confirmations with, if it is a registered issuer.
    pub fn issuer_key(&self, bank: &BankId) -> Option<&VerifyingKey> {
        self.by_bank.get(bank)?.issuer_key.as_ref()
    }

    /// Every registered bank, in id order: who gets each report.
    pub fn banks(&self) -> impl Iterator<Item = BankId> + '_ {
        self.by_bank.keys().copied()
    }
}
