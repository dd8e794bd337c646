//! The schema: column families, key layouts and the schema version.

use semper_protocol::ids::{AccountId, BankId, BatchId, DenominationId, MerchantId, RequestId};

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
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 17] = [
        Column::Meta,
        Column::Accounts,
        Column::Journal,
        Column::CreditReferences,
        Column::Withdrawals,
        Column::SpentCoins,
        Column::Denominations,
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
        }
    }

    /// Whether point lookups in this column mostly miss, so a bloom filter pays for itself.
    pub fn wants_bloom_filter(self) -> bool {
        matches!(
            self,
            Column::SpentCoins
                | Column::Withdrawals
                | Column::CreditReferences
                | Column::Deposits
                | Column::AcquiredCoins
        )
    }
}

/// Meta key of the schema version (u32, big-endian).
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Meta key of the role the DB belongs to (UTF-8).
pub const META_ROLE: &[u8] = b"role";
/// Meta key of the published denomination set's sequence number (u64, big-endian).
pub const META_SET_SEQUENCE: &[u8] = b"denomination_set_sequence";
/// Meta key of the acquirer's next outbox sequence number (u64, big-endian).
pub const META_OUTBOX_NEXT: &[u8] = b"outbox_next";
/// Meta key of the acquirer's next submission sequence number (u64, big-endian).
pub const META_SUBMISSION_NEXT: &[u8] = b"submission_next";

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

/// Key of a spent coin: its denomination first, so that a denomination's entries prune as a range.
pub fn spent_key(denomination: &DenominationId, coin: &[u8; 32]) -> [u8; 64] {
    let mut key = [0u8; 64];
    key[..32].copy_from_slice(denomination.as_bytes());
    key[32..].copy_from_slice(coin);
    key
}

/// Key of a merchant journal entry.
pub fn merchant_journal_key(merchant: &MerchantId, sequence: u64) -> [u8; 24] {
    concat([merchant.as_bytes(), &sequence.to_be_bytes()])
}

/// Key of a merchant's deposit record.
pub fn deposit_key(merchant: &MerchantId, deposit: &RequestId) -> [u8; 32] {
    concat([merchant.as_bytes(), deposit.as_bytes()])
}

/// Key of an outbox entry or a pending submission: its sequence number, so keys sort oldest first.
pub fn sequence_key(sequence: u64) -> [u8; 8] {
    sequence.to_be_bytes()
}

/// Key of a claimed confirmation: its cycle first, so that a cycle's claims are one range.
pub fn cycle_claim_key(cycle_sequence: u64, issuer: &BankId, batch: &BatchId) -> [u8; 40] {
    concat([
        &cycle_sequence.to_be_bytes(),
        issuer.as_bytes(),
        batch.as_bytes(),
    ])
}

/// The parts, one after the other, in a key of exactly their total length.
fn concat<const N: usize, const P: usize>(parts: [&[u8]; P]) -> [u8; N] {
    let mut key = [0u8; N];
    let mut at = 0;
    for part in parts {
        key[at..at + part.len()].copy_from_slice(part);
        at += part.len();
    }
    debug_assert_eq!(at, N, "key parts must fill the key");
    key
}
