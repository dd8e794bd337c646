//! Denomination keys: generated ahead of need and rotated as windows pass. A new key is
//! published once the master key signs a set that lists it ([`super::publish`]).

use semper_protocol::denomination::Denomination;
use semper_protocol::ids::DenominationId;
use semper_protocol::time::Timestamp;
use semper_storage::denominations::{SaveDenomination, StoredDenomination};

use super::error::IssuerError;
use super::publish;
use super::state::IssuerState;
use crate::signer::DenominationSpec;

/// Makes sure every value of the schedule has keys withdrawable up to `now + lookahead`,
/// generating the next ones back to back; with a local master key, publishes them at once.
/// Blocks on key generation and a durable write: run it on the pool or at start, never on an
/// actor's thread.
pub fn ensure_ahead(
    state: &IssuerState,
    now: Timestamp,
) -> Result<Vec<DenominationId>, IssuerError> {
    let created = make_ahead(state, now)?;
    publish::publish_locally(state, now)?;
    Ok(created)
}

fn make_ahead(state: &IssuerState, now: Timestamp) -> Result<Vec<DenominationId>, IssuerError> {
    let _one_change_at_a_time = state
        .lifecycle_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let schedule = &state.schedule;
    let horizon = now.plus_ms(schedule.lookahead_ms);
    let mut created = Vec::new();
    for value in &schedule.values {
        loop {
            let covered_until = {
                let denominations = state.denominations();
                denominations
                    .made
                    .iter()
                    .filter(|d| d.value() == *value && !denominations.made.is_revoked(&d.id()))
                    .map(|d| d.fields().withdraw_until)
                    .max()
            };
            let start = match covered_until {
                Some(until) if until > horizon => break,
                Some(until) if until > now => until,
                _ => now,
            };
            let withdraw_until = start.plus_ms(schedule.withdraw_period_ms.max(1));
            let deposit_until = withdraw_until.plus_ms(schedule.deposit_grace_ms);
            // The signer makes the key and keeps it: the issuer gets the denomination, whose
            // public key is all it needs to verify.
            let denomination = state.signer.create_denomination(&DenominationSpec {
                issuer: state.id,
                value: *value,
                key_size: schedule.key_size,
                valid_from: start,
                withdraw_until,
                deposit_until,
                retain_until: deposit_until.plus_ms(schedule.retention_ms),
            })?;
            let id = denomination.id();
            save(state, denomination)?;
            created.push(id);
        }
    }
    Ok(created)
}

/// Stores a new denomination durably, then adds it to those made. It is published with the next
/// set the master key signs (at once when the key is local).
fn save(state: &IssuerState, denomination: Denomination) -> Result<(), IssuerError> {
    let stored = StoredDenomination {
        denomination: denomination.clone(),
        revoked: false,
    };
    let sequence = state.committer.execute(SaveDenomination(stored))?;
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    denominations.made.add(denomination);
    denominations.sequence = sequence;
    Ok(())
}
