//! Denomination keys: generated ahead of need, rotated as windows pass, revoked on demand, and
//! published as a set signed by the master key.
//!
//! Several issuer processes sharing a store (and one signer) make keys one at a time: only the
//! holder of the rotation lease (`crate::leader`) runs [`ensure_ahead`]; the others, and the
//! holder too, [`reload`] what is stored every second, so a key made or revoked by one process
//! is known to all within about a second. Keys are made a lookahead ahead of their windows, so
//! every process knows a key long before a wallet may use it. A revocation stops the shared
//! signer at once; spend checks in the other processes refuse the revoked coins once they have
//! reloaded. A holder deposed mid-rotation (stalled past its lease) may add one redundant key
//! for a window already covered: a valid denomination more, never a wrong one.

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
    if !state.rotation.leads() {
        // Another process makes the keys: take the ones it stored.
        reload(state)?;
        return Ok(Vec::new());
    }
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

/// Takes the denominations as stored, when their set's sequence number moved since they were
/// last taken (another process made or revoked one), and republishes the set. A read of one
/// record when nothing changed. Blocks on the store and the signer: run it on the pool.
pub fn reload(state: &IssuerState) -> Result<(), IssuerError> {
    let _one_change_at_a_time = state
        .lifecycle_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    let stored = semper_storage::denominations::sequence(&state.store)?;
    if stored == state.denominations().sequence {
        return Ok(());
    }
    let (book, sequence) = super::state::load_book(&state.store)?;
    let published = sign_set(
        state.id,
        state.signer.as_ref(),
        &book,
        sequence,
        state.clock.now(),
    )?;
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    *denominations = super::state::Denominations {
        book,
        published: Arc::new(published),
        sequence,
    };
    Ok(())
}

/// Stores the change durably, then applies it in memory and republishes the set. Over a shared
/// store the whole book is read back instead: another process may have changed it too, and the
/// sequence number would then no longer say what the book holds.
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
    if state.store.shared() {
        let (book, _) = super::state::load_book(&state.store)?;
        denominations.book = book;
    } else {
        apply(&mut denominations);
    }
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
