//! Denomination keys: generated ahead of need and rotated as windows pass. A new key is
//! published once the master key signs a set that lists it ([`super::publish`]).
//!
//! Several issuer processes sharing a store (and one signer) make keys one at a time: only the
//! holder of the rotation lease (`crate::leader`) makes them in [`ensure_ahead`]; the others
//! [`reload`] what is stored every second (keys made, revocations, the set published), so a key
//! made or a set published by one process is known to all within about a second. Keys are made a
//! lookahead ahead of their windows, so every process knows a key long before a wallet may use
//! it. A revocation stops the shared signer at once; spend checks in the other processes refuse
//! the revoked coins once they have reloaded. A holder deposed mid-rotation (stalled past its
//! lease) may add one redundant key for a window already covered: a valid denomination more,
//! never a wrong one.

use semper_protocol::denomination::Denomination;
use semper_protocol::ids::DenominationId;
use semper_protocol::time::Timestamp;
use semper_storage::denominations::{SaveDenomination, StoredDenomination};

use super::error::IssuerError;
use super::publish;
use super::state::{Denominations, IssuerState, load_book, load_published};
use crate::signer::DenominationSpec;

/// Makes sure every value of the schedule has keys withdrawable up to `now + lookahead`,
/// generating the next ones back to back; with a local master key, publishes them at once.
/// Blocks on key generation and a durable write: run it on the pool or at start, never on an
/// actor's thread.
pub fn ensure_ahead(
    state: &IssuerState,
    now: Timestamp,
) -> Result<Vec<DenominationId>, IssuerError> {
    // A signer in this process otherwise destroys a closed key only when it next signs or makes
    // one: an idle issuer would keep it. A failure is retried at the next tick; it must not
    // keep the next keys from being made.
    if let Err(error) = state.signer.destroy_closed(now) {
        tracing::warn!(code = error.code(), %error, "closed keys not destroyed");
    }
    if !state.rotation.leads() {
        // Another process makes the keys and publishes: take what it stored.
        reload(state)?;
        return Ok(Vec::new());
    }
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
                fees: schedule.fees_of(*value),
            })?;
            let id = denomination.id();
            save(state, denomination)?;
            created.push(id);
        }
    }
    Ok(created)
}

/// Stores a new denomination durably, then adds it to those made. It is published with the next
/// set the master key signs (at once when the key is local). Over a shared store everything is
/// read back instead: another process may have changed it too, and the sequence number would
/// then no longer say what memory holds.
fn save(state: &IssuerState, denomination: Denomination) -> Result<(), IssuerError> {
    let stored = StoredDenomination {
        denomination: denomination.clone(),
        revoked: false,
    };
    let sequence = state.committer.execute(SaveDenomination(stored))?;
    if state.store.shared() {
        return take_stored(state);
    }
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    denominations.made.add(denomination);
    denominations.sequence = sequence;
    Ok(())
}

/// Takes the denominations as stored when the store's count of changes moved since they were
/// last taken (another process made a key or published a set). A read of one record when
/// nothing changed. Blocks on the store: run it on the pool.
pub fn reload(state: &IssuerState) -> Result<(), IssuerError> {
    let _one_change_at_a_time = state
        .lifecycle_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let stored = semper_storage::denominations::sequence(&state.store)?;
    if stored == state.denominations().sequence {
        return Ok(());
    }
    take_stored(state)
}

/// Replaces what memory holds with what the store holds: the keys made, the revocations taken
/// and the published set (checked against the master key again).
fn take_stored(state: &IssuerState) -> Result<(), IssuerError> {
    let (made, sequence) = load_book(&state.store)?;
    let (published, book) = load_published(&state.store, &state.public_keys.master)?;
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *denominations = Denominations {
        book,
        published,
        made,
        sequence,
    };
    Ok(())
}
