//! The JSON bodies of the API are `semper-client`'s types (the server and its clients read and
//! write the same ones); here, the views of the server's own records, which the client cannot
//! build because it does not link storage or the actors.

use semper_actors::acquirer::OutboxStatus;
use semper_protocol::crypto::ed25519::VerifyingKey;
use semper_protocol::ids::{AccountId, BankId, MerchantId};
use semper_storage::acquirer::merchants::MerchantRecord;
use semper_storage::clearing::OpenCycle;
use semper_storage::issued::IssuedCount;
use semper_storage::ledger::AccountRecord;

pub use semper_client::views::*;

/// The view of an account's `record`.
pub fn account_view(account: AccountId, record: &AccountRecord) -> AccountView {
    AccountView {
        account,
        public_key: record.public_key,
        currency: record.balance.currency(),
        balance: record.balance,
        journal_len: record.journal_len,
    }
}

/// The view of the issuer's books, `counts`.
pub fn issued_view(counts: Vec<IssuedCount>) -> IssuedView {
    IssuedView {
        denominations: counts
            .into_iter()
            .map(|count| IssuedCountView {
                denomination: count.denomination,
                coins: count.coins,
            })
            .collect(),
    }
}

/// The view of a merchant's `record`, at the acquirer `acquirer` whose bank key is `acquirer_key`.
pub fn merchant_view(
    merchant: MerchantId,
    record: &MerchantRecord,
    acquirer: BankId,
    acquirer_key: VerifyingKey,
) -> MerchantView {
    MerchantView {
        merchant,
        public_key: record.public_key,
        balances: record.balances.to_vec(),
        journal_len: record.journal_len,
        acquirer,
        acquirer_key,
    }
}

/// The view of the acquirer's outbox `status`.
pub fn outbox_view(status: OutboxStatus) -> OutboxView {
    OutboxView {
        queued: status.queued,
        pending: status.pending,
        refused: status
            .refused
            .into_iter()
            .map(|claim| RefusedClaimView {
                batch_id: claim.batch_id,
                issuer: claim.issuer,
                submission_id: claim.submission_id,
                result: claim.result,
            })
            .collect(),
        refunds_queued: status.refunds_queued,
        refused_refunds: status
            .refused_refunds
            .into_iter()
            .map(|refused| RefusedRefundView {
                refund: refused.refund,
                issuer: refused.issuer,
                submission_id: refused.submission_id,
                result: refused.result,
            })
            .collect(),
    }
}

/// The view of the clearing house's open `cycle`.
pub fn cycle_view(cycle: OpenCycle) -> CycleView {
    CycleView {
        sequence: cycle.sequence,
        id: cycle.id,
        opened_at: cycle.opened_at,
        submissions: cycle.submissions,
        confirmations: cycle.confirmations,
    }
}
