//! Deposits: the results of a micro-batch, the merchants' credits, the coin index and the outbox,
//! in one atomic write. A deposit id answers the same way for ever; a coin is credited at most
//! once, whatever the issuer said and however often it is deposited.

use std::collections::{HashMap, HashSet};

use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::Encode;
use semper_protocol::codec_struct;
use semper_protocol::ids::{BatchId, Digest, MerchantId, RequestId};
use semper_protocol::limits::DEPOSIT_COINS_MAX;
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::merchant::{DepositResponse, DepositResult};
use semper_protocol::messages::spend::{SignedSpendConfirmation, SpendConfirmation};
use semper_protocol::time::Timestamp;

use super::merchants::{MerchantError, MerchantRecord, credit, read_merchant};
use super::outbox::enqueue;
use crate::commit::{GroupReader, Transaction, WriteSet};
use crate::error::StorageError;
use crate::ledger::decode_record;
use crate::schema::{Column, deposit_key, spent_key};
use crate::store::Store;

/// A deposit as stored: with its answer once every coin has its final result, without while some
/// coins wait for a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepositRecord {
    /// Digest of the signed request's body: a retry must match it.
    pub request_digest: Digest,
    /// The answer, returned again to every retry; `None` while the deposit is incomplete.
    pub response: Option<DepositResponse>,
    /// When it was last recorded.
    pub at: Timestamp,
}

codec_struct!(DepositRecord {
    request_digest,
    response,
    at
});

/// The coin index's record of a credited coin: which deposit credited it, with which permission,
/// confirmed in which spend-check batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoinCredit {
    /// The merchant credited.
    pub merchant: MerchantId,
    /// The deposit that credited it.
    pub deposit_id: RequestId,
    /// The spend-check batch whose confirmation lists it.
    pub batch_id: BatchId,
    /// Digest of the permission's body.
    pub permission_digest: Digest,
    /// The permission: the proof returned when the coin is deposited again with another one.
    pub permission: SignedDepositPermission,
    /// The deposit's refund deadline: no refund of the coin after it.
    pub refund_deadline: Timestamp,
}

codec_struct!(CoinCredit {
    merchant,
    deposit_id,
    batch_id,
    permission_digest,
    permission,
    refund_deadline
});

/// The coin index key of a permission's coin: the issuer's spent-set layout, one coin, one key.
pub fn coin_key(permission: &SignedDepositPermission) -> [u8; 64] {
    let coin = &permission.body().coin;
    spent_key(&coin.denomination, coin.public_key.as_bytes())
}

/// What the micro-batch learnt about one coin of a deposit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CoinInput {
    /// Final, and never credited: refused, or a double spend the issuer proved.
    Settled(DepositResult),
    /// The issuer holds the coin spent by this permission, and its confirmation of `batch_id`
    /// lists it: credited, unless the coin index already has it.
    Confirmed {
        /// The spend-check batch.
        batch_id: BatchId,
        /// Digest of the permission's body.
        digest: Digest,
        /// The permission.
        permission: Box<SignedDepositPermission>,
        /// The deposit fee of the coin's denomination, which the acquirer keeps: the merchant is
        /// credited the permission's amount less it.
        fee: Amount,
    },
    /// In the coin index when the batch was prepared, so not sent to the issuer: answered from
    /// the index, never credited again.
    Known {
        /// Digest of the permission's body.
        digest: Digest,
        /// The coin index key.
        coin: [u8; 64],
    },
    /// No usable answer from the issuer: the deposit stays open, and a retry asks again.
    Unresolved {
        /// The stable code of what went wrong.
        code: String,
    },
}

/// One deposit of a micro-batch.
#[derive(Clone, Debug)]
pub struct DepositInput {
    /// The merchant.
    pub merchant: MerchantId,
    /// The merchant's idempotency key.
    pub deposit_id: RequestId,
    /// Digest of the signed request's body.
    pub request_digest: Digest,
    /// The request's refund deadline, kept with each coin it credits.
    pub refund_deadline: Timestamp,
    /// One input per permission, in the request's order.
    pub coins: Vec<CoinInput>,
}

/// What recording a deposit did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DepositOutcome {
    /// Every coin has its final result; credited and recorded now.
    Recorded(DepositResponse),
    /// The same deposit was recorded before: its stored answer, and nothing credited.
    Replayed(DepositResponse),
    /// Some coins have no result yet: those confirmed are credited, nothing else is recorded, and
    /// the merchant should retry with the same deposit id.
    Incomplete {
        /// The code of the first unresolved coin.
        code: String,
    },
    /// Nothing written for this deposit.
    Refused(MerchantError),
}

