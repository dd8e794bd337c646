//! Seeds of the codec targets: `protocol_codec`, `link_messages` and `storage_values`.

use semper_protocol::amount::Amount;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::clearing::claim::ClaimRef;
use semper_protocol::clearing::netting::{CycleClaim, CycleRefund};
use semper_protocol::codec::Encode;
use semper_protocol::ids::{BatchId, RequestId};
use semper_protocol::messages::account::OpenAccountRequest;
use semper_protocol::messages::coin::CoinMessage;
use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};
use semper_protocol::messages::read::{ReadSubject, sign_read};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::refund::{
    RefundAnswer, RefundConfirmation, RefundNotice, RefundRequest, RefundResponse,
};
use semper_protocol::signed::Signed;
use semper_storage::acquirer::deposits::{CoinCredit, DepositRecord};
use semper_storage::acquirer::merchants::{MerchantJournalEntry, MerchantRecord};
use semper_storage::acquirer::refunds::RefundRecord;
use semper_storage::acquirer::submissions::{
    ClaimedConfirmation, ClaimedRefund, RefusedClaim, RefusedRefund, SubmissionRecord,
    SubmissionState,
};
use semper_storage::clearing::{OpenCycle, StoredSubmission};
use semper_storage::confirmed_batches::BatchTotals;
use semper_storage::ledger::{AccountRecord, JournalEntry, JournalReason};
use semper_storage::refund_allowances::{IssuerRefund, RefundAllowance};
use semper_storage::reports::{DiscrepancyRange, ReceivedReport};
use semper_storage::withdrawals::WithdrawalRecord;

use super::Corpus;
use super::fixtures::{
    ACCOUNT, ACQUIRER, BATCH, CYCLE, Fixtures, ISSUER, MERCHANT, NOW, SUBMISSION, key,
};
use crate::protocol_codec::DECODERS;
use crate::storage_values::RECORDS;

pub fn add(corpus: &mut Corpus, f: &Fixtures) {
    protocol_codec(corpus, f);
    link_messages(corpus, f);
    storage_values(corpus, f);
}

/// The link's messages, one of each kind.
pub fn link_values(f: &Fixtures) -> (Vec<LinkRequest>, Vec<LinkResponse>, Vec<LinkNotice>) {
    let requests = vec![
        LinkRequest::DenominationSet,
        LinkRequest::SpendCheck(Box::new(f.spend_batch.clone())),
        LinkRequest::Submit(Box::new(f.submission.clone())),
        LinkRequest::ReportsAfter {
            after_sequence: 3,
            limit: 16,
        },
    ];
    let responses = vec![
        LinkResponse::DenominationSet(Box::new(f.set.clone())),
        LinkResponse::SpendCheck(Box::new(f.spend_response.clone())),
        LinkResponse::Receipt(Box::new(f.receipt.clone())),
        LinkResponse::Reports(BoundedVec::new(vec![f.report.clone()]).unwrap_or_default()),
        LinkResponse::Reports(BoundedVec::empty()),
    ];
    let notices = vec![LinkNotice::Report(Box::new(f.report.clone()))];
    (requests, responses, notices)
}

