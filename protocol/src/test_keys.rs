//! Keys and fixtures shared by the unit tests. RSA generation is slow, so each key is made once
//! per test process.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::amount::Amount;
use crate::crypto::blind_rsa::{DenominationSecretKey, RsaKeySize};
use crate::crypto::ed25519::SigningKey;
use crate::denomination::{Denomination, DenominationFees, DenominationFields};
use crate::ids::{AccountId, BankId, ContractHash, DenominationId, MerchantId, RequestId};
use crate::messages::deposit::SignedDepositPermission;
use crate::messages::withdraw::WithdrawResponse;
use crate::time::Timestamp;
use crate::wallet::{self, WalletCoin};

/// A 2048-bit denomination key.
pub fn rsa_2048() -> &'static DenominationSecretKey {
    static KEY: OnceLock<DenominationSecretKey> = OnceLock::new();
    KEY.get_or_init(|| DenominationSecretKey::generate(RsaKeySize::Bits2048).unwrap())
}

/// A second, different 2048-bit denomination key.
pub fn rsa_2048_other() -> &'static DenominationSecretKey {
    static KEY: OnceLock<DenominationSecretKey> = OnceLock::new();
    KEY.get_or_init(|| DenominationSecretKey::generate(RsaKeySize::Bits2048).unwrap())
}

/// A 3072-bit denomination key.
pub fn rsa_3072() -> &'static DenominationSecretKey {
    static KEY: OnceLock<DenominationSecretKey> = OnceLock::new();
    KEY.get_or_init(|| DenominationSecretKey::generate(RsaKeySize::Bits3072).unwrap())
}

/// The issuer of the test denominations.
pub const ISSUER: BankId = BankId([1; 16]);
/// The acquirer of the test deposits.
pub const ACQUIRER: BankId = BankId([2; 16]);
/// "Now" in the tests.
pub const NOW: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

/// A denomination of `value` under `key`, valid around [`NOW`].
pub fn denomination(value: &str, key: &DenominationSecretKey) -> Denomination {
    let value = value.parse::<Amount>().unwrap();
    Denomination::new(DenominationFields {
        issuer: ISSUER,
        value,
        public_key: key.public_key().clone(),
        valid_from: Timestamp::from_unix_ms(NOW.unix_ms() - 1000),
        withdraw_until: NOW.plus_ms(1000),
        deposit_until: NOW.plus_ms(2000),
        retain_until: NOW.plus_ms(3000),
        fees: DenominationFees::zero(value.currency()),
    })
    .unwrap()
}

/// Withdraws `count` coins of `denomination`, blind-signed by `key`.
pub fn coins(
    denomination: &Denomination,
    key: &DenominationSecretKey,
    count: usize,
) -> Vec<WalletCoin> {
    let mut rng = rand::rng();
    let account_key = SigningKey::generate(&mut rng);
    let request_id = RequestId([9; 16]);
    let wanted = vec![denomination.clone(); count];
    let (request, planned) = wallet::prepare_withdraw(
        &mut rng,
        &account_key,
        AccountId([3; 16]),
        request_id,
        &wanted,
    )
    .unwrap();
    let signatures = request
        .body()
        .coins
        .iter()
        .map(|coin| key.blind_sign(&coin.blinded).unwrap())
        .collect::<Vec<_>>();
    let response = WithdrawResponse {
        request_id,
        blind_signatures: signatures.try_into().unwrap(),
    };
    wallet::finalize_coins(request_id, planned, &response).unwrap()
}

/// A deposit permission for each coin, to the test acquirer.
pub fn permissions(coins: &[WalletCoin]) -> Vec<SignedDepositPermission> {
    coins
        .iter()
        .map(|coin| {
            wallet::sign_deposit_permission(
                coin,
                ContractHash([4; 32]),
                MerchantId([5; 16]),
                ACQUIRER,
                NOW,
            )
        })
        .collect()
}

/// A lookup holding `denominations`.
pub fn lookup(denominations: &[&Denomination]) -> HashMap<DenominationId, Denomination> {
    denominations
        .iter()
        .map(|d| (d.id(), (*d).clone()))
        .collect()
}