/// Records a micro-batch in one atomic write: each deposit's results, the credits of the coins
/// confirmed for the first time (in the coin index too), and the issuers' confirmations into the
/// outbox.
///
/// A confirmation goes into the outbox only if every coin it lists is credited under it, here
/// and now: the acquirer claims from an issuer exactly what it credits its merchants. One
/// gateway never has a coin at an issuer twice at a time (its in-flight set), but two gateways
/// sharing the store may: both get a confirmation listing it (one as accepted, one as a replay),
/// and the second to record finds the coin credited already. Its confirmation is then withheld,
/// since the clearing house would refuse it whole for the coin claimed twice, and its other
/// coins are left open (`deposit.confirmation_withheld`, retryable) rather than credited without
/// a claim: the deposit's retry has them confirmed again, in a batch of their own.
#[derive(Clone, Debug)]
pub struct RecordDeposits {
    /// The deposits, in the order their outcomes come back.
    pub deposits: Vec<DepositInput>,
    /// The issuers' signed confirmations of the batch, for settlement.
    pub confirmations: Vec<SignedSpendConfirmation>,
    /// When.
    pub at: Timestamp,
}

impl Transaction for RecordDeposits {
    type Output = Vec<DepositOutcome>;

    fn apply(self, reader: &GroupReader<'_>) -> Result<(Self::Output, WriteSet), StorageError> {
        // The confirmations withheld, and their coins left open: grows each round, so the loop
        // ends (once they are all withheld, none is left to withhold).
        let mut withheld: HashSet<BatchId> = HashSet::new();
        loop {
            let mut writes = WriteSet::new();
            let mut batch = BatchState {
                reader,
                coins: HashMap::new(),
                merchants: HashMap::new(),
                withheld: &withheld,
            };
            let mut outcomes = Vec::with_capacity(self.deposits.len());
            for deposit in &self.deposits {
                outcomes.push(batch.record(deposit.clone(), self.at, &mut writes)?);
            }
            let unclaimable: Vec<BatchId> = self
                .confirmations
                .iter()
                .map(|confirmation| confirmation.body())
                .filter(|body| !withheld.contains(&body.batch_id))
                .filter(|body| !batch.credits_all(body))
                .map(|body| body.batch_id)
                .collect();
            if unclaimable.is_empty() {
                let claimed = self
                    .confirmations
                    .iter()
                    .filter(|confirmation| !withheld.contains(&confirmation.body().batch_id))
                    .cloned()
                    .collect();
                enqueue(reader, &mut writes, claimed)?;
                return Ok((outcomes, writes));
            }
            withheld.extend(unclaimable);
        }
    }
}

/// What the transaction has read or changed so far: later deposits of the batch see the credits
/// of earlier ones.
struct BatchState<'r, 'a> {
    reader: &'r GroupReader<'a>,
    coins: HashMap<[u8; 64], Option<CoinCredit>>,
    merchants: HashMap<MerchantId, MerchantRecord>,
    /// The batches whose confirmations are withheld: their coins are left open.
    withheld: &'r HashSet<BatchId>,
}

/// The code of a coin left open because its confirmation is withheld (see [`RecordDeposits`]).
pub const CONFIRMATION_WITHHELD: &str = "deposit.confirmation_withheld";

impl BatchState<'_, '_> {
    /// Whether every coin `confirmation` lists is credited under its batch, as of now.
    fn credits_all(&self, confirmation: &SpendConfirmation) -> bool {
        confirmation.entries.iter().all(|entry| {
            let key = spent_key(&entry.denomination, entry.coin.as_bytes());
            matches!(
                self.coins.get(&key),
                Some(Some(credit)) if credit.batch_id == confirmation.batch_id
            )
        })
    }

    fn coin(&mut self, key: &[u8; 64]) -> Result<Option<CoinCredit>, StorageError> {
        if let Some(known) = self.coins.get(key) {
            return Ok(known.clone());
        }
        let stored = self
            .reader
            .get(Column::AcquiredCoins, key)?
            .map(|bytes| decode_record("acquired_coins", &bytes))
            .transpose()?;
        self.coins.insert(*key, stored.clone());
        Ok(stored)
    }

    fn merchant(&mut self, merchant: &MerchantId) -> Result<Option<MerchantRecord>, StorageError> {
        if let Some(record) = self.merchants.get(merchant) {
            return Ok(Some(record.clone()));
        }
        read_merchant(self.reader, merchant)
    }