fn protocol_codec(corpus: &mut Corpus, f: &Fixtures) {
    let mut add =
        |name: &str, bytes: Vec<u8>| corpus.add_selected("protocol_codec", DECODERS, name, bytes);
    let eur: Amount = f.denomination.value();
    let coin = f.coins[0].coin().clone();
    let permission = f.permissions[0].clone();
    add("BankId", ISSUER.to_bytes());
    add("AccountId", ACCOUNT.to_bytes());
    add("MerchantId", MERCHANT.to_bytes());
    add("RequestId", RequestId([9; 16]).to_bytes());
    add("BatchId", BATCH.to_bytes());
    add("SubmissionId", SUBMISSION.to_bytes());
    add("CycleId", CYCLE.to_bytes());
    add("ContractHash", permission.body().contract_hash.to_bytes());
    add("DenominationId", f.denomination.id().to_bytes());
    add("Digest", permission.body_digest().to_bytes());
    add("CoinId", f.confirmation.body().entries[0].coin.to_bytes());
    add("Currency", eur.currency().to_bytes());
    add("Amount", eur.to_bytes());
    add(
        "Amount",
        "JPY:18446744073709551615"
            .parse::<Amount>()
            .map(|a| a.to_bytes())
            .unwrap_or_default(),
    );
    add("Timestamp", NOW.to_bytes());
    add("VerifyingKey", key(0x01).verifying_key().to_bytes());
    add("Signature", f.set.signature().to_bytes());
    add(
        "BlindedMessage",
        f.withdraw_request.body().coins[0].blinded.to_bytes(),
    );
    add(
        "BlindSignature",
        f.withdraw_response.blind_signatures[0].to_bytes(),
    );
    add("RsaSignature", coin.signature.to_bytes());
    add(
        "DenominationPublicKey",
        f.denomination.public_key().to_bytes(),
    );
    add(
        "DenominationPublicKey",
        f.large_denomination.public_key().to_bytes(),
    );
    add("Denomination", f.denomination.to_bytes());
    add("DenominationSet", f.set.body().to_bytes());
    add("SignedDenominationSet", f.set.to_bytes());
    add("Coin", coin.to_bytes());
    add(
        "CoinMessage",
        CoinMessage {
            denomination: coin.denomination,
            public_key: coin.public_key,
        }
        .to_bytes(),
    );
    add("BlindedCoin", f.withdraw_request.body().coins[0].to_bytes());
    add("WithdrawRequest", f.withdraw_request.body().to_bytes());
    add("SignedWithdrawRequest", f.withdraw_request.to_bytes());
    add("WithdrawResponse", f.withdraw_response.to_bytes());
    add("DepositPermission", permission.body().to_bytes());
    add("SignedDepositPermission", permission.to_bytes());
    add("DepositRequest", f.deposit_request.body().to_bytes());
    add("SignedDepositRequest", f.deposit_request.to_bytes());
    add("DepositResponse", f.deposit_response.to_bytes());
    let swap = f.swap();
    add("SwapPermission", swap.coins[0].body().to_bytes());
    add("SignedSwapPermission", swap.coins[0].to_bytes());
    add("SwapRequest", swap.to_bytes());
    add(
        "SwapResponse",
        semper_protocol::messages::swap::SwapResponse {
            request_id: swap.request_id,
            blind_signatures: f.withdraw_response.blind_signatures[..1]
                .to_vec()
                .try_into()
                .expect("one signature"),
        }
        .to_bytes(),
    );
    let recoup = semper_protocol::wallet::prepare_recoup(
        &super::fixtures::key_for_account(),
        f.withdraw_request.body(),
        0,
        &f.coins[0],
    );
    add(
        "RecoupPermission",
        recoup.body().permission.body().to_bytes(),
    );
    add(
        "SignedRecoupPermission",
        recoup.body().permission.to_bytes(),
    );
    add("RecoupRequest", recoup.body().to_bytes());
    add("SignedRecoupRequest", recoup.to_bytes());
    add(
        "RecoupResponse",
        semper_protocol::messages::recoup::RecoupResponse {
            account: recoup.body().account(),
            coin: semper_protocol::ids::CoinId::of(&f.coins[0].coin().public_key),
            credited: f.denomination.value(),
        }
        .to_bytes(),
    );
    add("DepositAnswer", f.deposit_answer.body().to_bytes());
    add("SignedDepositAnswer", f.deposit_answer.to_bytes());
    for subject in [
        ReadSubject::Account(ACCOUNT),
        ReadSubject::Merchant(MERCHANT),
    ] {
        let path = match subject {
            ReadSubject::Account(account) => format!("/v1/issuer/accounts/{account}"),
            ReadSubject::Merchant(merchant) => format!("/v1/acquirer/merchants/{merchant}"),
        };
        if let Ok(read) = sign_read(&key(0x0a), subject, &path, NOW) {
            add("ReadRequest", read.body().to_bytes());
            add("SignedRead", read.to_bytes());
        }
    }
    let opening = Signed::sign(
        OpenAccountRequest {
            account: ACCOUNT,
            public_key: *key(0x0a).verifying_key(),
            currency: f.denomination.value().currency(),
        },
        &key(0x0a),
    );
    add("OpenAccountRequest", opening.body().to_bytes());
    add("SignedOpenAccount", opening.to_bytes());
    add("SpendCheckBatch", f.spend_batch.body().to_bytes());
    add("SignedSpendCheckBatch", f.spend_batch.to_bytes());
    for result in f.deposit_response.results.iter() {
        add("SpendResult", result.to_bytes());
    }
    add(
        "ConfirmedSpend",
        f.confirmation.body().entries[0].to_bytes(),
    );
    add("SpendConfirmation", f.confirmation.body().to_bytes());
    add("SignedSpendConfirmation", f.confirmation.to_bytes());
    add("SpendCheckResponse", f.spend_response.to_bytes());
    add("SettlementSubmission", f.submission.body().to_bytes());
    add("SignedSettlementSubmission", f.submission.to_bytes());
    let fields = f.report.body().fields();
    add("Obligation", fields.obligations[0].to_bytes());
    add("NetPosition", fields.net_positions[0].to_bytes());
    add("SettlementReportFields", fields.to_bytes());
    add("SettlementReport", f.report.body().to_bytes());
    add("SignedSettlementReport", f.report.to_bytes());
    for claim in f.receipt.body().claims.iter() {
        add("ClaimResult", claim.to_bytes());
    }
    add("SubmissionReceipt", f.receipt.body().to_bytes());
    add("SignedSubmissionReceipt", f.receipt.to_bytes());
    let (requests, responses, notices) = link_values(f);
    requests
        .iter()
        .for_each(|r| add("LinkRequest", r.to_bytes()));
    responses
        .iter()
        .for_each(|r| add("LinkResponse", r.to_bytes()));
    notices.iter().for_each(|n| add("LinkNotice", n.to_bytes()));
    add(
        "CycleClaim",
        CycleClaim {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            batch_id: BATCH,
            amount: eur,
        }
        .to_bytes(),
    );
    add("ClaimRef", claim_ref().to_bytes());
    add("DiscrepancyKind", f.discrepancy.kind.to_bytes());
    add("Discrepancy", f.discrepancy.to_bytes());
    add("Option<Amount>", Some(eur).to_bytes());
    add("Option<Amount>", None::<Amount>.to_bytes());
    add("u64", u64::MAX.to_bytes());
    add("i64", (-1i64).to_bytes());
    refunds(&mut add, f);
}

