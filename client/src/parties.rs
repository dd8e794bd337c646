//! The simulated parties of a marketplace, over the HTTP API: a wallet that opens an account at
//! its issuer, is funded, withdraws and pays; a merchant that registers at its acquirer and
//! deposits what it was paid. Each step is the real protocol, with real keys and signatures.

use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::ed25519::{SigningKey, VerifyingKey};
use semper_protocol::denomination::{Denomination, SignedDenominationSet};
use semper_protocol::ids::{AccountId, BankId, CoinId, ContractHash, MerchantId, RequestId};
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::deposit_answer::{
    DepositAnswerError, SignedDepositAnswer, VerifiedDepositAnswer, verify_deposit_answer,
};
use semper_protocol::messages::merchant::{DepositRequest, SignedDepositRequest};
use semper_protocol::messages::recoup::{RecoupResponse, SignedRecoupRequest};
use semper_protocol::messages::refund::{RefundRequest, RefundResponse, SignedRefundRequest};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin};

use crate::views::{AccountView, DepositStatusView, MerchantView};

use crate::api::{Api, ApiError};

/// How long after paying a merchant's deposits may be refunded, in ms: the refund deadline
/// [`Merchant::deposit_of`] states (14 days).
pub const REFUND_WINDOW_MS: u64 = 14 * 24 * 60 * 60 * 1000;

