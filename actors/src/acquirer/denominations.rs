//! Refreshing the issuers' denomination sets: each fetched through the gateway, checked against
//! the issuer's master key from the config, stored, and only then used.

use std::sync::Arc;

use semper_protocol::acquirer::SetRefusal;
use semper_protocol::ids::BankId;
use semper_storage::acquirer::issuer_sets::SaveIssuerSet;

use super::error::AcquirerError;
use super::state::AcquirerState;
use crate::gateway::IssuerGateway;

/// Refreshes every trusted issuer's set; returns how many denominations are known after it. An
/// issuer that fails keeps its previous set; the first failure is returned once all were tried.
pub async fn refresh(
    state: Arc<AcquirerState>,
    issuers: Arc<dyn IssuerGateway>,
) -> Result<usize, AcquirerError> {
    let mut ids: Vec<BankId> = state.issuers.keys().copied().collect();
    ids.sort();
    let mut first_error = None;
    for issuer in ids {
        if let Err(error) = refresh_one(&state, &issuers, issuer).await {
            tracing::warn!(%issuer, code = error.code(), %error, "denomination set not refreshed");
            first_error.get_or_insert(error);
        }
    }
    match first_error {
        Some(error) => Err(error),
        None => Ok(state.denominations().iter().count()),
    }
}

async fn refresh_one(
    state: &Arc<AcquirerState>,
    issuers: &Arc<dyn IssuerGateway>,
    issuer: BankId,
) -> Result<(), AcquirerError> {
    let set = issuers
        .denomination_set(issuer)
        .await
        .map_err(AcquirerError::Gateway)?;
    if set.body().fields().issuer != issuer {
        return Err(SetRefusal::WrongIssuer.into());
    }
    let set = state
        .on_pool(move |state| state.check_set(&set).map(|()| set))
        .await??;
    // An older set than the one stored (a stale answer) is not taken.
    if state.commit(SaveIssuerSet(set.clone())).await? {
        tracing::info!(%issuer, sequence = set.body().fields().sequence, "denomination set refreshed");
        state.install_set(set);
    }
    Ok(())
}