/// One of each refund message, about the fixtures' first coin.
fn refunds(add: &mut impl FnMut(&str, Vec<u8>), f: &Fixtures) {
    let (request, notice, confirmation) = refund_values(f);
    add("RefundRequest", request.body().to_bytes());
    add("SignedRefundRequest", request.to_bytes());
    add("RefundNotice", notice.body().to_bytes());
    add("SignedRefundNotice", notice.to_bytes());
    add("RefundConfirmation", confirmation.body().to_bytes());
    add("SignedRefundConfirmation", confirmation.to_bytes());
    add(
        "RefundAnswer",
        RefundAnswer::Refused {
            code: "refund.over_paid".into(),
        }
        .to_bytes(),
    );
    add("RefundResponse", refund_response(f).to_bytes());
    let obligation = &f.report.body().fields().refunds[0];
    add("RefundObligation", obligation.to_bytes());
    add("CycleRefund", cycle_refund(&confirmation).to_bytes());
    add(
        "RefundAnswer",
        RefundAnswer::Confirmed {
            confirmation: Box::new(confirmation),
        }
        .to_bytes(),
    );
}

/// The clearing house's record of the refund `confirmation` counted in a cycle.
fn cycle_refund(confirmation: &Signed<RefundConfirmation>) -> CycleRefund {
    let body = confirmation.body();
    CycleRefund {
        acquirer: body.acquirer,
        issuer: body.issuer,
        refund: body.refund,
        amount: body.amount,
        fee: body.fee,
    }
}

/// The acquirer's answer to the fixtures' refund.
fn refund_response(f: &Fixtures) -> RefundResponse {
    let (request, _, _) = refund_values(f);
    let paid = f.permissions[0].body();
    RefundResponse {
        merchant: MERCHANT,
        refund_id: request.body().refund_id,
        refund: request.body_digest(),
        amount: paid.amount,
        coin_refunded: paid.amount,
    }
}

