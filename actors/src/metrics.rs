//! Every metric the actors record, each name written once: `semper_<area>_<what>_<unit>`, and
//! `_total` for counters. Recording stays per batch or per request, never per coin.

// The actors.

/// Messages waiting in an actor's mailbox, by actor (`issuer`, `acquirer`, `clearing`).
pub const ACTOR_MAILBOX_DEPTH: &str = "semper_actor_mailbox_depth";

/// Whether this process holds a lease over its role's shared store (1) or not (0), by `lease`.
pub const LEASE_HELD: &str = "semper_lease_held";

// The issuer.

/// Coins per spend-check batch.
pub const ISSUER_SPEND_CHECK_COINS: &str = "semper_issuer_spend_check_coins";
/// Time to check and verify one spend-check batch, in seconds.
pub const ISSUER_SPEND_CHECK_VERIFY_SECONDS: &str = "semper_issuer_spend_check_verify_seconds";
/// Coins per withdrawal signed.
pub const ISSUER_WITHDRAW_COINS: &str = "semper_issuer_withdraw_coins";
/// Time to blind-sign one withdrawal's coins, in seconds.
pub const ISSUER_BLIND_SIGN_SECONDS: &str = "semper_issuer_blind_sign_seconds";

// The signer (in whichever process it runs).

/// Blind signatures made by a denomination key, by `denomination`: the journal's count.
pub const SIGNER_SIGNATURES: &str = "semper_signer_signatures_total";
/// Denomination keys destroyed once their withdraw window closed (or revoked).
pub const SIGNER_KEYS_DESTROYED: &str = "semper_signer_keys_destroyed_total";
/// Calls to a signer in another process, answered or not, by `request`, in seconds.
pub const SIGNER_ROUND_TRIP_SECONDS: &str = "semper_signer_round_trip_seconds";
/// Calls to a signer in another process that failed, by `code`.
pub const SIGNER_CALL_ERRORS: &str = "semper_signer_call_errors_total";

// The acquirer.

/// Coins per micro-batch.
pub const ACQUIRER_MICRO_BATCH_COINS: &str = "semper_acquirer_micro_batch_coins";
/// Time to verify one micro-batch, in seconds.
pub const ACQUIRER_VERIFY_SECONDS: &str = "semper_acquirer_verify_seconds";
/// Deposits answered, by outcome.
pub const ACQUIRER_DEPOSITS: &str = "semper_acquirer_deposits_total";
/// Coins answered, by result.
pub const ACQUIRER_COINS: &str = "semper_acquirer_coins_total";
/// Confirmations waiting in the outbox.
pub const ACQUIRER_OUTBOX_DEPTH: &str = "semper_acquirer_outbox_depth";
/// Submissions to the clearing house answered, by outcome.
pub const ACQUIRER_SUBMISSIONS: &str = "semper_acquirer_submissions_total";

// The clearing house.

/// Cycles cut.
pub const CLEARING_CYCLES: &str = "semper_clearing_cycles_total";
/// Cut-offs that failed, by code; the cycle stays open.
pub const CLEARING_CUT_FAILURES: &str = "semper_clearing_cut_failures_total";
/// Submissions answered, by result (`answered` or the refusal's code).
pub const CLEARING_SUBMISSIONS: &str = "semper_clearing_submissions_total";
/// Confirmations claimed into a cycle.
pub const CLEARING_CLAIMS: &str = "semper_clearing_claims_total";
/// Confirmations not claimed, by code.
pub const CLEARING_CLAIMS_REFUSED: &str = "semper_clearing_claims_refused_total";
/// Report deliveries to participants, by result (`delivered`, `failed`).
pub const CLEARING_REPORT_DELIVERIES: &str = "semper_clearing_report_deliveries_total";

// Every participant.

/// Discrepancies found in settlement reports, by role and kind.
pub const RECONCILE_DISCREPANCIES: &str = "semper_reconcile_discrepancies_total";
