//! The clearing house's endpoints: the open cycle, the operator's cut-off and the signed reports.
//!
//! No discrepancies endpoint: reconciliation is what the participants do with the clearing
//! house's reports; the clearing house itself records none.
//!
//! The reports are the operator's to read over HTTP: every participant bank receives its own over
//! the authenticated inter-bank link, and a bank's link identity does not reach this API.

use actix_web::web::{self, Json};
use semper_actors::clearing::ClearingHandle;
use semper_protocol::limits::REPORTS_AFTER_MAX;
use semper_protocol::messages::settlement::SignedSettlementReport;

use super::error::ApiError;
use super::server::ApiState;
use super::views::{CycleView, ReportsQuery, cycle_view};

/// The clearing house, or `role.not_hosted`.
fn clearing(state: &ApiState) -> Result<ClearingHandle, ApiError> {
    state
        .roles
        .clearing
        .clone()
        .ok_or_else(|| ApiError::not_hosted("a clearing house"))
}

/// `GET /v1/clearing/cycle`: the open cycle.
pub async fn cycle(state: web::Data<ApiState>) -> Result<Json<CycleView>, ApiError> {
    let clearing = clearing(&state)?;
    Ok(Json(cycle_view(clearing.cycle_status().await?)))
}

/// `POST /v1/clearing/cycle/cut` (operator): cuts the open cycle now, and answers its signed
/// report.
pub async fn cut(state: web::Data<ApiState>) -> Result<Json<SignedSettlementReport>, ApiError> {
    let clearing = clearing(&state)?;
    Ok(Json(clearing.cut_cycle().await?))
}

/// `GET /v1/clearing/reports` (operator): the signed reports of the cycles numbered above `after`, oldest
/// first, at most `limit` (and never more than [`REPORTS_AFTER_MAX`]).
pub async fn reports(
    state: web::Data<ApiState>,
    query: web::Query<ReportsQuery>,
) -> Result<Json<Vec<SignedSettlementReport>>, ApiError> {
    let clearing = clearing(&state)?;
    let limit = query
        .limit
        .unwrap_or(REPORTS_AFTER_MAX)
        .min(REPORTS_AFTER_MAX);
    Ok(Json(clearing.reports_after(query.after, limit).await?))
}
