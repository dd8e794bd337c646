//! What the table's requests are made of: two wallets, two merchants, a withdrawal and a deposit
//! already answered, coins spent and unspent (one with its coin key, so that a case can sign what
//! the wallet would not), and a revoked denomination, whose coin the wallet recouped.

use rand::SeedableRng;
use rand::rngs::StdRng;
use semper_actors::clock::{Clock, ManualClock};
use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::BlindedMessage;
use semper_protocol::crypto::ed25519::{Signature, SigningKey};
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{
    AccountId, BankId, ContractHash, DenominationId, MerchantId, RequestId,
};
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::merchant::{DepositRequest, SignedDepositRequest};
use semper_protocol::messages::read::ReadSubject;
use semper_protocol::messages::recoup::SignedRecoupRequest;
use semper_protocol::messages::withdraw::{BlindedCoin, SignedWithdrawRequest, WithdrawRequest};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};
use serde::Serialize;
use serde_json::{Value, json};

use super::table::{Auth, Request};
use crate::client::{ResponseExt, signed_read};
use crate::world::Embedded;

pub fn eur(text: &str) -> Amount {
    format!("EUR:{text}").parse().unwrap()
}

/// A wallet: its account and key.
pub struct Wallet {
    pub account: AccountId,
    pub key: SigningKey,
}

impl Wallet {
    async fn open(env: &Embedded, funding: Option<&str>) -> Self {
        let key = SigningKey::generate(&mut rand::rng());
        let account = AccountId(rand::random());
        let body =
            json!({"account": account, "public_key": key.verifying_key(), "currency": "EUR"});
        let opened = env
            .public
            .post("/v1/issuer/accounts", &signed_open(body, &key))
            .await;
        assert_eq!(opened.status, 200, "{}", opened.text());
        if let Some(amount) = funding {
            let path = format!("/v1/issuer/accounts/{account}/credit");
            let body = json!({"reference": format!("funding-{account}"), "amount": amount});
            let credited = env.operator.post(&path, &body).await;
            assert_eq!(credited.status, 200, "{}", credited.text());
        }
        Self { account, key }
    }

    /// A withdrawal of `denominations` from `account`, signed with this wallet's key.
    pub fn withdraw(
        &self,
        account: AccountId,
        denominations: &[Denomination],
    ) -> SignedWithdrawRequest {
        self.withdraw_as(account, RequestId(rand::random()), denominations)
    }

    /// The same, under `request_id`.
    pub fn withdraw_as(
        &self,
        account: AccountId,
        request_id: RequestId,
        denominations: &[Denomination],
    ) -> SignedWithdrawRequest {
        let mut rng = rand::rng();
        wallet::prepare_withdraw(&mut rng, &self.key, account, request_id, denominations)
            .unwrap()
            .0
    }

    /// A withdrawal of these blinded coins, as they are, signed with this wallet's key.
    pub fn withdraw_blinded(
        &self,
        denomination: DenominationId,
        blinded: Vec<u8>,
    ) -> SignedWithdrawRequest {
        self.withdraw_coins(vec![BlindedCoin {
            denomination,
            blinded: BlindedMessage(blinded),
        }])
    }

    pub fn withdraw_coins(&self, coins: Vec<BlindedCoin>) -> SignedWithdrawRequest {
        let request = WithdrawRequest {
            account: self.account,
            request_id: RequestId(rand::random()),
            coins: BoundedVec::new(coins).unwrap(),
        };
        Signed::sign(request, &self.key)
    }
}

/// A merchant: its id and key.
pub struct Merchant {
    pub id: MerchantId,
    pub key: SigningKey,
}

impl Merchant {
    async fn register(env: &Embedded) -> Self {
        let key = SigningKey::generate(&mut rand::rng());
        let id = MerchantId(rand::random());
        let body = json!({"merchant": id, "public_key": key.verifying_key()});
        let registered = env.operator.post("/v1/acquirer/merchants", &body).await;
        assert_eq!(registered.status, 200, "{}", registered.text());
        Self { id, key }
    }

    /// A deposit of `permissions` as `merchant`, under `deposit_id`, signed with this merchant's
    /// key.
    pub fn deposit_as(
        &self,
        merchant: MerchantId,
        deposit_id: RequestId,
        permissions: Vec<SignedDepositPermission>,
    ) -> SignedDepositRequest {
        let body = DepositRequest {
            merchant,
            deposit_id,
            permissions: BoundedVec::new(permissions).unwrap(),
            refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
        };
        Signed::sign(body, &self.key)
    }

