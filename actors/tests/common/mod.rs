//! What the issuer tests share: one issuer configuration, and euro amounts.

use std::path::PathBuf;

use semper_actors::issuer::{DenominationSchedule, IssuerConfig, IssuerHandle};
use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::RsaKeySize;
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::Denomination;
use semper_protocol::ids::{BankId, BatchId, ContractHash, MerchantId};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::spend::{SignedSpendCheckBatch, SpendCheckBatch};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use semper_storage::CommitConfig;

/// The issuer under test.
pub const ISSUER: BankId = BankId([1; 16]);
/// The one acquirer it accepts spend checks from.
pub const ACQUIRER: BankId = BankId([2; 16]);
/// An hour, for the denomination schedule.
pub const HOUR_MS: u64 = 3_600_000;
/// The tests' starting time, and every permission's timestamp.
pub const START: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

/// The first denomination of the set `issuer` publishes: the one the tests withdraw.
pub fn first_denomination(issuer: &IssuerHandle) -> Denomination {
    let set = issuer.denomination_set().unwrap();
    set.body().fields().denominations[0].clone()
}

/// An amount in euros, e.g. `eur("1.00")`.
pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// An issuer on `dir` with one 1-euro denomination series of RSA-2048 keys, day-long windows, and
/// [`ACQUIRER`] with `acquirer_key` as its only acquirer.
pub fn issuer_config(
    dir: PathBuf,
    in_flight_max: usize,
    acquirer_key: &SigningKey,
) -> IssuerConfig {
    IssuerConfig {
        id: ISSUER,
        data_dir: dir,
        store: None,
        signer: semper_actors::issuer::config::SignerChoice::InProcess(Default::default()),
        master: Default::default(),
        commit: CommitConfig::default(),
        pool_threads: 2,
        mailbox_capacity: 64,
        in_flight_max,
        schedule: DenominationSchedule {
            values: vec![eur("1.00")],
            fees: Vec::new(),
            key_size: RsaKeySize::Bits2048,
            withdraw_period_ms: 24 * HOUR_MS,
            deposit_grace_ms: 24 * HOUR_MS,
            retention_ms: 24 * HOUR_MS,
            lookahead_ms: HOUR_MS,
            rotation_check_ms: HOUR_MS,
        },
        acquirers: vec![(ACQUIRER, *acquirer_key.verifying_key())],
        clearing: None,
        spent_shards: Default::default(),
    }
}

/// `coin`'s permission to pay merchant number `merchant` through [`ACQUIRER`], signed at [`START`].
pub fn permission(coin: &WalletCoin, merchant: u8) -> SignedDepositPermission {
    permission_at(coin, merchant, START)
}

/// The same, signed at `at`: a coin of a denomination valid from later is paid later.
pub fn permission_at(coin: &WalletCoin, merchant: u8, at: Timestamp) -> SignedDepositPermission {
    wallet::sign_deposit_permission(
        coin,
        ContractHash([merchant; 32]),
        MerchantId([merchant; 16]),
        ACQUIRER,
        at,
    )
}

/// A spend-check batch of `permissions` from [`ACQUIRER`], signed with `acquirer_key`.
pub fn spend_batch(
    acquirer_key: &SigningKey,
    id: [u8; 16],
    permissions: Vec<SignedDepositPermission>,
) -> SignedSpendCheckBatch {
    let body = SpendCheckBatch {
        acquirer: ACQUIRER,
        batch_id: BatchId(id),
        permissions: permissions.try_into().unwrap(),
    };
    Signed::sign(body, acquirer_key)
}
