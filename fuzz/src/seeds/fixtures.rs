//! Real protocol values, made with real keys through the wallet's and the roles' own code: the
//! material every seed is cut from.

use rand::SeedableRng;
use rand::rngs::StdRng;
use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::crypto::blind_rsa::{DenominationSecretKey, RsaError, RsaKeySize};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::denomination::{
    Denomination, DenominationError, DenominationFees, DenominationFields, DenominationSet,
    DenominationSetFields, SignedDenominationSet,
};
use semper_protocol::ids::{
    AccountId, BankId, BatchId, CoinId, ContractHash, CycleId, Digest, MerchantId, RequestId,
    SubmissionId,
};
use semper_protocol::messages::deposit::SignedDepositPermission;
use semper_protocol::messages::deposit_answer::{DepositAnswer, SignedDepositAnswer};
use semper_protocol::messages::merchant::{DepositRequest, DepositResponse, SignedDepositRequest};
use semper_protocol::messages::receipt::{ClaimResult, SignedSubmissionReceipt, SubmissionReceipt};
use semper_protocol::messages::settlement::{
    Obligation, RefundObligation, SettlementError, SettlementReport, SettlementSubmission,
    SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendCheckBatch, SignedSpendConfirmation, SpendCheckBatch,
    SpendCheckResponse, SpendConfirmation, SpendResult,
};
use semper_protocol::messages::withdraw::{SignedWithdrawRequest, WithdrawResponse};
use semper_protocol::reconcile::{Discrepancy, DiscrepancyKind};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use semper_protocol::wallet::{self, WalletCoin, WalletError};

/// The issuer.
pub const ISSUER: BankId = BankId([1; 16]);
/// The acquirer.
pub const ACQUIRER: BankId = BankId([2; 16]);
/// The clearing house.
pub const CLEARING: BankId = BankId([3; 16]);
/// The wallet's account at the issuer.
pub const ACCOUNT: AccountId = AccountId([4; 16]);
/// The merchant at the acquirer.
pub const MERCHANT: MerchantId = MerchantId([5; 16]);
/// "Now", in every value.
pub const NOW: Timestamp = Timestamp::from_unix_ms(1_800_000_000_000);

