//! Key discovery: `GET /v1/keys` serves the public keys a client must trust for each role this
//! node hosts, and the bank id each role signs as.
//!
//! A client fetches them once, pins them out of band (against the bank's published card: see
//! `docs/protocol.md` §8), and checks every signed answer against the pinned keys, never against
//! keys fetched in the same session it checks.

use actix_web::web::{self, Json};
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::BankId;
use serde::{Deserialize, Serialize};

use super::server::ApiState;

/// The keys of each role this node hosts; a role not hosted is absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeysView {
    /// The issuer's keys, if this node is an issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerKeysView>,
    /// The acquirer's key, if this node is an acquirer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acquirer: Option<AcquirerKeysView>,
    /// The clearing house's key, if this node is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clearing: Option<ClearingKeysView>,
}

/// An issuer's public keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuerKeysView {
    /// The issuer's bank id: the `issuer` of its denominations and sets.
    pub bank: BankId,
    /// Signs the denomination sets (`semper/denomination-set`).
    pub master_key: VerifyingKey,
    /// Signs the spend confirmations (`semper/spend-confirmation`) it sends acquirers.
    pub confirmation_key: VerifyingKey,
}

/// An acquirer's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AcquirerKeysView {
    /// The acquirer's bank id: the `acquirer` every deposit permission must name, and the
    /// `acquirer` of its deposit answers.
    pub bank: BankId,
    /// The bank key: signs the deposit answers (`semper/deposit-answer`).
    pub bank_key: VerifyingKey,
}

/// A clearing house's public key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClearingKeysView {
    /// The clearing house's bank id.
    pub bank: BankId,
    /// Signs the settlement reports (`semper/settlement-report`).
    pub report_key: VerifyingKey,
}

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
