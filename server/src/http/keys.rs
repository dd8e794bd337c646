//! Key discovery: `GET /v1/keys` serves the public keys a client must trust for each role this
//! node hosts, and the bank id each role signs as.
//!
//! A client fetches them once, pins them out of band (against the bank's published card: see
//! `docs/protocol.md` §8), and checks every signed answer against the pinned keys, never against
//! keys fetched in the same session it checks.

use actix_web::web::{self, Json};
use semper_client::views::{AcquirerKeysView, ClearingKeysView, IssuerKeysView, KeysView};

use super::server::ApiState;

/// `GET /v1/keys`: the public keys of every role this node hosts.
pub async fn keys(state: web::Data<ApiState>) -> Json<KeysView> {
    let roles = &state.roles;
    Json(KeysView {
        issuer: roles.issuer.as_ref().map(|issuer| {
            let issuer = issuer.state();
            IssuerKeysView {
                bank: issuer.id,
                master_key: issuer.public_keys.master,
                confirmation_key: issuer.public_keys.confirmation,
            }
        }),
        acquirer: roles.acquirer.as_ref().map(|acquirer| {
            let acquirer = acquirer.state();
            AcquirerKeysView {
                bank: acquirer.id,
                bank_key: *acquirer.bank_public_key(),
            }
        }),
        clearing: roles.clearing.as_ref().map(|clearing| {
            let clearing = clearing.state();
            ClearingKeysView {
                bank: clearing.id,
                report_key: *clearing.key.verifying_key(),
            }
        }),
    })
}
