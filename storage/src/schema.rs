//! The schema: column families, key layouts and the schema version.

use semper_protocol::ids::{
    AccountId, BankId, BatchId, DenominationId, Digest, MerchantId, RequestId, SubmissionId,
};

/// The schema version this build writes. A DB with a newer one is refused at open.
pub const SCHEMA_VERSION: u32 = 1;

/// A kind of record: one column family each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Column {
    /// Schema version and role.
    Meta,
    /// Customer accounts: key and balance. Key: account id.
    Accounts,
    /// Every balance change. Key: account id ‖ sequence (u64, big-endian).
    Journal,
    /// Operator credit references already applied. Key: the reference text.
    CreditReferences,
    /// Withdrawals, for idempotency. Key: account id ‖ request id.
    Withdrawals,
    /// The spent-coin set. Key: denomination id ‖ coin public key.
    SpentCoins,
    /// Published denominations. Key: denomination id.
    Denominations,
    /// Swaps (change), for idempotency: body digest and blind signatures. Key: request id. In a
    /// spent-set shard group: the refund allowance a swap used there (an amount), keyed by the
    /// swap request's digest then the coin's spent-set key (`swap_groups`).
    Swaps,
    /// Recoups, one per withdrawn coin at most: the request's digest and what was credited.
    /// Key: [`recoup_key`] (account id ‖ withdrawal request id ‖ index).
    Recoups,
    /// The issuer's books of coins blind-signed: per denomination and writer, the coins its
    /// recorded withdrawals and swaps signed. Key: [`issued_key`] (denomination id ‖ writer).
    IssuedCoins,
    // Clearing
    /// Settlement submissions answered, for idempotency: body digest and receipt. Key: acquirer ‖
    /// submission id.
    Submissions,
    /// Confirmations claimed, with the submission that claimed each. Key: issuer ‖ acquirer ‖
    /// batch id.
    ClaimedConfirmations,
    /// Coins claimed, with the submission that claimed each. Key: issuer ‖ coin public key.
    ClaimedCoins,
    /// The open clearing cycle (key [`CYCLE_OPEN`]), and each cut cycle whose report is not yet
    /// delivered (key [`undelivered_key`]).
    Cycles,
    /// The confirmations claimed in each cycle. Key: cycle number ‖ claim number (u64s,
    /// big-endian).
    CycleClaims,
    /// Signed settlement reports. Key: cycle number (u64, big-endian).
    Reports,
    // Issuer reconciliation
    /// What the issuer confirmed per spend-check batch: totals per currency. Key: acquirer ‖
    /// batch id.
    ConfirmedBatches,
    /// The body digest of every spend-check batch that confirmed coins, so that its id sent
    /// again with other coins is refused. Key: acquirer ‖ batch id.
    SpendBatches,
    // Received reports (any participant)
    /// Settlement reports received. Key: [`received_report_key`] or [`refused_report_key`].
    ReceivedReports,
    /// Discrepancies found in received reports, in the order found. Key: number (u64,
    /// big-endian).
    Discrepancies,
    // Acquirer
    /// Merchants: key, balances and journal length. Key: merchant id.
    Merchants,
    /// Every credit to a merchant. Key: merchant id ‖ sequence (u64, big-endian).
    MerchantJournal,
    /// Deposits answered, for idempotency. Key: merchant id ‖ deposit id.
    Deposits,
    /// Coins credited, and by which deposit, so that none is credited twice. Key: denomination
    /// id ‖ coin public key.
    AcquiredCoins,
    /// Issuer confirmations awaiting a settlement submission, oldest first. Key: sequence (u64,
    /// big-endian).
    Outbox,
    /// Settlement submissions, with their receipt once answered. Key: submission id.
    OutboxSubmissions,
    /// Submissions not yet answered, oldest first. Key: sequence (u64, big-endian).
    OutboxPending,
    /// Confirmations the clearing house counted, by cycle. Key: cycle sequence (u64,
    /// big-endian) ‖ issuer id ‖ batch id.
    ClaimsByCycle,
    /// Confirmations the clearing house did not count, with its reason. Key: batch id.
    RefusedClaims,
    /// Each trusted issuer's denomination set, as last verified. Key: issuer bank id.
    IssuerSets,
    // Refunds
    /// Issuer: each refund recorded, with its confirmation. Key: the refund's digest.
    IssuerRefunds,
    /// Issuer, beside the spent set: what was refunded on a coin, and what of it was swapped
    /// since. Key: as [`Column::SpentCoins`].
    RefundAllowances,
    /// Acquirer: each merchant's refund, with its answer, its notice and the issuer's
    /// confirmation once had. Key: merchant id ‖ refund id.
    Refunds,
    /// Acquirer: refunds whose notice the issuer has not confirmed yet, oldest first. Key:
    /// sequence (u64, big-endian); value: merchant id ‖ refund id.
    RefundsPending,
    /// Acquirer: what was refunded on each coin it credited. Key: as [`Column::AcquiredCoins`].
    CoinRefunds,
    /// Acquirer: issuers' refund confirmations awaiting a settlement submission, oldest first.
    /// Key: sequence (u64, big-endian).
    RefundOutbox,
    // Refunds in settlement
    /// Clearing: refunds settled, with the submission that claimed each. Key: issuer ‖ refund.
    ClaimedRefunds,
    /// Clearing: the refunds claimed in each cycle. Key: cycle number ‖ claim number (u64s,
    /// big-endian).
    CycleRefunds,
    /// Acquirer: refunds the clearing house settled, by cycle. Key: cycle sequence (u64,
    /// big-endian) ‖ issuer ‖ refund.
    RefundClaimsByCycle,
    /// Acquirer: refund confirmations the clearing house did not settle, with its reason. Key:
    /// refund.
    RefusedRefunds,
    /// Any participant: the cycle of the report that listed each refund, from the reports
    /// recorded. Key: refund.
    ReportedRefunds,
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 41] = [
        Column::Meta,
        Column::Accounts,
        Column::Journal,
        Column::CreditReferences,
        Column::Withdrawals,
        Column::SpentCoins,
        Column::Denominations,
        Column::Swaps,
        Column::Recoups,
        Column::IssuedCoins,
        // Clearing
        Column::Submissions,
        Column::ClaimedConfirmations,
        Column::ClaimedCoins,
        Column::Cycles,
        Column::CycleClaims,
        Column::Reports,
        // Issuer reconciliation
        Column::ConfirmedBatches,
        Column::SpendBatches,
        // Received reports (any participant)
        Column::ReceivedReports,
        Column::Discrepancies,
        // Acquirer
        Column::Merchants,
        Column::MerchantJournal,
        Column::Deposits,
        Column::AcquiredCoins,
        Column::Outbox,
        Column::OutboxSubmissions,
        Column::OutboxPending,
        Column::ClaimsByCycle,
        Column::RefusedClaims,
        Column::IssuerSets,
        // Refunds
        Column::IssuerRefunds,
        Column::RefundAllowances,
        Column::Refunds,
        Column::RefundsPending,
        Column::CoinRefunds,
        Column::RefundOutbox,
        // Refunds in settlement
        Column::ClaimedRefunds,
        Column::CycleRefunds,
        Column::RefundClaimsByCycle,
        Column::RefusedRefunds,
        Column::ReportedRefunds,
    ];

    /// The column family's name in RocksDB.
    pub fn name(self) -> &'static str {
        match self {
            Column::Meta => "meta",
            Column::Accounts => "accounts",
            Column::Journal => "journal",
            Column::CreditReferences => "credit_references",
            Column::Withdrawals => "withdrawals",
            Column::SpentCoins => "spent_coins",
            Column::Denominations => "denominations",
            Column::Swaps => "swaps",
            Column::Recoups => "recoups",
            Column::IssuedCoins => "issued_coins",
            // Clearing
            Column::Submissions => "submissions",
            Column::ClaimedConfirmations => "claimed_confirmations",
            Column::ClaimedCoins => "claimed_coins",
            Column::Cycles => "cycles",
            Column::CycleClaims => "cycle_claims",
            Column::Reports => "reports",
            // Issuer reconciliation
            Column::ConfirmedBatches => "confirmed_batches",
            Column::SpendBatches => "spend_batches",
            // Received reports (any participant)
            Column::ReceivedReports => "received_reports",
            Column::Discrepancies => "discrepancies",
            // Acquirer
            Column::Merchants => "merchants",
            Column::MerchantJournal => "merchant_journal",
            Column::Deposits => "deposits",
            Column::AcquiredCoins => "acquired_coins",
            Column::Outbox => "outbox",
            Column::OutboxSubmissions => "outbox_submissions",
            Column::OutboxPending => "outbox_pending",
            Column::ClaimsByCycle => "claims_by_cycle",
            Column::RefusedClaims => "refused_claims",
            Column::IssuerSets => "issuer_sets",
            // Refunds
            Column::IssuerRefunds => "issuer_refunds",
            Column::RefundAllowances => "refund_allowances",
            Column::Refunds => "refunds",
            Column::RefundsPending => "refunds_pending",
            Column::CoinRefunds => "coin_refunds",
            Column::RefundOutbox => "refund_outbox",
            // Refunds in settlement
            Column::ClaimedRefunds => "claimed_refunds",
            Column::CycleRefunds => "cycle_refunds",
            Column::RefundClaimsByCycle => "refund_claims_by_cycle",
            Column::RefusedRefunds => "refused_refunds",
            Column::ReportedRefunds => "reported_refunds",
        }
    }

    /// Whether point lookups in this column mostly miss, so a bloom filter pays for itself.
    pub fn wants_bloom_filter(self) -> bool {
        matches!(
            self,
            Column::SpentCoins
                | Column::Withdrawals
                | Column::Swaps
                | Column::CreditReferences
                | Column::Submissions
                | Column::ClaimedConfirmations
                | Column::ClaimedCoins
                | Column::ClaimedRefunds
                | Column::Deposits
                | Column::AcquiredCoins
        )
    }
}

