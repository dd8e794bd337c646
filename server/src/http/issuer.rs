//! The issuer's endpoints: its denomination set (and the operator's export and upload of the set
//! the master key signs), accounts, operator credits, withdrawals, recoups and the discrepancies
//! its reconciliation recorded, its books of coins issued; and swaps (change).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use actix_web::HttpRequest;
use actix_web::web::{self, Json};
use semper_actors::issuer::{IssuerError, IssuerHandle};
use semper_client::views::DenominationSetBodyView;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::messages::swap::{SwapRequest, SwapResponse};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::reconcile::Discrepancy;
use semper_protocol::signed::Signed;
use semper_storage::ledger::{self, LedgerError};
use semper_storage::reports::DISCREPANCIES_PAGE_MAX;

use super::auth::is_operator;
use super::error::{ACCOUNT_INVALID_SIGNATURE, ApiError};
use super::overload::RoomForCoins;
use super::server::ApiState;
use super::views::{
    AccountPath, AccountView, CreditBody, DenominationSetView, DiscrepancyQuery, IssuedView,
    OpenAccountBody, account_view, issued_view,
};

/// Discrepancies answered when the query names no `limit`.
pub const DISCREPANCIES_LIMIT_DEFAULT: usize = 100;

/// The issuer, or `role.not_hosted`.
pub(super) fn issuer(state: &ApiState) -> Result<IssuerHandle, ApiError> {
    state
        .roles
        .issuer
        .clone()
        .ok_or_else(|| ApiError::not_hosted("an issuer"))
}

/// `GET /v1/issuer/denominations`: the signed denomination set as last published, each
/// denomination with its id.
pub async fn denominations(
    state: web::Data<ApiState>,
) -> Result<Json<DenominationSetView>, ApiError> {
    let issuer = issuer(&state)?;
    Ok(Json(DenominationSetView::from(
        &*issuer.denomination_set()?,
    )))
}

/// `GET /v1/issuer/denominations/export` (operator): the set the issuer wants published, for the
/// master key to sign offline: every denomination its signer made, the revocations taken, the
/// next sequence number.
pub async fn export_denominations(
    state: web::Data<ApiState>,
) -> Result<Json<DenominationSetBodyView>, ApiError> {
    let set = issuer(&state)?.export()?;
    Ok(Json(DenominationSetBodyView::from(&set)))
}

/// `POST /v1/issuer/denominations` (operator): publishes a set the master key signed, if it may
/// follow the published one; its revocations take effect first.
pub async fn publish_denominations(
    state: web::Data<ApiState>,
    body: Json<SignedDenominationSet>,
) -> Result<Json<DenominationSetView>, ApiError> {
    let published = issuer(&state)?.publish(body.into_inner()).await?;
    Ok(Json(DenominationSetView::from(&*published)))
}

/// `POST /v1/issuer/accounts`: opens an account with a zero balance, if the request is signed by
/// the key it registers and the client's address has openings left in this window.
pub async fn open_account(
    state: web::Data<ApiState>,
    request: HttpRequest,
    body: Json<OpenAccountBody>,
) -> Result<Json<AccountView>, ApiError> {
    let issuer = issuer(&state)?;
    // Counted before any work, failed signatures included: a refusal costs the caller its quota.
    // The operator, who provisions accounts in bulk, is not counted.
    if !is_operator(&state, request.headers()) {
        let client = request
            .peer_addr()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |addr| addr.ip());
        state
            .account_opens
            .admit_or_limited(client, Instant::now())?;
    }
    let body = body.into_inner();
    let fields = body.body;
    let opening = Signed::from_parts(
        OpenAccountRequest {
            account: fields.account,
            public_key: fields.public_key,
            currency: Currency::new(&fields.currency)?,
        },
        body.signature,
    );
    opening.verify_own_key().map_err(|error| {
        ApiError::new(
            ACCOUNT_INVALID_SIGNATURE,
            format!("the request is not signed by the key it registers: {error}"),
        )
    })?;
    let opening = opening.body();
    let record = issuer
        .open_account(opening.account, opening.public_key, opening.currency)
        .await?;
    Ok(Json(account_view(opening.account, &record)))
}