/// A refund of the fixtures' first coin, whole: the merchant's request, the acquirer's notice
/// and the issuer's confirmation.
fn refund_values(
    f: &Fixtures,
) -> (
    Signed<RefundRequest>,
    Signed<RefundNotice>,
    Signed<RefundConfirmation>,
) {
    let paid = f.permissions[0].body();
    let request = Signed::sign(
        RefundRequest {
            merchant: MERCHANT,
            refund_id: RequestId([8; 16]),
            contract_hash: paid.contract_hash,
            denomination: paid.coin.denomination,
            coin: semper_protocol::ids::CoinId::of(&paid.coin.public_key),
            amount: paid.amount,
        },
        &key(0x0a),
    );
    let notice = Signed::sign(
        RefundNotice {
            acquirer: ACQUIRER,
            refund: request.body_digest(),
            denomination: request.body().denomination,
            coin: request.body().coin,
            permission: f.permissions[0].body_digest(),
            amount: paid.amount,
        },
        &key(0x02),
    );
    let confirmation = Signed::sign(
        RefundConfirmation {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            refund: request.body_digest(),
            denomination: request.body().denomination,
            coin: request.body().coin,
            amount: paid.amount,
            fee: Amount::zero(paid.amount.currency()),
            confirmed_at: NOW,
        },
        &key(0x01),
    );
    (request, notice, confirmation)
}

fn claim_ref() -> ClaimRef {
    ClaimRef {
        acquirer: ACQUIRER,
        submission_id: SUBMISSION,
    }
}

fn link_messages(corpus: &mut Corpus, f: &Fixtures) {
    let (requests, responses, notices) = link_values(f);
    for (i, request) in requests.iter().enumerate() {
        corpus.add("link_messages", &format!("request-{i}"), request.to_bytes());
    }
    for (i, response) in responses.iter().enumerate() {
        corpus.add(
            "link_messages",
            &format!("response-{i}"),
            response.to_bytes(),
        );
    }
    for (i, notice) in notices.iter().enumerate() {
        corpus.add("link_messages", &format!("notice-{i}"), notice.to_bytes());
    }
}