/// Meta key of the schema version (u32, big-endian).
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Meta key of the role the DB belongs to (UTF-8).
pub const META_ROLE: &[u8] = b"role";
/// Meta key, in an issuer's main store, of the fingerprint of the shard map its spent set was
/// placed under (see `spent_shards`); absent while the spent set lives in the main store.
pub const META_SPENT_SHARD_MAP: &[u8] = b"spent_shard_map";
/// Meta key, in a shard group's store, of the map's fingerprint and the group's number (u64,
/// big-endian): a group's store cannot be taken for another's.
pub const META_SPENT_SHARD_GROUP: &[u8] = b"spent_shard_group";
/// Meta key of the published denomination set's sequence number (u64, big-endian).
pub const META_SET_SEQUENCE: &[u8] = b"denomination_set_sequence";
/// Issuer: the denomination set it publishes, as signed by its master key and uploaded.
pub const META_PUBLISHED_SET: &[u8] = b"published_denomination_set";
/// Meta keys of the acquirer's queues of sequence-keyed entries (see `acquirer::lanes`): each
/// writer takes its sequence numbers from a lane of its own, a block reserved from the queue's
/// shared counter, so that gateways sharing a store do not contend for one row.
///
/// The outbox's counter from before lanes: the entries it gave, 0, 1, 2..., frozen since
/// (u64, big-endian).
pub const META_OUTBOX_NEXT: &[u8] = b"outbox_next";
/// The outbox's next sequence number not yet reserved for a lane (u64, big-endian).
pub const META_OUTBOX_BLOCKS: &[u8] = b"outbox_blocks";
/// Prefix of a writer's outbox lane (then the writer, u64 big-endian): its block, and how many
/// entries it gave.
pub const META_OUTBOX_LANE: &[u8] = b"outbox_lane/";
/// The outbox entries taken into submissions, ever (u64, big-endian).
pub const META_OUTBOX_TAKEN: &[u8] = b"outbox_taken";
/// Meta key of the acquirer's next submission sequence number (u64, big-endian).
pub const META_SUBMISSION_NEXT: &[u8] = b"submission_next";
/// The queue of refunds waiting for their issuer's answer: its counter from before lanes.
pub const META_REFUND_NEXT: &[u8] = b"refund_next";
/// The refund queue's next sequence number not yet reserved for a lane.
pub const META_REFUND_BLOCKS: &[u8] = b"refund_blocks";
/// Prefix of a writer's refund-queue lane.
pub const META_REFUND_LANE: &[u8] = b"refund_lane/";
/// The refund outbox's counter from before lanes.
pub const META_REFUND_OUTBOX_NEXT: &[u8] = b"refund_outbox_next";
/// The refund outbox's next sequence number not yet reserved for a lane.
pub const META_REFUND_OUTBOX_BLOCKS: &[u8] = b"refund_outbox_blocks";
/// Prefix of a writer's refund-outbox lane.
pub const META_REFUND_OUTBOX_LANE: &[u8] = b"refund_outbox_lane/";
/// The refund confirmations taken into submissions, ever.
pub const META_REFUND_OUTBOX_TAKEN: &[u8] = b"refund_outbox_taken";

