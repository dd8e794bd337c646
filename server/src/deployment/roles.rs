//! Each role's actor config, from its config section and the cards of the banks it deals with.

use std::path::Path;
use std::time::Duration;

use semper_actors::acquirer::{AcquirerConfig, TrustedClearing, TrustedIssuer};
use semper_actors::clearing::ClearingConfig;
use semper_actors::issuer::config::SignerChoice;
use semper_actors::issuer::{DenominationSchedule, IssuerConfig, MasterKey};
use semper_actors::retry::RetryConfig;
use semper_actors::signer::SignerLimits;
use semper_link::Limits;
use semper_protocol::clearing::Participant;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::ids::BankId;
use semper_storage::CommitConfig;

use super::provision::role_dir;
use crate::config::{
    AcquirerSection, BankCard, ClearingSection, CommitSection, IssuerSection, LinkSection,
    RetrySection, spent_shards_config,
};

/// The banks a role deals with: every card known to the process, its own included.
pub struct Directory<'a> {
    /// Every known card.
    pub cards: &'a [BankCard],
}

impl Directory<'_> {
    /// The issuers' cards.
    pub fn issuers(&self) -> impl Iterator<Item = (BankId, &crate::config::IssuerCard)> {
        self.cards
            .iter()
            .filter_map(|card| card.issuer.as_ref().map(|keys| (card.id, keys)))
    }

    /// The acquirers' ids and keys.
    pub fn acquirers(
        &self,
    ) -> impl Iterator<Item = (BankId, semper_protocol::crypto::ed25519::VerifyingKey)> {
        self.cards
            .iter()
            .filter_map(|card| card.acquirer_key.map(|key| (card.id, key)))
    }

    /// The clearing house, when exactly one is known; the ids of all when several are.
    pub fn clearing(&self) -> Result<Option<TrustedClearing>, Vec<BankId>> {
        let found: Vec<TrustedClearing> = self
            .cards
            .iter()
            .filter_map(|card| {
                card.clearing_key
                    .map(|key| TrustedClearing { id: card.id, key })
            })
            .collect();
        match found.as_slice() {
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            many => Err(many.iter().map(|clearing| clearing.id).collect()),
        }
    }

    /// The banks other than `clearing` that issue or acquire: the clearing house's participants.
    pub fn participants(&self, clearing: BankId) -> impl Iterator<Item = &BankCard> {
        self.cards.iter().filter(move |card| {
            card.id != clearing && (card.issuer.is_some() || card.acquirer_key.is_some())
        })
    }
}

/// The issuer's actor config.
pub fn issuer(
    id: BankId,
    bank_dir: &Path,
    section: &IssuerSection,
    directory: &Directory<'_>,
    clearing: Option<TrustedClearing>,
) -> IssuerConfig {
    let data_dir = role_dir(bank_dir, "issuer");
    IssuerConfig {
        id,
        spent_shards: spent_shards_config(&section.spent_shards, &data_dir),
        data_dir,
        store: None,
        signer: match &section.signer_socket {
            Some(socket) => SignerChoice::Socket(socket.clone()),
            None => SignerChoice::InProcess(SignerLimits::default()),
        },
        master: match section.master_key {
            Some(key) => MasterKey::Offline(key),
            None => MasterKey::Local,
        },
        commit: commit(&section.commit),
        pool_threads: section.pool_threads,
        mailbox_capacity: section.mailbox_capacity,
        in_flight_max: section.in_flight_max,
        schedule: DenominationSchedule {
            values: section.denominations.clone(),
            fees: section
                .fees
                .iter()
                .map(|fees| (fees.value, fees.fees()))
                .collect(),
            // Checked by the config's validation: 2048 or 3072.
            key_size: RsaKeySize::from_bits(section.rsa_bits).unwrap_or(RsaKeySize::Bits2048),
            withdraw_period_ms: section.withdraw_period_ms,
            deposit_grace_ms: section.deposit_grace_ms,
            retention_ms: section.retention_ms,
            lookahead_ms: section.lookahead_ms,
            rotation_check_ms: section.rotation_check_ms,
        },
        acquirers: directory.acquirers().collect(),
        clearing: clearing.map(|clearing| (clearing.id, clearing.key)),
    }
}

/// The acquirer's actor config.
pub fn acquirer(
    id: BankId,
    bank_dir: &Path,
    section: &AcquirerSection,
    directory: &Directory<'_>,
    clearing: TrustedClearing,
) -> AcquirerConfig {
    AcquirerConfig {
        id,
        data_dir: role_dir(bank_dir, "acquirer"),
        store: None,
        commit: commit(&section.commit),
        pool_threads: section.pool_threads,
        mailbox_capacity: section.mailbox_capacity,
        in_flight_max: section.in_flight_max,
        batch_max_coins: section.batch_max_coins,
        batch_max_delay_ms: section.batch_max_delay_ms,
        issuers: directory
            .issuers()
            .map(|(id, keys)| TrustedIssuer {
                id,
                master_key: keys.master_key,
                confirmation_key: keys.confirmation_key,
            })
            .collect(),
        spend_retry: retry(&section.spend_retry),
        clearing,
        submission_max_confirmations: section.submission_max_confirmations,
        submit_interval_ms: section.submit_interval_ms,
        submit_retry: retry(&section.submit_retry),
    }
}

/// The clearing house's actor config: every other bank that issues or acquires participates.
pub fn clearing(
    id: BankId,
    bank_dir: &Path,
    section: &ClearingSection,
    directory: &Directory<'_>,
) -> ClearingConfig {
    let participants = directory
        .participants(id)
        .map(|card| Participant {
            bank: card.id,
            acquirer_key: card.acquirer_key,
            issuer_key: card.issuer.map(|keys| keys.confirmation_key),
        })
        .collect();
    ClearingConfig {
        id,
        data_dir: role_dir(bank_dir, "clearing"),
        store: None,
        commit: commit(&section.commit),
        pool_threads: section.pool_threads,
        mailbox_capacity: section.mailbox_capacity,
        in_flight_max: section.in_flight_max,
        participants,
        cycle_max_ms: section.cycle_max_ms,
        cycle_max_submissions: section.cycle_max_submissions,
        cycle_check_ms: section.cycle_check_ms,
        delivery: retry(&section.delivery),
    }
}

/// The link bounds.
pub fn limits(link: &LinkSection) -> Limits {
    Limits {
        request_timeout: Duration::from_millis(link.request_timeout_ms),
        max_in_flight: link.in_flight_max,
    }
}

fn commit(section: &CommitSection) -> CommitConfig {
    CommitConfig {
        group_max_transactions: section.group_max_transactions,
        group_max_wait_us: section.group_max_wait_us,
        queue_max_transactions: section.queue_max_transactions,
    }
}

fn retry(section: &RetrySection) -> RetryConfig {
    RetryConfig {
        attempts_max: section.attempts_max,
        backoff_initial_ms: section.backoff_initial_ms,
        backoff_max_ms: section.backoff_max_ms,
    }
}
