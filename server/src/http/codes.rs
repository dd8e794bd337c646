//! The HTTP status of every stable error code, in one table: the HTTP layer's own codes, and every
//! code the issuer, acquirer and clearing house errors (and the refusals inside them) can return.
//!
//! Choices worth knowing:
//! - a body signature that does not verify (`*.invalid_*_signature`, `ed25519.*`) is 400: the
//!   request carries its own proof, and it is wrong; 401 is kept for the `Authorization` header:
//!   the operator's bearer token, or a signed read (`read.*`);
//! - too many account openings from one client address is 429 with `Retry-After`;
//! - insufficient funds is 409: the request conflicts with the account's state (402 is reserved);
//! - a revoked or expired denomination is 410: it existed and is gone for good;
//! - an uploaded denomination set that the master key did not sign, or that may not follow the
//!   published one, is 400, and 409 when it is merely not newer (a stale upload);
//! - busy, stopped and incomplete are 503 with `Retry-After`, and so are a storage database out
//!   of reach (`storage.unavailable`) and a write raced by another process past the committer's
//!   retries (`storage.conflict`);
//! - a failure of another bank seen through the acquirer (gateway, a bad set or receipt) is 502;
//! - storage, key store and key generation faults are 500.

use actix_web::http::StatusCode;

/// Each code and its status. A code that is not here answers 500, and is logged.
const STATUS_BY_CODE: &[(&str, u16)] = &[
    // The HTTP layer.
    ("request.malformed", 400),
    ("request.content_type", 415),
    ("request.too_large", 413),
    ("route.unknown", 404),
    ("route.method_not_allowed", 405),
    ("role.not_hosted", 404),
    ("auth.required", 401),
    ("auth.invalid", 401),
    ("auth.operator_disabled", 403),
    ("server.busy", 503),
    ("request.timeout", 408),
    ("deposit.unknown", 404),
    ("refund.unknown_coin", 404),
    // Recoups (docs/protocol.md §7.26): what the request proves, then the state it meets.
    ("recoup.invalid_account_signature", 400),
    ("recoup.wrong_account", 400),
    ("recoup.invalid_coin_key_signature", 400),
    ("recoup.wrong_withdrawal", 400),
    ("recoup.bad_index", 400),
    ("recoup.wrong_issuer", 400),
    ("recoup.not_withdrawn", 400),
    ("recoup.unknown_withdrawal", 404),
    ("recoup.not_revoked", 409),
    ("recoup.already_recouped", 409),
    ("recoup.coin_spent", 409),
    // Signed reads (the `Authorization: Semper-Read` header) and account openings.
    ("read.malformed", 401),
    ("read.wrong_target", 401),
    ("read.stale", 401),
    ("read.invalid_signature", 401),
    ("account.invalid_signature", 400),
    ("account.opens_limited", 429),
    // Busy or stopped: retry later.
    ("issuer.busy", 503),
    ("acquirer.busy", 503),
    ("clearing.busy", 503),
    ("storage.busy", 503),
    ("issuer.stopped", 503),
    ("acquirer.stopped", 503),
    ("clearing.stopped", 503),
    ("storage.closed", 503),
    ("storage.unavailable", 503),
    ("storage.conflict", 503),
    ("deposit.incomplete", 503),
    ("clearing.cycle_full", 503),
    ("clearing.not_leader", 503),
    // Unknown things named in the path.
    ("account.unknown", 404),
    ("merchant.unknown", 404),
    // Amounts and currencies.
    ("amount.unknown_currency", 400),
    ("amount.malformed", 400),
    ("amount.too_precise", 400),
    ("amount.negative", 400),
    ("amount.overflow", 400),
    ("amount.currency_mismatch", 400),
    // Signatures and keys in a request body.
    ("withdraw.invalid_account_signature", 400),
    ("deposit.invalid_merchant_signature", 400),
    ("spend.invalid_acquirer_signature", 400),
    ("submission.invalid_acquirer_signature", 400),
    ("ed25519.key_not_on_curve", 400),
    ("ed25519.key_not_canonical", 400),
    ("ed25519.weak_key", 400),
    ("ed25519.malformed_signature", 400),
    ("ed25519.invalid_signature", 400),
    ("rsa.wrong_length", 400),
    ("rsa.out_of_range", 400),
    ("rsa.invalid_signature", 400),
    ("coin.wrong_denomination", 400),
    // Withdrawals, credits and deposits that cannot be done as asked.
    ("withdraw.no_coins", 400),
    ("credit.bad_reference", 400),
    ("deposit.no_coins", 400),
    ("deposit.wrong_merchant", 400),
    ("deposit.wrong_acquirer", 400),
    ("deposit.duplicate_coin", 400),
    ("refund.invalid_signature", 400),
    ("refund.bad_amount", 400),
    ("refund.wrong_contract", 400),
    ("refund.below_fee", 400),
    ("deposit.too_many_coins", 400),
    ("swap.no_coins", 400),
    ("swap.wrong_request", 400),
    ("swap.duplicate_coin", 400),
    ("swap.wrong_issuer", 400),
    ("swap.invalid_coin_key_signature", 400),
    ("swap.unbalanced", 400),
    ("spend.unknown_acquirer", 400),
    ("submission.unknown_acquirer", 400),
    ("submission.too_many_entries", 400),
    // Denominations.
    ("denomination.unknown", 400),
    ("denomination.not_yet_valid", 400),
    ("denomination.revoked", 410),
    ("denomination.withdraw_expired", 410),
    ("denomination.deposit_expired", 410),
    // Conflicts with the state.
    ("account.exists", 409),
    ("account.insufficient_funds", 409),
    ("credit.reference_reused", 409),
    ("withdraw.request_id_reused", 409),
    ("swap.request_id_reused", 409),
    ("swap.conflict", 409),
    ("merchant.exists", 409),
    ("merchant.too_many_currencies", 409),
    ("deposit.id_reused", 409),
    ("deposit.coin_in_flight", 409),
    ("refund.over_paid", 409),
    ("refund.id_reused", 409),
    ("refund.deadline_passed", 409),
    ("refund.wrong_permission", 409),
    ("submission.id_reused", 409),
    ("spend.batch_id_reused", 409),
    ("outbox.changed", 409),
    ("outbox.submission_exists", 409),
    ("clearing.already_cut", 409),
    ("reconcile.submissions_pending", 409),
    // The denomination set the master key signs: the operator's upload, and its absence.
    ("set.unpublished", 404),
    ("set.invalid_signature", 400),
    ("set.wrong_issuer", 400),
    ("set.drops_denomination", 400),
    ("set.unrevokes", 400),
    ("set.revokes_unlisted", 400),
    ("set.unknown_denomination", 400),
    ("set.not_newer", 409),
    ("set.master_offline", 409),
    // Another bank, seen through the acquirer.
    ("acquirer.gateway", 502),
    ("acquirer.unknown_issuer", 502),
    ("denomination_set.wrong_issuer", 502),
    ("denomination_set.invalid_signature", 502),
    ("receipt.invalid_signature", 502),
    ("receipt.wrong_submission", 502),
    ("receipt.wrong_count", 502),
    // Faults of this server.
    ("outbox.unknown_submission", 500),
    ("storage.schema_too_new", 500),
    ("storage.wrong_role", 500),
    ("storage.corrupt", 500),
    ("storage.rocksdb", 500),
    ("storage.postgres", 500),
    ("keystore.too_open", 500),
    ("keystore.invalid", 500),
    ("keystore.missing", 500),
    ("keystore.io", 500),
    ("issuer.key_generation", 500),
    ("set.stored_signature", 500),
    ("offline.no_key", 500),
    ("offline.key_exists", 500),
    ("offline.unknown_denomination", 500),
    ("offline.nothing_signed", 500),
    ("offline.record", 500),
    // The signer, in process or not: unreachable or over its rate is 503 with Retry-After; a
    // key it no longer signs with is 410, like a revoked denomination.
    ("signer.unavailable", 503),
    ("signer.rate_limited", 503),
    ("signer.unknown_key", 410),
    ("signer.outside_window", 410),
    ("signer.revoked", 410),
    ("signer.bad_blinded_message", 400),
    ("signer.refused", 500),
    ("signer.frame.too_large", 500),
    ("signer.frame.version", 500),
    ("signer.frame.kind", 500),
    ("signer.frame.malformed", 500),
    ("signer.storage", 500),
    ("acquirer.config", 500),
    ("clearing.pool", 500),
    ("participants.duplicate", 500),
    ("denomination.zero_value", 500),
    ("denomination.windows_out_of_order", 500),
    ("denomination.foreign", 500),
    ("denomination.duplicate", 500),
    ("denomination.too_many", 500),
    ("rsa.unsupported_key", 500),
    ("rsa.signing_fault", 500),
    ("rsa.wallet", 500),
    ("rsa.backend", 500),
    ("settlement.obligations_not_canonical", 500),
    ("settlement.overflow", 500),
    ("settlement.positions_mismatch", 500),
    ("settlement.too_large", 500),
    ("settlement.bad_fees", 500),
];

/// The status the table gives `code`, if it lists it.
pub fn lookup(code: &str) -> Option<StatusCode> {
    STATUS_BY_CODE
        .iter()
        .find(|(listed, _)| *listed == code)
        .and_then(|(_, status)| StatusCode::from_u16(*status).ok())
}

/// The status of `code`: the table's, or 500 for a code it does not list (logged, as a gap).
pub fn status_of(code: &str) -> StatusCode {
    lookup(code).unwrap_or_else(|| {
        tracing::warn!(code, "error code without an HTTP status: answered 500");
        StatusCode::INTERNAL_SERVER_ERROR
    })
}

/// Every code in the table, for the OpenAPI check.
pub fn all() -> impl Iterator<Item = (&'static str, u16)> {
    STATUS_BY_CODE.iter().copied()
}

#[cfg(test)]
mod tests;
