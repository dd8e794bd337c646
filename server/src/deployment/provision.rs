//! Provisioning a bank before it starts: its link identity, each role's signing keys and its
//! public card, made once and kept under the bank's directory. Existing keys are always reused;
//! the card is rewritten from them, with the next link certificate too during a rotation. A
//! reload provisions again, so that it reads what a rotation step changed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use semper_actors::acquirer::AcquirerState;
use semper_actors::clearing::ClearingState;
use semper_actors::clock::Clock;
use semper_actors::issuer::{IssuerConfig, IssuerState};
use semper_link::Identity;

use super::DeployError;
use super::roles::{self, Directory};
use crate::config::{BankCard, BankSection, CARD_FILE, Config, IssuerCard, IssuerSection};
use crate::keytool::{self, IdentityFiles};

/// A provisioned bank: its identity on the link and its public card.
pub struct ProvisionedBank {
    /// Its certificate and TLS key.
    pub identity: Identity,
    /// What its peers need of it.
    pub card: BankCard,
    /// Where its card was written.
    pub card_path: PathBuf,
}

/// The directory of `role`'s DB and keys within a bank's directory.
pub fn role_dir(bank_dir: &Path, role: &str) -> PathBuf {
    bank_dir.join(role)
}

/// Makes (or reuses) `bank`'s identity and role keys, and writes its card.
pub fn provision(config: &Config, bank: &BankSection) -> Result<ProvisionedBank, DeployError> {
    let fail = |problem: String| DeployError::provision(&bank.name, problem);
    let dir = config.bank_dir(bank);
    std::fs::create_dir_all(&dir)
        .map_err(|error| fail(format!("cannot create {}: {error}", dir.display())))?;
    let identity = identity(bank, &dir, config.link.certificate_days)
        .map_err(|error| fail(error.to_string()))?;
    let next =
        next_identity(bank, &dir).map_err(|error| fail(format!("next identity: {error}")))?;
    let issuer = match &bank.issuer {
        Some(section) => {
            let config = roles::issuer(bank.id, &dir, section, &Directory { cards: &[] }, None);
            let clock: Arc<dyn Clock> = Arc::new(semper_actors::clock::SystemClock);
            let keys =
                IssuerState::provision(&config.data_dir, &config.signer, &config.master, clock)
                    .map_err(|error| fail(format!("issuer keys: {error}")))?;
            Some(IssuerCard {
                master_key: keys.master,
                confirmation_key: keys.confirmation,
            })
        }
        None => None,
    };
    let acquirer_key = match &bank.acquirer {
        Some(_) => Some(
            AcquirerState::provision(&role_dir(&dir, "acquirer"))
                .map_err(|error| fail(format!("acquirer key: {error}")))?,
        ),
        None => None,
    };
    let clearing_key = match &bank.clearing {
        Some(_) => Some(
            ClearingState::provision(&role_dir(&dir, "clearing"))
                .map_err(|error| fail(format!("clearing key: {error}")))?,
        ),
        None => None,
    };
    let card = BankCard {
        name: bank.name.clone(),
        id: bank.id,
        certificate: hex::encode(identity.certificate().as_ref()),
        next_certificate: next.map(|next| hex::encode(next.certificate().as_ref())),
        link_addrs: bank.link_advertise.clone(),
        issuer,
        acquirer_key,
        clearing_key,
    };
    let card_path = dir.join(CARD_FILE);
    card.write(&card_path)
        .map_err(|error| fail(format!("cannot write {}: {error}", card_path.display())))?;
    Ok(ProvisionedBank {
        identity,
        card,
        card_path,
    })
}

/// The bank's link identity from its directory, made first when it has none.
fn identity(
    bank: &BankSection,
    dir: &Path,
    certificate_days: u32,
) -> Result<Identity, semper_link::IdentityError> {
    let files = IdentityFiles::current(dir);
    if !files.key.exists() {
        keytool::create_link_identity(bank.id, dir, certificate_days)?;
    }
    files.load(bank.id)
}

/// The bank's next link identity during a rotation (its certificate goes on the card), checked
/// as the current one is.
fn next_identity(
    bank: &BankSection,
    dir: &Path,
) -> Result<Option<Identity>, semper_link::IdentityError> {
    let files = IdentityFiles::next(dir);
    if !files.certificate.exists() && !files.key.exists() {
        return Ok(None);
    }
    files.load(bank.id).map(Some)
}

/// Opens `bank`'s issuer once, which makes the denomination keys its schedule needs ahead, and
/// closes it; returns how many denominations its published set lists (none yet when the master
/// key is offline: they await the ceremony).
pub fn make_denomination_keys(
    config: &Config,
    bank: &BankSection,
    section: &IssuerSection,
    clock: Arc<dyn Clock>,
) -> Result<usize, DeployError> {
    let directory = Directory { cards: &[] };
    let issuer_config = IssuerConfig {
        store: bank.store_location(),
        ..roles::issuer(bank.id, &config.bank_dir(bank), section, &directory, None)
    };
    let state = IssuerState::open(&issuer_config, clock).map_err(|error| {
        DeployError::provision(&bank.name, format!("denomination keys: {error}"))
    })?;
    let count = state
        .published_set()
        .map_or(0, |set| set.body().fields().denominations.len());
    Ok(count)
}
