//! Every bound on a list in the protocol, named once. Decoders and JSON parsing enforce them.
//!
//! They are chosen so that the largest message of each kind stays below
//! [`crate::codec::MESSAGE_MAX_BYTES`].

/// Coins in one withdraw request.
pub const WITHDRAW_COINS_MAX: usize = 256;
/// Deposit permissions in one spend-check batch (and results in its answer).
pub const SPEND_BATCH_COINS_MAX: usize = 4096;
/// Deposit permissions in one merchant deposit request (and results in its answer). A deposit
/// always fits in one spend-check batch.
pub const DEPOSIT_COINS_MAX: usize = 256;
/// Entries in one spend confirmation.
pub const CONFIRMATION_ENTRIES_MAX: usize = SPEND_BATCH_COINS_MAX;
/// Spend confirmations in one settlement submission. Their entries are bounded together by
/// [`SUBMISSION_ENTRIES_MAX`].
pub const SUBMISSION_CONFIRMATIONS_MAX: usize = 1024;
/// Confirmed coins, over all confirmations, in one settlement submission: about 7 MiB encoded.
pub const SUBMISSION_ENTRIES_MAX: usize = 65_536;
/// Confirmations listed under one obligation of a settlement report.
pub const OBLIGATION_CONFIRMATIONS_MAX: usize = 65_536;
/// Coins given in to one swap (change) request.
pub const SWAP_INPUTS_MAX: usize = 256;
/// Blinded coins asked for in one swap request (and blind signatures in its answer).
pub const SWAP_OUTPUTS_MAX: usize = WITHDRAW_COINS_MAX;
/// Denominations in one published set.
pub const DENOMINATIONS_MAX: usize = 512;
/// Revoked denomination ids in one published set.
pub const REVOKED_MAX: usize = 4096;
/// Gross obligations in one settlement report.
pub const REPORT_OBLIGATIONS_MAX: usize = 16384;
/// Net positions in one settlement report.
pub const REPORT_POSITIONS_MAX: usize = 4096;
/// Confirmations claimed in one clearing cycle: a cycle that has no room for a submission's
/// claims is cut before they are counted, so no obligation of its report lists more.
pub const CYCLE_CONFIRMATIONS_MAX: usize = OBLIGATION_CONFIRMATIONS_MAX;
/// Refund confirmations in one settlement submission (and refund claim results in its receipt).
pub const SUBMISSION_REFUNDS_MAX: usize = 1024;
/// Refunds claimed in one clearing cycle: a cycle that has no room for a submission's refunds is
/// cut before they are counted, so no refund obligation of its report lists more.
pub const CYCLE_REFUNDS_MAX: usize = 65_536;
/// Refunds listed under one refund obligation of a settlement report.
pub const OBLIGATION_REFUNDS_MAX: usize = CYCLE_REFUNDS_MAX;
/// Settlement reports in one answer to a participant catching up.
pub const REPORTS_AFTER_MAX: usize = 16;
