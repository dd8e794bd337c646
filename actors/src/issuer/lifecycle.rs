//! Denomination keys: generated ahead of need, rotated as windows pass, revoked on demand, and
//! published as a set signed by the master key.

use std::sync::Arc;

use semper_protocol::denomination::{
    Denomination, DenominationSet, DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::{BankId, DenominationId};
use semper_protocol::time::Timestamp;
use semper_storage::denominations::{SaveDenomination, StoredDenomination};

use super::error::IssuerError;
use super::state::IssuerState;
use crate::signer::{DenominationSpec, Signer};

/// Has the signer sign the set of every denomination in `book`, ordered by start of validity
/// then id.
pub fn sign_set(
    issuer: BankId,
    signer: &dyn Signer,
    book: &DenominationBook,
    sequence: u64,
    now: Timestamp,
) -> Result<SignedDenominationSet, IssuerError> {
    let mut denominations: Vec<Denomination> = book.iter().cloned().collect();
    denominations.sort_by_key(|d| (d.fields().valid_from, d.id()));
    let mut revoked: Vec<DenominationId> = book.revoked().copied().collect();
    revoked.sort();
    let too_many = |_| IssuerError::TooManyDenominations;
    let set = DenominationSet::new(DenominationSetFields {
        issuer,
        sequence,
        issued_at: now,
        denominations: denominations.try_into().map_err(too_many)?,
        revoked: revoked.try_into().map_err(too_many)?,
    })?;
    Ok(signer.sign_set(set)?)
}

/// Makes sure every value of the schedule has keys withdrawable up to `now + lookahead`,
/// generating the next ones back to back. Blocks on key generation and a durable write: run it
/// on the pool or at start, never on an actor's thread.
pub fn ensure_ahead(
    state: &IssuerState,
    now: Timestamp,
) -> Result<Vec<DenominationId>, IssuerError> {
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
                    .book
                    .iter()
                    .filter(|d| d.value() == *value && !denominations.book.is_revoked(&d.id()))
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
                fees: schedule.fees_of(*value),
            })?;
            let id = denomination.id();
            save(
                state,
                StoredDenomination {
                    denomination: denomination.clone(),
                    revoked: false,
                },
                now,
                |d| d.book.add(denomination),
            )?;
            created.push(id);
        }
    }
    Ok(created)
}

/// Revokes a denomination: its coins are refused from now on, and the set is republished.
pub fn revoke(state: &IssuerState, id: DenominationId, now: Timestamp) -> Result<(), IssuerError> {
    let _one_change_at_a_time = state
        .lifecycle_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let denomination = state
        .denominations()
        .book
        .iter()
        .find(|d| d.id() == id)
        .cloned()
        .ok_or(IssuerError::UnknownDenomination)?;
    // The signer first: from here on the key signs nothing, whatever happens to the write.
    state.signer.revoke(id)?;
    save(
        state,
        StoredDenomination {
            denomination,
            revoked: true,
        },
        now,
        |d| d.book.revoke(id),
    )
}

/// Stores the change durably, then applies it in memory and republishes the set.
fn save(
    state: &IssuerState,
    stored: StoredDenomination,
    now: Timestamp,
    apply: impl FnOnce(&mut super::state::Denominations),
) -> Result<(), IssuerError> {
    let sequence = state.committer.execute(SaveDenomination(stored))?;
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    apply(&mut denominations);
    let published = sign_set(
        state.id,
        state.signer.as_ref(),
        &denominations.book,
        sequence,
        now,
    )?;
    denominations.published = Arc::new(published);
    denominations.sequence = sequence;
    Ok(())
}