/// Key of a journal entry.
pub fn journal_key(account: &AccountId, sequence: u64) -> [u8; 24] {
    let mut key = [0u8; 24];
    key[..16].copy_from_slice(account.as_bytes());
    key[16..].copy_from_slice(&sequence.to_be_bytes());
    key
}

/// Key of a withdrawal record.
pub fn withdrawal_key(account: &AccountId, request: &RequestId) -> [u8; 32] {
    let mut key = [0u8; 32];
    key[..16].copy_from_slice(account.as_bytes());
    key[16..].copy_from_slice(request.as_bytes());
    key
}

/// Key of a recoup: the withdrawal slot the coin came from (account, request id, index).
pub fn recoup_key(account: &AccountId, request: &RequestId, index: u32) -> [u8; 36] {
    concat([
        account.as_bytes().as_slice(),
        request.as_bytes(),
        &index.to_be_bytes(),
    ])
}

/// Key of a writer's count of the coins of `denomination` issued: the denomination first, so
/// that its writers' rows sit together.
pub fn issued_key(denomination: &DenominationId, writer: u64) -> [u8; 40] {
    concat([denomination.as_bytes().as_slice(), &writer.to_be_bytes()])
}

/// Key of a spent coin: its denomination first, so that a denomination's entries prune as a range.
pub fn spent_key(denomination: &DenominationId, coin: &[u8; 32]) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(denomination.as_bytes());
    key[32..].copy_from_slice(coin);
    key
}

