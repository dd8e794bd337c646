//! The data the benchmarks run on, built once before anything is timed.
//!
//! Everything here is valid, and building it panics otherwise: a benchmark that timed a failing
//! path would measure the wrong thing, and these inputs come from no one but the fixtures.

use std::collections::HashMap;

use rand::Rng as _;
use semper_protocol::amount::Amount;
use semper_protocol::crypto::blind_rsa::{
    BlindedMessage, DenominationSecretKey, RsaKeySize, RsaSignature,
};
use semper_protocol::crypto::ed25519::{BatchItem, Signature, SigningKey, VerifyingKey};
use semper_protocol::denomination::{Denomination, DenominationFees, DenominationFields};
use semper_protocol::ids::{
    AccountId, BankId, ContractHash, DenominationId, MerchantId, RequestId,
};
use semper_protocol::messages::coin::Coin;
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::withdraw::WithdrawResponse;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet;

/// The issuer of every fixture denomination.
pub const ISSUER: BankId = BankId([1; 16]);
/// The acquirer every fixture deposit permission names.
pub const ACQUIRER: BankId = BankId([2; 16]);
/// The instant the fixtures are made and deposited at.
pub const NOW: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);
/// What one fixture coin is worth.
pub const COIN_VALUE: &str = "EUR:1.00";
/// Length of each Ed25519 fixture message: about a deposit permission's encoding.
pub const ED25519_MESSAGE_BYTES: usize = 200;

/// A denomination of [`COIN_VALUE`] under `key`, open for withdrawal and deposit at [`NOW`].
pub fn denomination(key: &DenominationSecretKey) -> Denomination {
    let hour_ms = 3_600_000;
    let value = COIN_VALUE
        .parse::<Amount>()
        .expect("COIN_VALUE is an amount");
    Denomination::new(DenominationFields {
        issuer: ISSUER,
        value,
        public_key: key.public_key().clone(),
        valid_from: Timestamp::from_unix_ms(NOW.unix_ms() - hour_ms),
        withdraw_until: NOW.plus_ms(hour_ms),
        deposit_until: NOW.plus_ms(2 * hour_ms),
        retain_until: NOW.plus_ms(3 * hour_ms),
        fees: DenominationFees::zero(value.currency()),
    })
    .expect("fixture denomination is valid")
}

/// A denomination key, with one coin's message blinded and signed under it.
pub struct RsaFixture {
    /// The issuer's key.
    pub secret: DenominationSecretKey,
    /// The coin message: what the issuer blind-signs and the coin signature covers.
    pub message: Vec<u8>,
    /// The coin message, blinded: the issuer's input.
    pub blinded: BlindedMessage,
    /// The finalized coin signature on `message`.
    pub signature: RsaSignature,
}

impl RsaFixture {
    /// A fresh key of `size` and a coin withdrawn under it (blind, blind-sign, finalize).
    pub fn generate(size: RsaKeySize) -> Self {
        let mut rng = rand::rng();
        let secret = DenominationSecretKey::generate(size).expect("RSA key generation");
        let public = secret.public_key();
        let coin_key = SigningKey::generate(&mut rng);
        let message = Coin::message_for(denomination(&secret).id(), *coin_key.verifying_key());
        let (blinded, blinding) = public.blind(&mut rng, &message).expect("blind");
        let blind_signature = secret.blind_sign(&blinded).expect("blind_sign");
        let signature = public
            .finalize(&blind_signature, &blinding, &message)
            .expect("finalize");
        public.verify(&message, &signature).expect("coin verifies");
        Self {
            secret,
            message,
            blinded,
            signature,
        }
    }
}

/// Ed25519 signatures by distinct keys, each on its own random message.
pub struct Ed25519Fixture {
    keys: Vec<VerifyingKey>,
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
}

impl Ed25519Fixture {
    /// `count` signatures on messages of [`ED25519_MESSAGE_BYTES`].
    pub fn generate(count: usize) -> Self {
        let mut rng = rand::rng();
        let mut fixture = Self {
            keys: Vec::with_capacity(count),
            messages: Vec::with_capacity(count),
            signatures: Vec::with_capacity(count),
        };
        for _ in 0..count {
            let key = SigningKey::generate(&mut rng);
            let mut message = vec![0u8; ED25519_MESSAGE_BYTES];
            rng.fill_bytes(&mut message);
            fixture.signatures.push(key.sign(&message));
            fixture.keys.push(*key.verifying_key());
            fixture.messages.push(message);
        }
        fixture
    }

    /// Every signature, as batch items.
    pub fn items(&self) -> Vec<BatchItem<'_>> {
        self.keys
            .iter()
            .zip(&self.messages)
            .zip(&self.signatures)
            .map(|((key, message), signature)| BatchItem {
                key,
                message,
                signature,
            })
            .collect()
    }
}

/// Signed deposit permissions for freshly withdrawn coins, and the denominations to check them by.
pub struct DepositFixture {
    /// One permission per coin, all to [`ACQUIRER`].
    pub permissions: Vec<SignedDepositPermission>,
    /// The coins' denomination, by id.
    pub denominations: HashMap<DenominationId, Denomination>,
}

impl DepositFixture {
    /// Withdraws `coins` coins of one RSA-2048 denomination through the wallet functions and signs
    /// a deposit permission for each. At most `WITHDRAW_COINS_MAX` coins (one withdrawal).
    pub fn generate(coins: usize) -> Self {
        let mut rng = rand::rng();
        let secret = DenominationSecretKey::generate(RsaKeySize::Bits2048).expect("RSA keygen");
        let denomination = denomination(&secret);
        let account_key = SigningKey::generate(&mut rng);
        let request_id = RequestId([9; 16]);
        let (request, planned) = wallet::prepare_withdraw(
            &mut rng,
            &account_key,
            AccountId([3; 16]),
            request_id,
            &vec![denomination.clone(); coins],
        )
        .expect("prepare_withdraw");
        let blind_signatures: Vec<_> = request
            .body()
            .coins
            .iter()
            .map(|coin| secret.blind_sign(&coin.blinded).expect("blind_sign"))
            .collect();
        let response = WithdrawResponse {
            request_id,
            blind_signatures: blind_signatures.try_into().expect("one withdrawal's worth"),
        };
        let wallet_coins =
            wallet::finalize_coins(request_id, planned, &response).expect("finalize_coins");
        let permissions = wallet_coins
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
            .collect();
        Self {
            permissions,
            denominations: HashMap::from([(denomination.id(), denomination)]),
        }
    }
}