    fn record(
        &mut self,
        deposit: DepositInput,
        at: Timestamp,
        writes: &mut WriteSet,
    ) -> Result<DepositOutcome, StorageError> {
        let key = deposit_key(&deposit.merchant, &deposit.deposit_id);
        if let Some(bytes) = self.reader.get(Column::Deposits, &key)? {
            let earlier: DepositRecord = decode_record("deposits", &bytes)?;
            if earlier.request_digest != deposit.request_digest {
                return Ok(DepositOutcome::Refused(MerchantError::DepositIdReused));
            }
            if let Some(response) = earlier.response {
                return Ok(DepositOutcome::Replayed(response));
            }
        }
        let Some(merchant) = self.merchant(&deposit.merchant)? else {
            return Ok(DepositOutcome::Refused(MerchantError::UnknownMerchant));
        };
        // First decide every coin, then write: a refusal leaves nothing behind.
        let mut results = Vec::with_capacity(deposit.coins.len());
        // Each credited coin with what the merchant gets for it: its amount less the deposit fee.
        let mut credits: Vec<(Amount, [u8; 64], CoinCredit)> = Vec::new();
        let mut unresolved: Option<String> = None;
        let owner = (deposit.merchant, deposit.deposit_id);
        for input in deposit.coins {
            let result = match input {
                CoinInput::Settled(result) => result,
                CoinInput::Unresolved { code } => {
                    unresolved.get_or_insert(code.clone());
                    DepositResult::Refused { code }
                }
                CoinInput::Known { digest, coin } => match self.coin(&coin)? {
                    Some(earlier) => answer_from_index(owner, &digest, earlier),
                    // Not sent to the issuer, so never credited without its confirmation.
                    None => {
                        let code = "deposit.coin_index_changed".to_owned();
                        unresolved.get_or_insert(code.clone());
                        DepositResult::Refused { code }
                    }
                },
                CoinInput::Confirmed { batch_id, .. } if self.withheld.contains(&batch_id) => {
                    let code = CONFIRMATION_WITHHELD.to_owned();
                    unresolved.get_or_insert(code.clone());
                    DepositResult::Refused { code }
                }
                CoinInput::Confirmed {
                    batch_id,
                    digest,
                    permission,
                    fee,
                } => {
                    let coin = coin_key(&permission);
                    match self.coin(&coin)? {
                        Some(earlier) => answer_from_index(owner, &digest, earlier),
                        None => {
                            let net = match permission.body().amount.checked_sub(fee) {
                                Ok(net) => net,
                                Err(error) => return Ok(DepositOutcome::Refused(error.into())),
                            };
                            credits.push((
                                net,
                                coin,
                                CoinCredit {
                                    merchant: deposit.merchant,
                                    deposit_id: deposit.deposit_id,
                                    batch_id,
                                    permission_digest: digest,
                                    permission: *permission,
                                    refund_deadline: deposit.refund_deadline,
                                },
                            ));
                            DepositResult::Accepted
                        }
                    }
                }
            };
            results.push(result);
        }
        let Ok(results) = BoundedVec::<_, DEPOSIT_COINS_MAX>::new(results) else {
            return Ok(DepositOutcome::Refused(MerchantError::TooManyCoins));
        };
        let mut total: Option<Amount> = None;
        for (amount, _, _) in &credits {
            let amount = *amount;
            total = Some(match total.map(|sum| sum.checked_add(amount)) {
                None => amount,
                Some(Ok(sum)) => sum,
                Some(Err(error)) => return Ok(DepositOutcome::Refused(error.into())),
            });
        }
        if let Some(total) = total {
            // `credit` writes nothing when it refuses.
            match credit(
                writes,
                &deposit.merchant,
                &merchant,
                deposit.deposit_id,
                total,
                at,
            ) {
                Ok(updated) => self.merchants.insert(deposit.merchant, updated),
                Err(error) => return Ok(DepositOutcome::Refused(error)),
            };
        }
        for (_, coin, credited) in credits {
            writes.put(Column::AcquiredCoins, coin.to_vec(), credited.to_bytes());
            self.coins.insert(coin, Some(credited));
        }
        let response = DepositResponse {
            merchant: deposit.merchant,
            deposit_id: deposit.deposit_id,
            results,
        };
        let (record, outcome) = match unresolved {
            None => (Some(response.clone()), DepositOutcome::Recorded(response)),
            Some(code) => (None, DepositOutcome::Incomplete { code }),
        };
        let record = DepositRecord {
            request_digest: deposit.request_digest,
            response: record,
            at,
        };
        writes.put(Column::Deposits, key.to_vec(), record.to_bytes());
        Ok(outcome)
    }
}

/// The answer for a coin the index already holds: credited by this very deposit (an earlier,
/// incomplete attempt), by another deposit with the same permission, or with another permission.
fn answer_from_index(
    (merchant, deposit_id): (MerchantId, RequestId),
    digest: &Digest,
    earlier: CoinCredit,
) -> DepositResult {
    if earlier.merchant == merchant && earlier.deposit_id == deposit_id {
        DepositResult::Accepted
    } else if earlier.permission_digest == *digest {
        DepositResult::Replay
    } else {
        DepositResult::Conflict {
            earlier: Box::new(earlier.permission),
        }
    }
}

/// A stored deposit, read directly from the store.
pub fn deposit(
    store: &Store,
    merchant: &MerchantId,
    deposit_id: &RequestId,
) -> Result<Option<DepositRecord>, StorageError> {
    store
        .get(Column::Deposits, &deposit_key(merchant, deposit_id))?
        .map(|bytes| decode_record("deposits", &bytes))
        .transpose()
}

/// The coin index's record of each coin, in order: `None` for a coin never credited here.
pub fn coin_credits(
    store: &Store,
    coins: &[[u8; 64]],
) -> Result<Vec<Option<CoinCredit>>, StorageError> {
    let keys: Vec<&[u8]> = coins.iter().map(|k| k.as_slice()).collect();
    store
        .multi_get(Column::AcquiredCoins, &keys)?
        .into_iter()
        .map(|value| {
            value
                .map(|bytes| decode_record("acquired_coins", &bytes))
                .transpose()
        })
        .collect()
}
