//! The messages the cases send, and the answers they expect, built as a bank would build them,
//! or with the one thing a case gets wrong.

use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Encode, Message};
use semper_protocol::crypto::ed25519::SigningKey;
use semper_protocol::ids::{BankId, BatchId, CoinId, ContractHash, DenominationId, Digest};
use semper_protocol::ids::{MerchantId, SubmissionId};
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::settlement::{
    SettlementSubmission, SignedSettlementReport, SignedSettlementSubmission,
};
use semper_protocol::messages::spend::{
    ConfirmedSpend, SignedSpendCheckBatch, SignedSpendConfirmation, SpendCheckBatch,
    SpendCheckResponse, SpendConfirmation, SpendResult,
};
use semper_protocol::signed::Signed;
use semper_protocol::wallet::{self, WalletCoin};

use super::table::Expect;
use crate::world::START;

/// A bank that no one has configured: the link would not even admit it, so its requests go
/// straight to the handler, as if its certificate had been pinned by mistake.
pub const STRANGER: BankId = BankId([66; 16]);
/// Where the spend checks' permissions pay: any merchant will do, the issuer does not know them.
pub const SHOP: MerchantId = MerchantId([7; 16]);

pub fn spend_check(batch: &SignedSpendCheckBatch) -> Vec<u8> {
    LinkRequest::SpendCheck(Box::new(batch.clone())).to_bytes()
}

pub fn submit(submission: &SignedSettlementSubmission) -> Vec<u8> {
    LinkRequest::Submit(Box::new(submission.clone())).to_bytes()
}

pub fn reports_after(after_sequence: u64, limit: u32) -> Vec<u8> {
    LinkRequest::ReportsAfter {
        after_sequence,
        limit,
    }
    .to_bytes()
}

pub fn push(report: &SignedSettlementReport) -> Vec<u8> {
    LinkNotice::Report(Box::new(report.clone())).to_bytes()
}

/// The answer to a spend check whose coins get `results`, with `confirmation`.
pub fn spend_answer(
    batch: &SignedSpendCheckBatch,
    results: Vec<SpendResult>,
    confirmation: Option<SignedSpendConfirmation>,
) -> Expect {
    Expect::Answer(LinkResponse::SpendCheck(Box::new(SpendCheckResponse {
        batch_id: batch.body().batch_id,
        results: BoundedVec::new(results).unwrap(),
        confirmation,
    })))
}

/// The answer to a spend check of one coin refused with `code`: nothing confirmed.
pub fn coin_refused(batch: &SignedSpendCheckBatch, code: &str) -> Expect {
    spend_answer(
        batch,
        vec![SpendResult::Refused { code: code.into() }],
        None,
    )
}

/// A receipt whose one claim is refused with `code`.
pub fn claim_refused(code: &str) -> Expect {
    Expect::Claims(vec![ClaimResult::Refused { code: code.into() }])
}

/// The wallet's permission to pay [`SHOP`] at `acquirer` with `coin`.
pub fn pay(coin: &WalletCoin, acquirer: BankId) -> SignedDepositPermission {
    wallet::sign_deposit_permission(coin, ContractHash([1; 32]), SHOP, acquirer, START)
}

/// A permission to pay [`SHOP`] at `acquirer` with `coin`, for `amount`, signed with `key`: the
/// coin's own key, for a permission valid but for what the case changes.
pub fn permission(
    coin: &WalletCoin,
    acquirer: BankId,
    amount: Amount,
    key: &SigningKey,
) -> SignedDepositPermission {
    let body = DepositPermission {
        coin: coin.coin().clone(),
        contract_hash: ContractHash([5; 32]),
        merchant: SHOP,
        acquirer,
        amount,
        timestamp: START,
    };
    Signed::sign(body, key)
}

/// A spend-check batch naming `acquirer`, signed with `key`.
pub fn batch(
    acquirer: BankId,
    key: &SigningKey,
    permissions: Vec<SignedDepositPermission>,
) -> SignedSpendCheckBatch {
    let body = SpendCheckBatch {
        acquirer,
        batch_id: BatchId(rand::random()),
        permissions: BoundedVec::new(permissions).unwrap(),
    };
    Signed::sign(body, key)
}

/// A settlement submission naming `acquirer`, signed with `key`.
pub fn submission(
    acquirer: BankId,
    key: &SigningKey,
    confirmations: Vec<SignedSpendConfirmation>,
) -> SignedSettlementSubmission {
    let body = SettlementSubmission {
        acquirer,
        submission_id: SubmissionId(rand::random()),
        submitted_at: START,
        confirmations: BoundedVec::new(confirmations).unwrap(),
        refunds: BoundedVec::empty(),
    };
    Signed::sign(body, key)
}

/// A confirmation of `entries` by `issuer` to `acquirer`, signed with `key`.
pub fn confirmation(
    issuer: BankId,
    acquirer: BankId,
    entries: Vec<ConfirmedSpend>,
    key: &SigningKey,
) -> SignedSpendConfirmation {
    let body = SpendConfirmation {
        issuer,
        acquirer,
        batch_id: BatchId(rand::random()),
        confirmed_at: START,
        entries: BoundedVec::new(entries).unwrap(),
    };
    Signed::sign(body, key)
}

/// A confirmed coin of `amount`, numbered `n`.
pub fn entry(n: u32, amount: Amount) -> ConfirmedSpend {
    let mut coin = [0u8; 32];
    coin[..4].copy_from_slice(&n.to_be_bytes());
    ConfirmedSpend {
        coin: CoinId(coin),
        denomination: DenominationId([3; 32]),
        amount,
        permission: Digest(coin),
    }
}

/// `payload` with the byte at `index` replaced.
pub fn patched(mut payload: Vec<u8>, index: usize, byte: u8) -> Vec<u8> {
    payload[index] = byte;
    payload
}

/// Where a link message's kind byte is: after its domain tag's length, the tag and the version.
pub fn kind_index<M: Message>() -> usize {
    1 + M::DOMAIN.len() + 1
}