// Clearing

/// Key of the open cycle's record in [`Column::Cycles`].
pub const CYCLE_OPEN: &[u8] = b"open";
/// Key, in [`Column::Cycles`], of the number of refunds claimed in the open cycle (u64,
/// big-endian; absent: none), which are also the numbers of its next refund claim.
pub const CYCLE_OPEN_REFUNDS: &[u8] = b"open_refunds";

/// Key of a settled refund in [`Column::ClaimedRefunds`].
pub fn claimed_refund_key(issuer: &BankId, refund: &Digest) -> [u8; 48] {
    concat([issuer.as_bytes().as_slice(), refund.as_bytes()])
}

/// Prefix of the keys of [`undelivered_key`], in [`Column::Cycles`].
pub const UNDELIVERED_PREFIX: &[u8] = b"undelivered";

/// Key of the mark of cycle `sequence`'s report not yet delivered: written by the cut, removed
/// once every participant's delivery ended; the marks sort by cycle.
pub fn undelivered_key(sequence: u64) -> [u8; 19] {
    concat([UNDELIVERED_PREFIX, sequence.to_be_bytes().as_slice()])
}

/// Key of a settlement submission's record.
pub fn submission_key(acquirer: &BankId, submission: &SubmissionId) -> [u8; 32] {
    concat([acquirer.as_bytes(), submission.as_bytes()])
}

/// Key of a claimed confirmation.
pub fn claimed_confirmation_key(issuer: &BankId, acquirer: &BankId, batch: &BatchId) -> [u8; 48] {
    concat([issuer.as_bytes(), acquirer.as_bytes(), batch.as_bytes()])
}

/// Key of a claimed coin.
pub fn claimed_coin_key(issuer: &BankId, coin: &[u8; 32]) -> [u8; 48] {
    concat([issuer.as_bytes().as_slice(), coin])
}

