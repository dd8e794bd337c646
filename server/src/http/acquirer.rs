//! The acquirer's endpoints: merchants, deposits, the settlement outbox and the discrepancies its
//! reconciliation recorded.

use actix_web::web::{self, Json};
use semper_actors::acquirer::{AcquirerHandle, DepositStatus};
use semper_protocol::ids::MerchantId;
use semper_protocol::messages::deposit_answer::SignedDepositAnswer;
use semper_protocol::messages::merchant::SignedDepositRequest;
use semper_protocol::messages::refund::{RefundResponse, SignedRefundRequest};
use semper_protocol::reconcile::Discrepancy;
use semper_storage::acquirer::merchants::MerchantRecord;
use semper_storage::reports::DISCREPANCIES_PAGE_MAX;

use super::error::{ApiError, DEPOSIT_UNKNOWN};
use super::issuer::{DISCREPANCIES_LIMIT_DEFAULT, page_limit};
use super::overload::RoomForCoins;
use super::server::ApiState;
use super::views::{
    DenominationCountView, DepositPath, DepositStatusView, DiscrepancyQuery, MerchantPath,
    MerchantView, OutboxView, RegisterMerchantBody, merchant_view, outbox_view,
};

/// The acquirer, or `role.not_hosted`.
pub(super) fn acquirer(state: &ApiState) -> Result<AcquirerHandle, ApiError> {
    state
        .roles
        .acquirer
        .clone()
        .ok_or_else(|| ApiError::not_hosted("an acquirer"))
}

/// `POST /v1/acquirer/merchants` (operator): registers a merchant with the key that signs its
/// deposits; again with the same key is a replay.
pub async fn register_merchant(
    state: web::Data<ApiState>,
    body: Json<RegisterMerchantBody>,
) -> Result<Json<MerchantView>, ApiError> {
    let acquirer = acquirer(&state)?;
    let body = body.into_inner();
    let record = acquirer
        .register_merchant(body.merchant, body.public_key)
        .await?;
    Ok(Json(view(&acquirer, body.merchant, &record)))
}

/// The view of a merchant, with its acquirer's bank key.
fn view(acquirer: &AcquirerHandle, merchant: MerchantId, record: &MerchantRecord) -> MerchantView {
    let state = acquirer.state();
    merchant_view(merchant, record, state.id, *state.bank_public_key())
}

/// `GET /v1/acquirer/merchants/{merchant}` (operator, or a read signed by the merchant's key): a
/// merchant's key and balances.
pub async fn merchant(
    state: web::Data<ApiState>,
    path: web::Path<MerchantPath>,
) -> Result<Json<MerchantView>, ApiError> {
    let acquirer = acquirer(&state)?;
    let record = acquirer.merchant(path.merchant).await?;
    Ok(Json(view(&acquirer, path.merchant, &record)))
}

/// `POST /v1/acquirer/deposits`: deposits coins, signed by the merchant's key (the acquirer checks
/// it); answered once every coin's credit is durable, with an answer signed by the acquirer's
/// bank key.
pub async fn deposit(
    state: web::Data<ApiState>,
    _room: RoomForCoins,
    body: Json<SignedDepositRequest>,
) -> Result<Json<SignedDepositAnswer>, ApiError> {
    let acquirer = acquirer(&state)?;
    let coins = body.body().permissions.len();
    let _admitted = state.coins_in_flight.admit_or_busy(coins, "coins")?;
    let request_digest = body.body_digest();
    let response = acquirer.deposit(body.into_inner()).await?;
    Ok(Json(
        acquirer
            .state()
            .sign_deposit_answer(request_digest, response),
    ))
}

/// `POST /v1/acquirer/refunds`: refunds (part of) a coin the merchant deposited, signed by the
/// merchant's key; answered once the merchant's debit is durable. The coin's issuer is told
/// afterwards, over the link. A retry with the same refund id and body gets the same answer.
pub async fn refund(
    state: web::Data<ApiState>,
    body: Json<SignedRefundRequest>,
) -> Result<Json<RefundResponse>, ApiError> {
    let acquirer = acquirer(&state)?;
    Ok(Json(acquirer.refund(body.into_inner()).await?))
}

/// `GET /v1/acquirer/merchants/{merchant}/deposits/{deposit_id}` (operator, or a read signed by
/// the merchant's key): where a deposit stands, with its signed answer once done; 404
/// `deposit.unknown` if never seen.
pub async fn deposit_status(
    state: web::Data<ApiState>,
    path: web::Path<DepositPath>,
) -> Result<Json<DepositStatusView>, ApiError> {
    let acquirer = acquirer(&state)?;
    let view = match acquirer
        .deposit_status(path.merchant, path.deposit_id)
        .await?
    {
        DepositStatus::Unknown => {
            return Err(ApiError::new(
                DEPOSIT_UNKNOWN,
                format!(
                    "no deposit {} for merchant {}",
                    path.deposit_id, path.merchant
                ),
            ));
        }
        DepositStatus::InProgress => DepositStatusView::InProgress,
        DepositStatus::Incomplete => DepositStatusView::Incomplete,
        DepositStatus::Done(response, request_digest) => DepositStatusView::Done {
            answer: acquirer
                .state()
                .sign_deposit_answer(request_digest, response),
        },
    };
    Ok(Json(view))
}

/// `GET /v1/acquirer/outbox` (operator): where the outbox to the clearing house stands.
pub async fn outbox(state: web::Data<ApiState>) -> Result<Json<OutboxView>, ApiError> {
    let acquirer = acquirer(&state)?;
    Ok(Json(outbox_view(acquirer.outbox_status().await?)))
}

/// `POST /v1/acquirer/outbox/flush` (operator): runs an outbox pass now (the refund notices
/// waiting for their issuers first), and answers where the outbox stands after it.
pub async fn flush_outbox(state: web::Data<ApiState>) -> Result<Json<OutboxView>, ApiError> {
    let acquirer = acquirer(&state)?;
    Ok(Json(outbox_view(acquirer.flush_outbox().await?)))
}

/// `GET /v1/acquirer/discrepancies` (operator): what reconciliation found, from number `from` on.
pub async fn discrepancies(
    state: web::Data<ApiState>,
    query: web::Query<DiscrepancyQuery>,
) -> Result<Json<Vec<Discrepancy>>, ApiError> {
    let acquirer = acquirer(&state)?;
    let from = query.from;
    let limit = page_limit(
        query.limit,
        DISCREPANCIES_LIMIT_DEFAULT,
        DISCREPANCIES_PAGE_MAX,
    )?;
    Ok(Json(
        web::block(move || acquirer.discrepancies(from, limit)).await??,
    ))
}

/// `POST /v1/acquirer/denominations/refresh` (operator): fetches, checks and takes each trusted
/// issuer's denomination set, and answers how many denominations the acquirer knows. Coins of a
/// denomination it does not know are refused, so run it after an issuer publishes new keys.
pub async fn refresh_denominations(
    state: web::Data<ApiState>,
) -> Result<Json<DenominationCountView>, ApiError> {
    let acquirer = acquirer(&state)?;
    let denominations = acquirer.refresh_denominations().await?;
    Ok(Json(DenominationCountView { denominations }))
}