    /// A new deposit of `permissions`.
    pub fn deposit(&self, permissions: Vec<SignedDepositPermission>) -> SignedDepositRequest {
        self.deposit_as(self.id, RequestId(rand::random()), permissions)
    }
}

/// An account opening of `fields` as JSON, signed by `key` when they make an
/// [`OpenAccountRequest`], with a signature of zeros when they do not.
pub fn signed_open(fields: Value, key: &SigningKey) -> Value {
    let signature = serde_json::from_value::<OpenAccountRequest>(fields.clone())
        .map_or(Signature([0; 64]), |opening| {
            *Signed::sign(opening, key).signature()
        });
    json!({"body": fields, "signature": signature})
}

/// A GET of `path`, `subject`'s data, as a read signed by `key` at `at`.
pub fn read_by(path: &str, subject: ReadSubject, key: &SigningKey, at: Timestamp) -> Request {
    Request::get(path).by(Auth::Header(signed_read(path, subject, key, at)))
}

/// A withdrawal, sent.
pub fn withdraw(request: &SignedWithdrawRequest) -> Request {
    Request::post("/v1/issuer/withdraw", request)
}

/// A deposit, sent.
pub fn deposit(request: &SignedDepositRequest) -> Request {
    Request::post("/v1/acquirer/deposits", request)
}

/// `value` as JSON, with `edit` applied.
pub fn edited(value: &impl Serialize, edit: impl FnOnce(&mut Value)) -> Value {
    let mut json = serde_json::to_value(value).unwrap();
    edit(&mut json);
    json
}

/// The state the cases start from, and what it looks like from outside.
pub struct Fixtures {
    /// The acquirer's bank.
    pub acquirer: BankId,
    /// The time the cases are sent at, until the test moves the clock.
    pub at: Timestamp,
    /// Denominations of EUR 0.10, 1.00 and 10.00 withdrawable now; the 10.00 one is revoked.
    pub tenth: Denomination,
    pub one: Denomination,
    pub ten: Denomination,
    /// A denomination made ahead, not valid yet.
    pub later: Denomination,
    /// A wallet funded with EUR 50.00 (and credited the recouped ten), and another, whose key is
    /// the other party's.
    pub wallet: Wallet,
    pub stranger: Wallet,
    /// The wallet's withdrawal of four tenths and a ten, and its answer.
    pub withdrawal: SignedWithdrawRequest,
    pub withdrawn: Value,
    /// Its coins: the first with its key, the second deposited, the others not, the ten last.
    pub coins: Vec<WalletCoin>,
    pub coin_key: SigningKey,
    /// A merchant, and another, whose key is the other party's.
    pub merchant: Merchant,
    pub rival: Merchant,
    /// The merchant's deposit of the second coin, and its answer.
    pub deposited: SignedDepositRequest,
    pub deposited_json: Value,
    /// The wallet's recoup of its revoked coin, and its answer.
    pub recoup: SignedRecoupRequest,
    pub recouped: Value,
    /// The wallet's account and the merchant as their GETs show them.
    pub account_json: Value,
    pub merchant_json: Value,
}

