//! The schema: column families, key layouts and the schema version.

use semper_protocol::ids::{AccountId, DenominationId, RequestId};

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
}

impl Column {
    /// Every column, in a fixed order.
    pub const ALL: [Column; 7] = [
        Column::Meta,
        Column::Accounts,
        Column::Journal,
        Column::CreditReferences,
        Column::Withdrawals,
        Column::SpentCoins,
        Column::Denominations,
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
        }
    }

    /// Whether point lookups in this column mostly miss, so a bloom filter pays for itself.
    pub fn wants_bloom_filter(self) -> bool {
        matches!(
            self,
            Column::SpentCoins | Column::Withdrawals | Column::CreditReferences
        )
    }
}

/// Meta key of the schema version (u32, big-endian).
pub const META_SCHEMA_VERSION: &[u8] = b"schema_version";
/// Meta key of the role the DB belongs to (UTF-8).
pub const META_ROLE: &[u8] = b"role";
/// Meta key of the published denomination set's sequence number (u64, big-endian).
pub const META_SET_SEQUENCE: &[u8] = b"denomination_set_sequence";

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
