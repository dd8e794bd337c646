//! What the HTTP API answers, as wallets, merchants and operators parse it: the JSON of every
//! endpoint's answer. A protocol message that arrives as JSON must also have its binary form,
//! since a wallet signs over it, stores it, or hands it on.

use semper_client::views::{
    AccountView, CycleView, DenominationCountView, DepositStatusView, HealthView, MerchantView,
    OutboxView,
};
use semper_protocol::denomination::SignedDenominationSet;
use semper_protocol::messages::deposit_answer::SignedDepositAnswer;
use semper_protocol::messages::settlement::SignedSettlementReport;
use semper_protocol::messages::spend::EarlierSpend;
use semper_protocol::messages::swap::SwapResponse;
use semper_protocol::messages::withdraw::WithdrawResponse;
use semper_protocol::reconcile::Discrepancy;

use crate::Target;
use crate::check::{codec_agrees, from_json};
use crate::invariants;

/// An answer that is the API's own view: its JSON is all there is to check.
macro_rules! view {
    ($what:literal, $ty:ty) => {
        ($what, |data: &[u8]| {
            from_json::<$ty>(data);
        })
    };
}

/// The answer parsers, by selector byte, as [`crate::protocol_codec`] has its decoders. Append only.
pub const RESPONSES: &[(&str, Target)] = &[
    ("GET /v1/issuer/denominations", |data| {
        if let Some(set) = from_json::<SignedDenominationSet>(data) {
            codec_agrees(&set);
            invariants::signed(&set);
            invariants::denomination_set(set.body());
        }
    }),
    view!("GET /v1/issuer/accounts/{account}", AccountView),
    ("POST /v1/issuer/withdraw", |data| {
        if let Some(response) = from_json::<WithdrawResponse>(data) {
            codec_agrees(&response);
        }
    }),
    ("GET /v1/{issuer,acquirer}/discrepancies", |data| {
        if let Some(discrepancies) = from_json::<Vec<Discrepancy>>(data) {
            discrepancies.iter().for_each(codec_agrees);
        }
    }),
    view!("GET /v1/acquirer/merchants/{merchant}", MerchantView),
    ("POST /v1/acquirer/deposits", |data| {
        // The merchant checks the acquirer's signature over the binary form.
        if let Some(answer) = from_json::<SignedDepositAnswer>(data) {
            codec_agrees(&answer);
            invariants::signed(&answer);
        }
    }),
    (
        "GET /v1/acquirer/merchants/{merchant}/deposits/{deposit_id}",
        |data| {
            if let Some(DepositStatusView::Done { answer }) = from_json::<DepositStatusView>(data) {
                codec_agrees(&answer);
                invariants::signed(&answer);
            }
        },
    ),
    view!("GET /v1/acquirer/outbox", OutboxView),
    view!(
        "POST /v1/acquirer/denominations/refresh",
        DenominationCountView
    ),
    view!("GET /v1/clearing/cycle", CycleView),
    ("POST /v1/clearing/cycle/cut", |data| {
        if let Some(report) = from_json::<SignedSettlementReport>(data) {
            codec_agrees(&report);
            invariants::signed_settlement_report(&report);
        }
    }),
    ("GET /v1/clearing/reports", |data| {
        if let Some(reports) = from_json::<Vec<SignedSettlementReport>>(data) {
            for report in &reports {
                codec_agrees(report);
                invariants::signed_settlement_report(report);
            }
        }
    }),
    view!("GET /health", HealthView),
    ("POST /v1/issuer/swap", |data| {
        if let Some(response) = from_json::<SwapResponse>(data) {
            codec_agrees(&response);
        }
    }),
    ("POST /v1/issuer/swap 409", |data| {
        // The wallet checks the proof's signature over its binary form.
        if let Some(conflict) = from_json::<SwapConflictView>(data) {
            match &conflict.earlier {
                EarlierSpend::Deposit(earlier) => codec_agrees(earlier),
                EarlierSpend::Swap(earlier) => codec_agrees(earlier),
                EarlierSpend::Recoup(earlier) => codec_agrees(earlier),
            }
        }
    }),
];

/// The 409 `swap.conflict` answer, as a wallet reads it.
#[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct SwapConflictView {
    code: String,
    message: String,
    index: usize,
    earlier: EarlierSpend,
}

/// Parses the input as the answer its first byte picks, and checks what it parsed to.
pub fn http_responses(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if let Some((_, parse)) = RESPONSES.get(usize::from(selector)) {
        parse(rest);
    }
}