impl Fixtures {
    /// Withdraws, deposits, revokes and recoups as the fields say, on `env` at the time of `clock`.
    pub async fn set_up(env: &Embedded, clock: &ManualClock) -> Self {
        let at = clock.now();
        let acquirer = env.acquirer_bank();
        let set: SignedDenominationSet = env.public.get("/v1/issuer/denominations").await.json();
        let denominations = &set.body().fields().denominations;
        let current = |value: &str| {
            let current = denominations
                .iter()
                .find(|d| d.value() == eur(value) && d.can_withdraw(at));
            current.unwrap().clone()
        };
        let later = denominations.iter().find(|d| d.fields().valid_from > at);
        let later = later.expect("a denomination made ahead").clone();
        let (tenth, one, ten) = (current("0.10"), current("1.00"), current("10.00"));

        let wallet = Wallet::open(env, Some("EUR:50.00")).await;
        let stranger = Wallet::open(env, None).await;
        // The wallet draws the first coin's key first from the generator: the same seed gives it
        // back.
        let request_id = RequestId(rand::random());
        let denominations = [
            tenth.clone(),
            tenth.clone(),
            tenth.clone(),
            tenth.clone(),
            ten.clone(),
        ];
        let (withdrawal, planned) = wallet::prepare_withdraw(
            &mut StdRng::seed_from_u64(8),
            &wallet.key,
            wallet.account,
            request_id,
            &denominations,
        )
        .unwrap();
        let answer = env.public.post("/v1/issuer/withdraw", &withdrawal).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
        let coins = wallet::finalize_coins(request_id, planned, &answer.json()).unwrap();
        let coin_key = SigningKey::generate(&mut StdRng::seed_from_u64(8));
        assert_eq!(coin_key.verifying_key(), &coins[0].coin().public_key);

        let merchant = Merchant::register(env).await;
        let rival = Merchant::register(env).await;
        let paid = wallet::sign_deposit_permission(
            &coins[1],
            ContractHash([8; 32]),
            merchant.id,
            acquirer,
            at,
        );
        let deposited = merchant.deposit(vec![paid]);
        let deposit_answer = env.public.post("/v1/acquirer/deposits", &deposited).await;
        assert_eq!(deposit_answer.status, 200, "{}", deposit_answer.text());

        // Revoked, and the acquirer told. No handle may outlive the deployment's stop, which
        // waits for each DB to close.
        let issuer = env.deployment.roles().issuer.unwrap();
        issuer.revoke(ten.id()).await.unwrap();
        drop(issuer);
        let refreshed = env
            .operator
            .post_empty("/v1/acquirer/denominations/refresh")
            .await;
        assert_eq!(refreshed.status, 200, "{}", refreshed.text());

        // The revoked coin recouped: its value back to the account.
        let recoup = wallet::prepare_recoup(&wallet.key, withdrawal.body(), 4, &coins[4]);
        let recouped = env.public.post("/v1/issuer/recoup", &recoup).await;
        assert_eq!(recouped.status, 200, "{}", recouped.text());

        let account_path = format!("/v1/issuer/accounts/{}", wallet.account);
        let merchant_path = format!("/v1/acquirer/merchants/{}", merchant.id);
        Self {
            acquirer,
            at,
            tenth,
            one,
            ten,
            later,
            withdrawn: answer.json(),
            withdrawal,
            coins,
            coin_key,
            deposited_json: deposit_answer.json(),
            recouped: recouped.json(),
            recoup,
            deposited,
            account_json: env.operator.get(&account_path).await.json(),
            merchant_json: env.operator.get(&merchant_path).await.json(),
            wallet,
            stranger,
            merchant,
            rival,
        }
    }

    /// The coin whose key the test holds.
    pub fn keyed(&self) -> &WalletCoin {
        &self.coins[0]
    }

    /// The coin the merchant deposited.
    pub fn spent(&self) -> &WalletCoin {
        &self.coins[1]
    }

    /// A coin not deposited.
    pub fn unspent(&self) -> &WalletCoin {
        &self.coins[2]
    }

    /// Another coin not deposited.
    pub fn other(&self) -> &WalletCoin {
        &self.coins[3]
    }

    /// The coin of the revoked denomination.
    pub fn revoked(&self) -> &WalletCoin {
        &self.coins[4]
    }

    pub fn account_path(&self) -> String {
        format!("/v1/issuer/accounts/{}", self.wallet.account)
    }

    pub fn merchant_path(&self) -> String {
        format!("/v1/acquirer/merchants/{}", self.merchant.id)
    }

    /// The wallet's permission to pay `merchant` with `coin`, as it signs one.
    pub fn pay(&self, coin: &WalletCoin, merchant: MerchantId) -> SignedDepositPermission {
        wallet::sign_deposit_permission(
            coin,
            ContractHash([8; 32]),
            merchant,
            self.acquirer,
            self.at,
        )
    }

    /// A permission to pay the merchant with the keyed coin, for `amount`, signed with the coin's
    /// key: valid but for what the case changes in `edit`.
    pub fn keyed_permission(
        &self,
        amount: Amount,
        edit: impl FnOnce(&mut DepositPermission),
    ) -> SignedDepositPermission {
        let mut body = DepositPermission {
            coin: self.keyed().coin().clone(),
            contract_hash: ContractHash([9; 32]),
            merchant: self.merchant.id,
            acquirer: self.acquirer,
            amount,
            timestamp: self.at,
        };
        edit(&mut body);
        Signed::sign(body, &self.coin_key)
    }
}