/// Why the fixtures could not be made.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// A key, a blind signature or a verification failed.
    #[error("rsa: {0}")]
    Rsa(#[from] RsaError),
    /// A denomination or set was refused.
    #[error("denomination: {0}")]
    Denomination(#[from] DenominationError),
    /// The wallet refused.
    #[error("wallet: {0}")]
    Wallet(#[from] WalletError),
    /// The report could not be built.
    #[error("settlement: {0}")]
    Settlement(#[from] SettlementError),
    /// A list was over its bound.
    #[error("list over its bound")]
    TooMany,
}

/// Every value the seeds are made of: one withdrawal, deposit, spend check, settlement and
/// reconciliation, end to end.
pub struct Fixtures {
    /// A 2048-bit denomination of EUR 1.00, and its key.
    pub denomination: Denomination,
    /// A 3072-bit denomination of EUR 5.00, and its key.
    pub large_denomination: Denomination,
    /// The issuer's set of both, the second one revoked.
    pub set: SignedDenominationSet,
    /// A withdrawal of two coins.
    pub withdraw_request: SignedWithdrawRequest,
    /// Its answer.
    pub withdraw_response: WithdrawResponse,
    /// The two coins withdrawn, and one of the large denomination.
    pub coins: Vec<WalletCoin>,
    /// A permission to deposit each coin.
    pub permissions: Vec<SignedDepositPermission>,
    /// The merchant's deposit of the permissions.
    pub deposit_request: SignedDepositRequest,
    /// One answer of each kind.
    pub deposit_response: DepositResponse,
    /// The same answer, signed by the acquirer's bank key for the deposit request.
    pub deposit_answer: SignedDepositAnswer,
    /// The acquirer's spend check of the permissions.
    pub spend_batch: SignedSpendCheckBatch,
    /// The issuer's confirmation of the batch.
    pub confirmation: SignedSpendConfirmation,
    /// The issuer's answer.
    pub spend_response: SpendCheckResponse,
    /// The acquirer's settlement submission.
    pub submission: SignedSettlementSubmission,
    /// The clearing house's receipt.
    pub receipt: SignedSubmissionReceipt,
    /// The cycle's report.
    pub report: SignedSettlementReport,
    /// One discrepancy.
    pub discrepancy: Discrepancy,
}

/// A signing key from a seed byte: the same key on every run.
pub fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed(&[seed; 32])
}

/// The cycle of the report.
pub const CYCLE: CycleId = CycleId([6; 16]);
/// The spend-check batch.
pub const BATCH: BatchId = BatchId([7; 16]);
/// The submission.
pub const SUBMISSION: SubmissionId = SubmissionId([8; 16]);

fn eur(text: &str) -> Amount {
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn bounded<T, const MAX: usize>(items: Vec<T>) -> Result<BoundedVec<T, MAX>, FixtureError> {
    BoundedVec::new(items).map_err(|_| FixtureError::TooMany)
}

fn denomination(value: &str, key: &DenominationSecretKey) -> Result<Denomination, FixtureError> {
    Ok(Denomination::new(DenominationFields {
        issuer: ISSUER,
        value: eur(value),
        public_key: key.public_key().clone(),
        valid_from: Timestamp::from_unix_ms(NOW.unix_ms() - 1000),
        withdraw_until: NOW.plus_ms(60_000),
        deposit_until: NOW.plus_ms(120_000),
        retain_until: NOW.plus_ms(180_000),
        fees: DenominationFees::zero(eur(value).currency()),
    })?)
}

/// Withdraws one coin of each of `denominations`, blind-signed by `key`.
fn withdraw(
    rng: &mut StdRng,
    denominations: &[Denomination],
    key: &DenominationSecretKey,
) -> Result<(SignedWithdrawRequest, WithdrawResponse, Vec<WalletCoin>), FixtureError> {
    let request_id = RequestId([9; 16]);
    let (request, planned) =
        wallet::prepare_withdraw(rng, &key_for_account(), ACCOUNT, request_id, denominations)?;
    let signatures = request
        .body()
        .coins
        .iter()
        .map(|coin| key.blind_sign(&coin.blinded))
        .collect::<Result<Vec<_>, _>>()?;
    let response = WithdrawResponse {
        request_id,
        blind_signatures: bounded(signatures)?,
    };
    let coins = wallet::finalize_coins(request_id, planned, &response)?;
    Ok((request, response, coins))
}

/// The wallet's account key: signs the fixtures' withdrawal.
pub fn key_for_account() -> SigningKey {
    key(0x0a)
}

impl Fixtures {
    /// Makes every value; generating the RSA keys takes a few seconds.
    pub fn make() -> Result<Self, FixtureError> {
        let mut rng = StdRng::seed_from_u64(8);
        let small_key = DenominationSecretKey::generate(RsaKeySize::Bits2048)?;
        let large_key = DenominationSecretKey::generate(RsaKeySize::Bits3072)?;
        let small = denomination("EUR:1", &small_key)?;
        let large = denomination("EUR:5", &large_key)?;
        let set = Signed::sign(
            DenominationSet::new(DenominationSetFields {
                issuer: ISSUER,
                sequence: 2,
                issued_at: NOW,
                denominations: bounded(vec![small.clone(), large.clone()])?,
                revoked: bounded(vec![large.id()])?,
            })?,
            &key(0x01),
        );
        let (withdraw_request, withdraw_response, mut coins) =
            withdraw(&mut rng, &[small.clone(), small.clone()], &small_key)?;
        coins.extend(withdraw(&mut rng, std::slice::from_ref(&large), &large_key)?.2);
        let permissions: Vec<SignedDepositPermission> = coins
            .iter()
            .map(|coin| {
                wallet::sign_deposit_permission(
                    coin,
                    ContractHash([0xc0; 32]),
                    MERCHANT,
                    ACQUIRER,
                    NOW,
                )
            })
            .collect();
        let deposit_request = Signed::sign(
            DepositRequest {
                merchant: MERCHANT,
                deposit_id: RequestId([0xd0; 16]),
                permissions: bounded(permissions.clone())?,
                refund_deadline: semper_protocol::time::Timestamp::from_unix_ms(u64::MAX),
            },
            &key(0x05),
        );
        let deposit_response = DepositResponse {
            merchant: MERCHANT,
            deposit_id: RequestId([0xd0; 16]),
            results: bounded(vec![
                SpendResult::Accepted,
                SpendResult::Replay,
                SpendResult::Conflict {
                    earlier: Box::new(permissions[0].clone()),
                },
                SpendResult::Refused {
                    code: "denomination.revoked".into(),
                },
            ])?,
        };
        let deposit_answer = Signed::sign(
            DepositAnswer::new(
                ACQUIRER,
                deposit_request.body_digest(),
                deposit_response.clone(),
            ),
            &key(0x02),
        );
        let spend_batch = Signed::sign(
            SpendCheckBatch {
                acquirer: ACQUIRER,
                batch_id: BATCH,
                permissions: bounded(permissions.clone())?,
            },
            &key(0x02),
        );
        let entries = permissions[..2]
            .iter()
            .map(|permission| ConfirmedSpend {
                coin: CoinId::of(&permission.body().coin.public_key),
                denomination: permission.body().coin.denomination,
                amount: permission.body().amount,
                permission: permission.body_digest(),
            })
            .collect();
        let confirmation = Signed::sign(
            SpendConfirmation {
                issuer: ISSUER,
                acquirer: ACQUIRER,
                batch_id: BATCH,
                confirmed_at: NOW,
                entries: bounded(entries)?,
            },
            &key(0x11),
        );
        let spend_response = SpendCheckResponse {
            batch_id: BATCH,
            results: bounded(vec![
                SpendResult::Accepted,
                SpendResult::Accepted,
                SpendResult::Refused {
                    code: "denomination.revoked".into(),
                },
            ])?,
            confirmation: Some(confirmation.clone()),
        };
        let submission = Signed::sign(
            SettlementSubmission {
                acquirer: ACQUIRER,
                submission_id: SUBMISSION,
                submitted_at: NOW,
                confirmations: bounded(vec![confirmation.clone()])?,
                refunds: bounded(Vec::new())?,
            },
            &key(0x02),
        );
        let receipt = Signed::sign(
            SubmissionReceipt {
                clearing: CLEARING,
                acquirer: ACQUIRER,
                submission_id: SUBMISSION,
                cycle: CYCLE,
                cycle_sequence: 4,
                received_at: NOW,
                claims: bounded(vec![
                    ClaimResult::Claimed,
                    ClaimResult::AlreadyClaimed {
                        acquirer: BankId([0x22; 16]),
                        submission_id: SubmissionId([0x23; 16]),
                    },
                    ClaimResult::Refused {
                        code: "confirmation.bad_signature".into(),
                    },
                ])?,
                refund_claims: bounded(vec![ClaimResult::Claimed])?,
            },
            &key(0x03),
        );
        let obligations = vec![
            Obligation {
                issuer: ISSUER,
                acquirer: ACQUIRER,
                amount: eur("EUR:2"),
                confirmations: bounded(vec![BATCH, BatchId([0x70; 16])])?,
            },
            Obligation {
                issuer: ACQUIRER,
                acquirer: ISSUER,
                amount: "JPY:500".parse().unwrap_or_else(|_| eur("EUR:0.01")),
                confirmations: bounded(vec![BatchId([0x71; 16])])?,
            },
        ];
        let refunds = vec![RefundObligation {
            acquirer: ACQUIRER,
            issuer: ISSUER,
            amount: eur("EUR:0.50"),
            fees: eur("EUR:0.05"),
            refunds: bounded(vec![Digest([0x72; 32]), Digest([0x73; 32])])?,
        }];
        let report = Signed::sign(
            SettlementReport::with_refunds(CLEARING, CYCLE, 4, NOW, obligations, refunds)?,
            &key(0x03),
        );
        let discrepancy = Discrepancy {
            cycle_sequence: 4,
            bank: ACQUIRER,
            counterparty: ISSUER,
            currency: eur("EUR:1").currency(),
            batch: Some(BATCH),
            refund: None,
            kind: DiscrepancyKind::AmountMismatch,
            books_minor_units: 200,
            report_minor_units: -150,
        };
        Ok(Self {
            denomination: small,
            large_denomination: large,
            set,
            withdraw_request,
            withdraw_response,
            coins,
            permissions,
            deposit_request,
            deposit_response,
            deposit_answer,
            spend_batch,
            confirmation,
            spend_response,
            submission,
            receipt,
            report,
            discrepancy,
        })
    }
}

impl Fixtures {
    /// A swap of the first coin for a fresh coin of its denomination.
    pub fn swap(&self) -> semper_protocol::messages::swap::SwapRequest {
        semper_protocol::wallet::prepare_swap(
            &mut rand::rng(),
            semper_protocol::ids::RequestId([5; 16]),
            &self.coins[..1],
            std::slice::from_ref(&self.denomination),
        )
        .expect("a swap of one fixture coin")
        .0
    }
}