/// `GET /v1/issuer/accounts/{account}` (operator, or a read signed by the account's key): an
/// account and its balance, read from the DB.
pub async fn account(
    state: web::Data<ApiState>,
    path: web::Path<AccountPath>,
) -> Result<Json<AccountView>, ApiError> {
    let issuer = issuer(&state)?;
    let account = path.account;
    // A point read of RocksDB: on the blocking pool, not the worker's event loop.
    let record = web::block(move || ledger::account(&issuer.state().store, &account))
        .await?
        .map_err(IssuerError::from)?
        .ok_or(IssuerError::Ledger(LedgerError::UnknownAccount))?;
    Ok(Json(account_view(account, &record)))
}

/// `POST /v1/issuer/accounts/{account}/credit` (operator): credits an incoming transfer; a
/// reference seen twice credits once.
pub async fn credit(
    state: web::Data<ApiState>,
    path: web::Path<AccountPath>,
    body: Json<CreditBody>,
) -> Result<Json<AccountView>, ApiError> {
    let issuer = issuer(&state)?;
    let body = body.into_inner();
    let amount: Amount = body.amount.parse()?;
    let record = issuer.credit(path.account, body.reference, amount).await?;
    Ok(Json(account_view(path.account, &record)))
}

/// `POST /v1/issuer/withdraw`: blind-signs coins paid from the account; a replay gets the same
/// signatures.
pub async fn withdraw(
    state: web::Data<ApiState>,
    _room: RoomForCoins,
    body: Json<SignedWithdrawRequest>,
) -> Result<Json<WithdrawResponse>, ApiError> {
    let issuer = issuer(&state)?;
    let coins = body.body().coins.len();
    let _admitted = state.coins_in_flight.admit_or_busy(coins, "coins")?;
    Ok(Json(issuer.withdraw(body.into_inner()).await?))
}

/// `POST /v1/issuer/recoup`: credits a withdrawn, unspent coin of a revoked denomination back to
/// the account that withdrew it, and spends the coin; a replay gets the same answer.
pub async fn recoup(
    state: web::Data<ApiState>,
    body: Json<SignedRecoupRequest>,
) -> Result<Json<RecoupResponse>, ApiError> {
    let issuer = issuer(&state)?;
    Ok(Json(issuer.recoup(body.into_inner()).await?))
}

/// `POST /v1/issuer/swap`: spends the coins given in and blind-signs the outputs, in one durable
/// step (change); a replay gets the same signatures, a coin spent before is 409 `swap.conflict`
/// with the coin's index and the proof.
pub async fn swap(
    state: web::Data<ApiState>,
    _room: RoomForCoins,
    body: Json<SwapRequest>,
) -> Result<Json<SwapResponse>, ApiError> {
    let issuer = issuer(&state)?;
    // Each coin given in costs two signature checks, each output one blind signature.
    let coins = body.coins.len() + body.outputs.len();
    let _admitted = state.coins_in_flight.admit_or_busy(coins, "coins")?;
    Ok(Json(issuer.swap(body.into_inner()).await?))
}

/// `GET /v1/issuer/discrepancies` (operator): what reconciliation found, from number `from` on.
pub async fn discrepancies(
    state: web::Data<ApiState>,
    query: web::Query<DiscrepancyQuery>,
) -> Result<Json<Vec<Discrepancy>>, ApiError> {
    let issuer = issuer(&state)?;
    let from = query.from;
    let limit = page_limit(
        query.limit,
        DISCREPANCIES_LIMIT_DEFAULT,
        DISCREPANCIES_PAGE_MAX,
    )?;
    Ok(Json(
        web::block(move || issuer.discrepancies(from, limit)).await??,
    ))
}

/// `GET /v1/issuer/issued` (operator): the issuer's books, the coins it blind-signed per
/// denomination in recorded withdrawals and swaps, to hold against its signer's counts.
pub async fn issued(state: web::Data<ApiState>) -> Result<Json<IssuedView>, ApiError> {
    let issuer = issuer(&state)?;
    let counts = web::block(move || issuer.issued()).await??;
    Ok(Json(issued_view(counts)))
}

/// The page size a query asks for, or `request.malformed` above `max`: the OpenAPI document gives
/// `limit` its maximum, so a larger one is refused rather than read as the maximum.
pub fn page_limit(asked: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match asked {
        None => Ok(default.min(max)),
        Some(limit) if limit <= max => Ok(limit),
        Some(limit) => Err(ApiError::malformed(format!(
            "query: limit {limit} is over its maximum, {max}"
        ))),
    }
}
