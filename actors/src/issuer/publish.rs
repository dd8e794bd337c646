//! The published denomination set, which only the master key signs. The issuer exports the set
//! it wants published ([`export`]: every denomination its signer made, and the revocations
//! taken); the master key signs it offline; the operator uploads the signed set and [`publish`]
//! checks it and takes it. A set that revokes a denomination makes the signer stop signing with
//! it first. With a local master key (the embedded default), [`publish_locally`] runs the same
//! three steps in this process.

use std::sync::Arc;

use semper_protocol::acquirer::{SetRefusal, check_denomination_set};
use semper_protocol::denomination::{
    Denomination, DenominationSet, DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::denomination_book::DenominationBook;
use semper_protocol::ids::DenominationId;
use semper_protocol::set_succession::{SuccessionRefusal, check_successor, newly_revoked};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_storage::denominations::SavePublishedSet;

use super::error::IssuerError;
use super::state::IssuerState;

/// The set the issuer wants published, issued at `now`: every denomination made, ordered by
/// start of validity then id, the revocations taken, and the next sequence number.
pub fn export(state: &IssuerState, now: Timestamp) -> Result<DenominationSet, IssuerError> {
    let denominations = state.denominations();
    let made = &denominations.made;
    let mut listed: Vec<Denomination> = made.iter().cloned().collect();
    listed.sort_by_key(|d| (d.fields().valid_from, d.id()));
    let mut revoked: Vec<DenominationId> = made.revoked().copied().collect();
    revoked.sort();
    let published = denominations
        .published
        .as_ref()
        .map_or(0, |set| set.body().fields().sequence);
    let too_many = |_| IssuerError::TooManyDenominations;
    Ok(DenominationSet::new(DenominationSetFields {
        issuer: state.id,
        sequence: published.max(denominations.sequence).saturating_add(1),
        issued_at: now,
        denominations: listed.try_into().map_err(too_many)?,
        revoked: revoked.try_into().map_err(too_many)?,
    })?)
}

/// Takes `signed` as the published set, if the master key signed it, it may follow the set
/// published (newer, nothing dropped, no revocation undone) and it lists only denominations this
/// issuer made. The denominations it newly revokes are revoked at the signer first, then the set
/// and the revocations are stored in one durable write, and only then served. Blocks on the
/// signer and the write: run it on the pool.
pub fn publish(
    state: &IssuerState,
    signed: SignedDenominationSet,
) -> Result<Arc<SignedDenominationSet>, IssuerError> {
    let _one_change_at_a_time = state
        .lifecycle_lock
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    check_denomination_set(&signed, state.id, &state.public_keys.master).map_err(|refusal| {
        match refusal {
            SetRefusal::WrongIssuer => IssuerError::SetRefused(SuccessionRefusal::WrongIssuer {
                expected: state.id,
                found: signed.body().fields().issuer,
            }),
            SetRefusal::Signature(error) => IssuerError::SetSignature(error),
        }
    })?;
    let (published, revoking) = {
        let denominations = state.denominations();
        let published = denominations.published.clone();
        let previous = published.as_deref().map(Signed::body);
        check_successor(state.id, previous, signed.body())?;
        for denomination in signed.body().fields().denominations.iter() {
            let id = denomination.id();
            if denominations.made.iter().all(|made| made.id() != id) {
                return Err(IssuerError::SetUnknownDenomination(id));
            }
        }
        let revoking: Vec<Denomination> = newly_revoked(previous, signed.body())
            .iter()
            .filter_map(|id| {
                signed
                    .body()
                    .fields()
                    .denominations
                    .iter()
                    .find(|d| d.id() == *id)
            })
            .cloned()
            .collect();
        (published, revoking)
    };
    // The signer first: from here on a revoked key signs nothing, whatever happens to the write.
    for denomination in &revoking {
        state.signer.revoke(denomination.id())?;
    }
    let stored = state.committer.execute(SavePublishedSet {
        set: signed.clone(),
        newly_revoked: revoking.clone(),
    })?;
    if !stored {
        // Another process of this bank published a set at least as new meanwhile.
        return Err(SuccessionRefusal::NotNewer {
            previous: published.map_or(0, |set| set.body().fields().sequence),
            found: signed.body().fields().sequence,
        }
        .into());
    }
    let signed = Arc::new(signed);
    let mut denominations = state
        .denominations
        .write()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    for denomination in &revoking {
        denominations.made.revoke(denomination.id());
    }
    denominations.book = DenominationBook::from_set(signed.body());
    denominations.published = Some(signed.clone());
    tracing::info!(
        issuer = %state.id,
        sequence = signed.body().fields().sequence,
        denominations = signed.body().fields().denominations.len(),
        revoked = signed.body().fields().revoked.len(),
        "denomination set published"
    );
    Ok(signed)
}

/// With a local master key (the embedded default), signs and publishes the exported set when it
/// differs from the one published: the ceremony's steps, in this process. Does nothing when the
/// master key is offline.
pub fn publish_locally(state: &IssuerState, now: Timestamp) -> Result<(), IssuerError> {
    let Some(key) = &state.local_master else {
        return Ok(());
    };
    let mut set = export(state, now)?;
    if let Some(published) = state.published_set() {
        let (before, after) = (published.body().fields(), set.fields());
        if before.denominations == after.denominations && before.revoked == after.revoked {
            return Ok(());
        }
    }
    // A set signed but never published (a crash between the two) took its sequence number.
    if let Some(last) = key.last_signed()? {
        let last = last.body().fields().sequence;
        if last >= set.fields().sequence {
            let mut fields = set.fields().clone();
            fields.sequence = last.saturating_add(1);
            set = DenominationSet::new(fields)?;
        }
    }
    publish(state, key.sign(set)?)?;
    Ok(())
}

/// Revokes `denomination` with the local master key (the embedded default): the key signs the
/// set with it revoked, which is published as an uploaded one would be. With the master key
/// offline, `semper offline revoke` signs that set, and the operator uploads it.
pub fn revoke_locally(
    state: &IssuerState,
    denomination: DenominationId,
    now: Timestamp,
) -> Result<Arc<SignedDenominationSet>, IssuerError> {
    let key = state
        .local_master
        .as_ref()
        .ok_or(IssuerError::MasterOffline)?;
    if state
        .denominations()
        .made
        .iter()
        .all(|d| d.id() != denomination)
    {
        return Err(IssuerError::UnknownDenomination);
    }
    publish_locally(state, now)?;
    publish(state, key.revoke(denomination, now)?)
}