/// Key of claim number `index` of cycle `sequence`: a cycle's claims are one range, in order.
pub fn cycle_claim_key(sequence: u64, index: u64) -> [u8; 16] {
    concat([sequence.to_be_bytes(), index.to_be_bytes()])
}

/// Key of the report of cycle `sequence`: reports sort by cycle.
pub fn report_key(sequence: u64) -> [u8; 8] {
    sequence.to_be_bytes()
}

// Issuer reconciliation

/// Key of an acquirer's spend-check batch at its issuer: its confirmed totals and its digest.
pub fn confirmed_batch_key(acquirer: &BankId, batch: &BatchId) -> [u8; 32] {
    concat([acquirer.as_bytes(), batch.as_bytes()])
}

// Received reports (any participant)

/// Key of a received report that was verified and applied: tag 0 ‖ cycle number, so applied
/// reports sort by cycle.
pub fn received_report_key(sequence: u64) -> [u8; 9] {
    concat([[0u8].as_slice(), &sequence.to_be_bytes()])
}

/// Key of a received report that failed verification: tag 1 ‖ its body digest, so a re-delivered
/// one is recorded once.
pub fn refused_report_key(digest: &Digest) -> [u8; 33] {
    concat([[1u8].as_slice(), digest.as_bytes()])
}

/// Key of discrepancy number `index`.
pub fn discrepancy_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Meta key of the highest cycle number of the received reports applied (u64, big-endian).
pub const META_REPORTS_LAST_SEQUENCE: &[u8] = b"reports_last_sequence";
/// Meta key of the highest cycle number N such that the reports of cycles 1 to N are all applied
/// (u64, big-endian): where a participant catching up asks from.
pub const META_REPORTS_APPLIED_THROUGH: &[u8] = b"reports_applied_through";
/// Meta key of the number of discrepancies recorded (u64, big-endian).
pub const META_DISCREPANCIES_LEN: &[u8] = b"discrepancies_len";

// Acquirer

/// Key of a merchant journal entry.
pub fn merchant_journal_key(merchant: &MerchantId, sequence: u64) -> [u8; 24] {
    concat([merchant.as_bytes().as_slice(), &sequence.to_be_bytes()])
}

/// Key of a merchant's refund record.
pub fn refund_key(merchant: &MerchantId, refund: &RequestId) -> [u8; 32] {
    concat([merchant.as_bytes(), refund.as_bytes()])
}

/// Key of a merchant's deposit record.
pub fn deposit_key(merchant: &MerchantId, deposit: &RequestId) -> [u8; 32] {
    concat([merchant.as_bytes(), deposit.as_bytes()])
}

/// Key of an outbox entry or a pending submission: its sequence number, so keys sort oldest first.
pub fn sequence_key(sequence: u64) -> [u8; 8] {
    sequence.to_be_bytes()
}

/// Key of a confirmation the clearing house counted, in [`Column::ClaimsByCycle`]: its cycle
/// first, so that a cycle's claims are one range.
pub fn claim_by_cycle_key(cycle_sequence: u64, issuer: &BankId, batch: &BatchId) -> [u8; 40] {
    concat([
        cycle_sequence.to_be_bytes().as_slice(),
        issuer.as_bytes(),
        batch.as_bytes(),
    ])
}

/// Key of a refund the clearing house settled, in [`Column::RefundClaimsByCycle`]: its cycle
/// first, so that a cycle's refunds are one range.
pub fn refund_claim_by_cycle_key(
    cycle_sequence: u64,
    issuer: &BankId,
    refund: &Digest,
) -> [u8; 56] {
    concat([
        cycle_sequence.to_be_bytes().as_slice(),
        issuer.as_bytes(),
        refund.as_bytes(),
    ])
}

/// `parts` end to end, in a key of exactly their total length.
fn concat<const N: usize, P: AsRef<[u8]>, const K: usize>(parts: [P; K]) -> [u8; N] {
    let mut key = [0u8; N];
    let mut at = 0;
    for part in &parts {
        let part = part.as_ref();
        key[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    debug_assert_eq!(at, N, "key parts must fill the key");
    key
}