fn storage_values(corpus: &mut Corpus, f: &Fixtures) {
    let mut add =
        |name: &str, bytes: Vec<u8>| corpus.add_selected("storage_values", RECORDS, name, bytes);
    let (_, notice, confirmation) = refund_values(f);
    let refunded = f.permissions[0].body().amount;
    add(
        "RefundRecord",
        RefundRecord {
            request_digest: notice.body().refund,
            issuer: ISSUER,
            notice: notice.clone(),
            response: refund_response(f),
            answer: Some(RefundAnswer::Confirmed {
                confirmation: Box::new(confirmation.clone()),
            }),
        }
        .to_bytes(),
    );
    add(
        "IssuerRefund",
        IssuerRefund {
            notice_digest: notice.body_digest(),
            confirmation: confirmation.clone(),
        }
        .to_bytes(),
    );
    add(
        "RefundAllowance",
        RefundAllowance {
            refunded,
            swapped: refunded,
        }
        .to_bytes(),
    );
    add("CycleRefund", cycle_refund(&confirmation).to_bytes());
    add(
        "ClaimedRefund",
        ClaimedRefund {
            cycle: CYCLE,
            submission_id: SUBMISSION,
            amount: confirmation.body().amount,
            fee: confirmation.body().fee,
        }
        .to_bytes(),
    );
    add(
        "RefusedRefund",
        RefusedRefund {
            refund: confirmation.body().refund,
            issuer: ISSUER,
            submission_id: SUBMISSION,
            result: ClaimResult::Refused {
                code: "confirmation.bad_fee".into(),
            },
        }
        .to_bytes(),
    );
    let eur = f.denomination.value();
    let public_key = *key(0x0a).verifying_key();
    add(
        "AccountRecord",
        AccountRecord {
            public_key,
            balance: eur,
            journal_len: 3,
        }
        .to_bytes(),
    );
    let reasons = [
        JournalReason::Opened,
        JournalReason::Credit {
            reference: "wire-2024-001".into(),
            amount: eur,
        },
        JournalReason::Withdrawal {
            request_id: RequestId([9; 16]),
            amount: eur,
        },
        JournalReason::Recoup {
            coin: semper_protocol::ids::CoinId::of(&f.coins[0].coin().public_key),
            amount: eur,
        },
    ];
    for (sequence, reason) in reasons.into_iter().enumerate() {
        add("JournalReason", reason.to_bytes());
        add(
            "JournalEntry",
            JournalEntry {
                sequence: sequence as u64,
                reason,
                balance_after: eur,
                at: NOW,
            }
            .to_bytes(),
        );
    }
    add(
        "RecoupRecord",
        semper_storage::recoups::RecoupRecord {
            request_digest: f.withdraw_request.body_digest(),
            denomination: f.denomination.id(),
            coin: semper_protocol::ids::CoinId::of(&f.coins[0].coin().public_key),
            credited: eur,
            at: NOW,
        }
        .to_bytes(),
    );
    add(
        "WithdrawalRecord",
        WithdrawalRecord {
            request_digest: f.withdraw_request.body_digest(),
            total: eur,
            blind_signatures: f.withdraw_response.blind_signatures.clone(),
            at: NOW,
        }
        .to_bytes(),
    );
    add("SignedDepositPermission", f.permissions[0].to_bytes());
    for flag in [0u8, 1] {
        let mut stored = f.denomination.to_bytes();
        stored.push(flag);
        add("StoredDenomination", stored);
    }
    add(
        "MerchantRecord",
        MerchantRecord {
            public_key: *key(0x05).verifying_key(),
            balances: BoundedVec::new(vec![eur]).unwrap_or_default(),
            journal_len: 1,
        }
        .to_bytes(),
    );
    add(
        "MerchantJournalEntry",
        MerchantJournalEntry {
            sequence: 0,
            deposit_id: RequestId([0xd0; 16]),
            amount: eur,
            balance_after: eur,
            at: NOW,
            refund: None,
        }
        .to_bytes(),
    );
    for response in [None, Some(f.deposit_response.clone())] {
        add(
            "DepositRecord",
            DepositRecord {
                request_digest: f.deposit_request.body_digest(),
                response,
                at: NOW,
            }
            .to_bytes(),
        );
    }
    add(
        "CoinCredit",
        CoinCredit {
            merchant: MERCHANT,
            deposit_id: RequestId([0xd0; 16]),
            batch_id: BATCH,
            permission_digest: f.permissions[0].body_digest(),
            permission: f.permissions[0].clone(),
            refund_deadline: NOW,
        }
        .to_bytes(),
    );
    add("SignedDenominationSet", f.set.to_bytes());
    add("SignedSpendConfirmation", f.confirmation.to_bytes());
    let states = [
        SubmissionState::Pending,
        SubmissionState::Answered(f.receipt.clone()),
        SubmissionState::Refused {
            code: "submission.unknown_acquirer".into(),
        },
    ];
    for state in states {
        add("SubmissionState", state.to_bytes());
        add(
            "SubmissionRecord",
            SubmissionRecord {
                sequence: 1,
                submission: f.submission.clone(),
                state,
            }
            .to_bytes(),
        );
    }
    add(
        "ClaimedConfirmation",
        ClaimedConfirmation {
            cycle: CYCLE,
            submission_id: SUBMISSION,
            totals: BoundedVec::new(vec![eur]).unwrap_or_default(),
        }
        .to_bytes(),
    );
    add(
        "RefusedClaim",
        RefusedClaim {
            batch_id: BATCH,
            issuer: ISSUER,
            submission_id: SUBMISSION,
            result: ClaimResult::Refused {
                code: "confirmation.unknown_issuer".into(),
            },
        }
        .to_bytes(),
    );
    add(
        "BatchTotals",
        BatchTotals {
            totals: BoundedVec::new(vec![eur, eur]).unwrap_or_default(),
        }
        .to_bytes(),
    );
    add(
        "OpenCycle",
        OpenCycle {
            sequence: 4,
            id: CYCLE,
            opened_at: NOW,
            submissions: 2,
            confirmations: 9,
        }
        .to_bytes(),
    );
    add(
        "StoredSubmission",
        StoredSubmission {
            body_digest: f.submission.body_digest(),
            receipt: f.receipt.body().clone(),
        }
        .to_bytes(),
    );
    add(
        "CycleClaim",
        CycleClaim {
            issuer: ISSUER,
            acquirer: ACQUIRER,
            batch_id: BatchId([0x70; 16]),
            amount: eur,
        }
        .to_bytes(),
    );
    add("ClaimRef", claim_ref().to_bytes());
    add(
        "ReceivedReport",
        ReceivedReport {
            report: f.report.clone(),
            received_at: NOW,
            discrepancies: DiscrepancyRange { first: 7, count: 2 },
        }
        .to_bytes(),
    );
    add(
        "DiscrepancyRange",
        DiscrepancyRange { first: 0, count: 0 }.to_bytes(),
    );
}