/// Why a party's step failed.
#[derive(Debug, thiserror::Error)]
pub enum PartyError {
    /// The API refused or failed.
    #[error(transparent)]
    Api(#[from] ApiError),
    /// The wallet's own checks refused (e.g. a blind signature that does not verify).
    #[error("wallet: {0}")]
    Wallet(#[from] wallet::WalletError),
    /// More coins than one request carries.
    #[error("{0} coins do not fit one request")]
    TooManyCoins(usize),
    /// A deposit answer the merchant must not trust: not signed by its acquirer, or not an answer
    /// to its request.
    #[error("deposit answer refused: {0}")]
    DepositAnswer(#[from] DepositAnswerError),
    /// The registration's answer does not name the acquirer and its bank key.
    #[error("merchant registration: {0}")]
    Registration(String),
}

/// The denomination of `set` that is withdrawable at `at` and not revoked, of the lowest value.
pub fn withdrawable(set: &SignedDenominationSet, at: Timestamp) -> Option<Denomination> {
    set.body()
        .fields()
        .denominations
        .iter()
        .filter(|d| d.fields().valid_from <= at && at < d.fields().withdraw_until)
        .filter(|d| !set.body().is_revoked(&d.id()))
        .min_by_key(|d| d.fields().value.minor_units())
        .cloned()
}

/// A withdrawal made: the signed request (to replay it), the issuer's answer and the coins.
pub struct Withdrawal {
    /// The request, as sent.
    pub request: SignedWithdrawRequest,
    /// The issuer's answer.
    pub response: WithdrawResponse,
    /// The coins, unblinded and checked.
    pub coins: Vec<WalletCoin>,
}

/// A wallet: an account at one issuer and the key that signs for it.
pub struct Wallet {
    /// The account.
    pub account: AccountId,
    key: SigningKey,
}

impl Wallet {
    /// Opens a new account in `currency` and has the operator credit it `funding`, with the
    /// transfer reference `reference`.
    pub fn open(
        api: &mut Api,
        currency: Currency,
        funding: Amount,
        reference: &str,
    ) -> Result<Self, PartyError> {
        let wallet = Self {
            account: AccountId(rand::random()),
            key: SigningKey::generate(&mut rand::rng()),
        };
        let opening = Signed::sign(
            OpenAccountRequest {
                account: wallet.account,
                public_key: *wallet.key.verifying_key(),
                currency,
            },
            &wallet.key,
        );
        api.open_account(&opening)?;
        api.credit(wallet.account, reference, funding)?;
        Ok(wallet)
    }

    /// The account's view, read with the account key's signature.
    pub fn account_view(&self, api: &mut Api) -> Result<AccountView, PartyError> {
        Ok(api.account_signed(self.account, &self.key)?)
    }

    /// The signed withdrawal of `count` coins of `denomination`, with a fresh request id, and the
    /// coins waiting for their signatures: to send (and resend) the request apart from making it.
    pub fn prepare_withdraw(
        &self,
        denomination: &Denomination,
        count: usize,
    ) -> Result<(SignedWithdrawRequest, Vec<wallet::PlannedCoin>), PartyError> {
        Ok(wallet::prepare_withdraw(
            &mut rand::rng(),
            &self.key,
            self.account,
            RequestId(rand::random()),
            &vec![denomination.clone(); count],
        )?)
    }

    /// Withdraws `count` coins of `denomination`, and unblinds and checks them.
    pub fn withdraw(
        &self,
        api: &mut Api,
        denomination: &Denomination,
        count: usize,
    ) -> Result<Withdrawal, PartyError> {
        let request_id = RequestId(rand::random());
        let (request, planned) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &self.key,
            self.account,
            request_id,
            &vec![denomination.clone(); count],
        )?;
        let response = api.withdraw(&request)?;
        let coins = wallet::finalize_coins(request_id, planned, &response)?;
        Ok(Withdrawal {
            request,
            response,
            coins,
        })
    }

    /// The recoup of `coin`, withdrawn at position `index` of `withdrawal` (one of this
    /// wallet's, as signed), signed by the account key: to send (and resend) apart from making it.
    pub fn prepare_recoup(
        &self,
        withdrawal: &SignedWithdrawRequest,
        index: u32,
        coin: &WalletCoin,
    ) -> SignedRecoupRequest {
        wallet::prepare_recoup(&self.key, withdrawal.body(), index, coin)
    }

    /// Recoups `coin`, withdrawn at position `index` of `withdrawal`, whose denomination its
    /// issuer revoked: its value is credited back to this wallet's account.
    pub fn recoup(
        &self,
        api: &mut Api,
        withdrawal: &SignedWithdrawRequest,
        index: u32,
        coin: &WalletCoin,
    ) -> Result<RecoupResponse, PartyError> {
        let request = self.prepare_recoup(withdrawal, index, coin);
        Ok(api.recoup(&request)?)
    }
}

/// A merchant: its id at its acquirer, the key that signs its deposits, and its acquirer's bank
/// key, which signs every deposit answer it trusts.
pub struct Merchant {
    /// The merchant.
    pub id: MerchantId,
    /// Its acquirer.
    pub acquirer: BankId,
    /// Its acquirer's bank key, as the registration answered it.
    pub acquirer_key: VerifyingKey,
    key: SigningKey,
}

impl Merchant {
    /// A new merchant, registered at `acquirer` by its operator; the registration's answer gives
    /// the acquirer's bank key, and must name `acquirer`.
    pub fn register(api: &mut Api, acquirer: BankId) -> Result<Self, PartyError> {
        let id = MerchantId(rand::random());
        let key = SigningKey::generate(&mut rand::rng());
        let view = api.register_merchant(id, key.verifying_key())?;
        let named = view.acquirer;
        if named != acquirer {
            return Err(PartyError::Registration(format!(
                "answered by acquirer {named}, expected {acquirer}"
            )));
        }
        Ok(Self {
            id,
            acquirer,
            acquirer_key: view.acquirer_key,
            key,
        })
    }

    /// Checks the acquirer's answer to `request`: signed by its bank key, for this very request.
    pub fn check_answer(
        &self,
        request: &SignedDepositRequest,
        answer: &SignedDepositAnswer,
    ) -> Result<VerifiedDepositAnswer, PartyError> {
        Ok(verify_deposit_answer(
            answer,
            self.acquirer,
            &self.acquirer_key,
            request,
        )?)
    }

    /// Deposits `request` and checks the answer: what a merchant may ship goods on.
    pub fn deposit(
        &self,
        api: &mut Api,
        request: &SignedDepositRequest,
    ) -> Result<VerifiedDepositAnswer, PartyError> {
        let answer = api.deposit(request)?;
        self.check_answer(request, &answer)
    }

    /// The merchant's view, read with the merchant key's signature.
    pub fn view(&self, api: &mut Api) -> Result<MerchantView, PartyError> {
        Ok(api.merchant_signed(self.id, &self.key)?)
    }

    /// A refund of `amount` of `coin`, which paid this merchant for `contract`, signed by the
    /// merchant's key, under a fresh refund id.
    pub fn refund_of(
        &self,
        coin: &WalletCoin,
        contract: ContractHash,
        amount: Amount,
    ) -> SignedRefundRequest {
        Signed::sign(
            RefundRequest {
                merchant: self.id,
                refund_id: RequestId(rand::random()),
                contract_hash: contract,
                denomination: coin.coin().denomination,
                coin: CoinId::of(&coin.coin().public_key),
                amount,
            },
            &self.key,
        )
    }

    /// Refunds `request`: what was debited, and what the coin has been refunded in all.
    pub fn refund(
        &self,
        api: &mut Api,
        request: &SignedRefundRequest,
    ) -> Result<RefundResponse, PartyError> {
        Ok(api.refund(request)?)
    }

    /// Where one of its deposits stands, read with the merchant key's signature; once done, the
    /// signed answer, to check with [`Merchant::check_answer`].
    pub fn deposit_status(
        &self,
        api: &mut Api,
        deposit_id: RequestId,
    ) -> Result<DepositStatusView, PartyError> {
        Ok(api.deposit_status(self.id, deposit_id, &self.key)?)
    }

    /// The deposit of `coins`, paid at `at` for the contract `contract`: each coin's permission
    /// signed by the wallet, the whole signed by the merchant, refundable until
    /// [`REFUND_WINDOW_MS`] after `at`.
    pub fn deposit_of(
        &self,
        coins: &[WalletCoin],
        contract: ContractHash,
        at: Timestamp,
    ) -> Result<SignedDepositRequest, PartyError> {
        self.deposit_until(coins, contract, at, at.plus_ms(REFUND_WINDOW_MS))
    }

    /// [`Merchant::deposit_of`] with the contract's own refund deadline: a refund judged after
    /// `refund_deadline` is refused (`refund.deadline_passed`).
    pub fn deposit_until(
        &self,
        coins: &[WalletCoin],
        contract: ContractHash,
        at: Timestamp,
        refund_deadline: Timestamp,
    ) -> Result<SignedDepositRequest, PartyError> {
        let permissions = coins
            .iter()
            .map(|coin| wallet::sign_deposit_permission(coin, contract, self.id, self.acquirer, at))
            .collect();
        let permissions =
            BoundedVec::new(permissions).map_err(|_| PartyError::TooManyCoins(coins.len()))?;
        Ok(Signed::sign(
            DepositRequest {
                merchant: self.id,
                deposit_id: RequestId(rand::random()),
                permissions,
                refund_deadline,
            },
            &self.key,
        ))
    }
}
