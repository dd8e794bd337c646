//! The invariants a run must leave true, checked over plain values: what the load's parties
//! recorded ([`ClientBooks`]) against what the deployment says at the end ([`ServerBooks`]).
//! Pure, so each check is tested over hand-made books that pass and that fail. The refunds'
//! checks are in [`refunds`], the swaps' in [`swaps`], the recoups' in [`recoups`],
//! conservation across banks in [`banks`].

mod banks;
mod recoups;
mod refunds;
mod swaps;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;

pub use recoups::RecoupBook;
pub use refunds::RefundBook;
pub use swaps::{SwapBook, SwapInput};

/// Most examples kept per broken invariant.
pub const EXAMPLES_MAX: usize = 10;

/// A list that keeps its first [`EXAMPLES_MAX`] entries and counts the rest.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Examples {
    /// How many in all.
    pub count: u64,
    /// The first few.
    pub first: Vec<String>,
}

impl Examples {
    /// Adds one.
    pub fn push(&mut self, example: String) {
        self.count += 1;
        if self.first.len() < EXAMPLES_MAX {
            self.first.push(example);
        }
    }
}

/// A wallet's account as the load kept it.
#[derive(Clone, Debug, Serialize)]
pub struct WalletBook {
    /// The account (hex).
    pub account: String,
    /// Its issuer (hex).
    pub issuer: String,
    /// Its currency.
    pub currency: String,
    /// Credited by the operator, minor units.
    pub credited_minor: u64,
    /// Withdrawn in acknowledged withdrawals, minor units: the coins' values.
    pub withdrawn_minor: u64,
    /// The withdraw fees of those coins, debited on top of their values, minor units.
    pub withdraw_fees_minor: u64,
    /// Coins withdrawn.
    pub withdrawn_coins: u64,
    /// Credited back by recoups, minor units.
    pub recouped_minor: u64,
}

/// A coin a deposit answered `accepted` for.
#[derive(Clone, Debug, Serialize)]
pub struct AcceptedCoin {
    /// The coin's public key.
    pub coin: [u8; 32],
    /// Its value, minor units.
    pub value_minor: u64,
    /// Its currency.
    pub currency: String,
    /// Its issuer (hex).
    pub issuer: String,
    /// The acquirer that accepted it (hex).
    pub acquirer: String,
    /// The merchant it was credited to (hex).
    pub merchant: String,
    /// The deposit fee the acquirer kept from its value, minor units.
    pub deposit_fee_minor: u64,
}

/// What the load's parties saw.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientBooks {
    /// Every wallet.
    pub wallets: Vec<WalletBook>,
    /// Every `accepted` answer, one entry per answer (a coin twice here was accepted twice).
    #[serde(skip)]
    pub accepted: Vec<AcceptedCoin>,
    /// Double-spend attempts made.
    pub double_spend_attempts: u64,
    /// Attempts refused as `conflict` with the earlier permission of the same coin as proof.
    pub double_spends_rejected_with_proof: u64,
    /// Attempts not refused so.
    pub double_spend_failures: Examples,
    /// Attempts that got no answer because the deployment was down (a crash-kill soak only).
    pub double_spends_unanswered: u64,
    /// Requests replayed.
    pub replays: u64,
    /// Replays that got an answer different from the first.
    pub replay_mismatches: Examples,
    /// Honest coins (first spend, valid) not answered `accepted`.
    pub honest_not_accepted: Examples,
    /// Requests whose outcome stayed unknown after every retry.
    pub unresolved: Examples,
    /// Every refund the acquirer answered (debited), once per refund id.
    #[serde(skip)]
    pub refunds: Vec<RefundBook>,
    /// Refunds sent (retries of a refund answered before are counted as replays).
    pub refund_attempts: u64,
    /// Refunds answered as due: an honest one debited with the coin's new total, one over what
    /// the coin paid or after the contract's deadline refused with its code.
    pub refunds_answered_as_due: u64,
    /// Of those, refunds over what the coin had left, refused `refund.over_paid`.
    pub refunds_refused_over_paid: u64,
    /// Of those, refunds after the contract's deadline, refused `refund.deadline_passed`.
    pub refunds_refused_late: u64,
    /// Refunds answered otherwise.
    pub refund_failures: Examples,
    /// Refunds that got no answer because the deployment was down (a crash-kill soak only).
    pub refunds_unanswered: u64,
    /// What each merchant may still be debited, as the load knows it, by (merchant, currency):
    /// its credits less the refunds answered or under way. A refund larger than this is not
    /// sent, so that an honest refund never finds the merchant's balance short.
    #[serde(skip)]
    pub refundable_minor: HashMap<(String, String), u64>,
    /// Every swap the issuer signed, once per request.
    #[serde(skip)]
    pub swaps: Vec<SwapBook>,
    /// Swaps sent (replays of a swap answered before are counted as replays; a refunded coin's
    /// swap refused before its issuer knew the refund is sent again later, counted once).
    pub swap_attempts: u64,
    /// Swaps refused or answered otherwise than signed.
    pub swap_failures: Examples,
    /// Swaps that got no answer because the deployment was down (a crash-kill soak only).
    pub swaps_unanswered: u64,
    /// Refunded coins' swaps refused while their issuer did not know the refund yet (sent again
    /// later).
    pub refund_swaps_early: u64,
    /// Refunded coins whose allowance no coins of the pouch beside it make a sum of
    /// denominations of: not swapped.
    pub refunded_not_swappable: u64,
    /// Coins given in to a swap spent again: deposited, or a refunded coin swapped again.
    pub swapped_spend_attempts: u64,
    /// Of those, refused with the swap (or the coin's own earlier permission) as proof.
    pub swapped_spends_refused_with_proof: u64,
    /// Of those, answered otherwise.
    pub swapped_spend_failures: Examples,
    /// Of those, unanswered because the deployment was down (a crash-kill soak only).
    pub swapped_spends_unanswered: u64,
    /// Every recoup the issuer answered, once per coin.
    #[serde(skip)]
    pub recoups: Vec<RecoupBook>,
    /// Recoups sent (replays counted as replays).
    pub recoup_attempts: u64,
    /// Recoups refused or answered otherwise.
    pub recoup_failures: Examples,
    /// Recoups that got no answer because the deployment was down (a crash-kill soak only).
    pub recoups_unanswered: u64,
    /// Deposits of coins recouped.
    pub recouped_spend_attempts: u64,
    /// Of those, refused (as recouped with the recoup as proof, or of a revoked denomination).
    pub recouped_spends_refused: u64,
    /// Of those, answered otherwise.
    pub recouped_spend_failures: Examples,
    /// Of those, unanswered because the deployment was down (a crash-kill soak only).
    pub recouped_spends_unanswered: u64,
    /// The denominations revoked for the recoups, as `issuer: denomination` (hex).
    pub revoked: Vec<String>,
}

impl ClientBooks {
    /// Books an `accepted` answer; its merchant may refund what it was credited.
    pub fn accept(&mut self, coin: AcceptedCoin) {
        let credited = coin.value_minor.saturating_sub(coin.deposit_fee_minor);
        *self
            .refundable_minor
            .entry((coin.merchant.clone(), coin.currency.clone()))
            .or_default() += credited;
        self.accepted.push(coin);
    }

    /// Sets up to `wanted_minor` of `merchant`'s credits aside for a refund: how much it set
    /// aside (all of it, or what the merchant has left).
    pub fn reserve_refund(&mut self, merchant: &str, currency: &str, wanted_minor: u64) -> u64 {
        let key = (merchant.to_owned(), currency.to_owned());
        let Some(left) = self.refundable_minor.get_mut(&key) else {
            return 0;
        };
        let reserved = wanted_minor.min(*left);
        *left -= reserved;
        reserved
    }

    /// Gives back what [`ClientBooks::reserve_refund`] set aside for a refund that was refused.
    pub fn release_refund(&mut self, merchant: &str, currency: &str, amount_minor: u64) {
        *self
            .refundable_minor
            .entry((merchant.to_owned(), currency.to_owned()))
            .or_default() += amount_minor;
    }
}

/// An acquirer's outbox after the final flush.
#[derive(Clone, Debug, Serialize)]
pub struct OutboxBook {
    /// The acquirer (hex).
    pub acquirer: String,
    /// Confirmations not yet submitted.
    pub queued: u64,
    /// Submissions not yet answered.
    pub pending: u64,
    /// Confirmations the clearing house refused.
    pub refused: u64,
    /// Refund confirmations not yet submitted.
    pub refunds_queued: u64,
    /// Refund confirmations the clearing house did not settle.
    pub refused_refunds: u64,
}

/// One obligation of a settlement report.
#[derive(Clone, Debug, Serialize)]
pub struct ObligationBook {
    /// Who owes (hex).
    pub issuer: String,
    /// Who is owed (hex).
    pub acquirer: String,
    /// The currency.
    pub currency: String,
    /// Minor units.
    pub amount_minor: u64,
}

/// One refund obligation of a settlement report (docs/protocol.md §7.15): the opposite way to
/// an obligation, from the acquirer that debited its merchants to the coins' issuer.
#[derive(Clone, Debug, Serialize)]
pub struct RefundObligationBook {
    /// Who owes (hex): the acquirer.
    pub acquirer: String,
    /// Who is owed (hex): the issuer.
    pub issuer: String,
    /// The currency.
    pub currency: String,
    /// Minor units: the refunds' amounts summed, what nets.
    pub amount_minor: u64,
    /// The refunds' identities (hex), as the acquirer's answers name them.
    pub refunds: Vec<String>,
}

/// One net position of a settlement report.
#[derive(Clone, Debug, Serialize)]
pub struct PositionBook {
    /// The bank (hex).
    pub bank: String,
    /// The currency.
    pub currency: String,
    /// Positive receives, negative pays.
    pub net_minor: i64,
}

/// A settlement report of a cycle cut during the run.
#[derive(Clone, Debug, Serialize)]
pub struct ReportBook {
    /// The cycle's number.
    pub sequence: u64,
    /// Its obligations.
    pub obligations: Vec<ObligationBook>,
    /// Its refund obligations: each acquirer owes an issuer the refunds it settled.
    pub refunds: Vec<RefundObligationBook>,
    /// Its net positions.
    pub positions: Vec<PositionBook>,
}

/// What the deployment says at the end.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerBooks {
    /// Each wallet's balance, minor units, by account (hex); missing when it could not be read.
    pub wallet_balances: BTreeMap<String, u64>,
    /// Each of the load's merchants' balances by (acquirer, merchant, currency), minor units.
    pub merchant_credits: BTreeMap<(String, String, String), u64>,
    /// Each acquirer's outbox after the final flush.
    pub outboxes: Vec<OutboxBook>,
    /// The reports of the cycles cut since the run began.
    pub reports: Vec<ReportBook>,
    /// Discrepancies recorded since the run began, per party ("issuer 01..", "acquirer 02..").
    pub new_discrepancies: Vec<(String, Examples)>,
    /// What could not be read at all.
    pub unreadable: Examples,
}

/// One invariant's verdict.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// A stable name.
    pub name: &'static str,
    /// What it means.
    pub statement: &'static str,
    /// Holds.
    pub ok: bool,
    /// Why it does not (empty when it holds), or what was checked.
    pub details: Vec<String>,
}

fn verdict(
    name: &'static str,
    statement: &'static str,
    broken: Vec<String>,
    checked: String,
) -> Verdict {
    let ok = broken.is_empty();
    Verdict {
        name,
        statement,
        ok,
        details: if ok { vec![checked] } else { broken },
    }
}

fn examples_lines(examples: &Examples) -> Vec<String> {
    let mut lines = examples.first.clone();
    if examples.count > examples.first.len() as u64 {
        lines.push(format!("... {} in all", examples.count));
    }
    lines
}

/// Checks every invariant.
pub fn check(client: &ClientBooks, server: &ServerBooks) -> Vec<Verdict> {
    vec![
        accounts_conserve(client, server),
        deposits_within_withdrawals(client),
        merchants_credited_as_accepted(client, server),
        banks::value_conserved_across_banks(client, server),
        no_double_spend_accepted(client),
        double_spends_rejected_with_proof(client),
        replays_identical(client),
        honest_coins_accepted(client),
        refunds::within_deposit(client),
        refunds::deadline_kept(client),
        refunds::answered_as_due(client),
        refunds::spent_once(client),
        refunds::reported(client, server),
        swaps::answered_as_due(client),
        swaps::spent_refused_with_proof(client),
        recoups::credited_once(client),
        net_positions_sum_to_zero(server),
        deposits_settled(client, server),
        reconciliation_clean(server),
    ]
}

/// Credited + recouped = balance + withdrawn + withdraw fees, for every wallet.
fn accounts_conserve(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut broken = Vec::new();
    for wallet in &client.wallets {
        match server.wallet_balances.get(&wallet.account) {
            None => broken.push(format!("account {}: balance not readable", wallet.account)),
            Some(&balance) => {
                let held = u128::from(balance)
                    + u128::from(wallet.withdrawn_minor)
                    + u128::from(wallet.withdraw_fees_minor);
                let credited =
                    u128::from(wallet.credited_minor) + u128::from(wallet.recouped_minor);
                if held != credited {
                    broken.push(format!(
                        "account {} at {}: credited {} and recouped {} but balance {} + withdrawn {} + withdraw fees {} = {}",
                        wallet.account,
                        wallet.issuer,
                        wallet.credited_minor,
                        wallet.recouped_minor,
                        balance,
                        wallet.withdrawn_minor,
                        wallet.withdraw_fees_minor,
                        held
                    ));
                }
            }
        }
    }
    for line in examples_lines(&client.unresolved) {
        broken.push(format!("unresolved request: {line}"));
    }
    verdict(
        "conservation.accounts",
        "what was credited to each wallet's account, and recouped to it, = its balance + the value it withdrew + the withdraw fees",
        broken,
        format!("{} accounts", client.wallets.len()),
    )
}

/// Value and coins accepted in deposits ≤ value and coins withdrawn, plus what swaps gave out,
/// less the coins of the wallets' own they took in (a refunded coin swapped was accepted once
/// already: its allowance is value that came back).
fn deposits_within_withdrawals(client: &ClientBooks) -> Verdict {
    let withdrawn_minor: u128 = client
        .wallets
        .iter()
        .map(|w| u128::from(w.withdrawn_minor))
        .sum();
    let withdrawn_coins: u64 = client.wallets.iter().map(|w| w.withdrawn_coins).sum();
    let (swapped_out_minor, swapped_out_coins, swapped_in_minor, swapped_in_coins) =
        swaps::fresh_totals(client);
    let (recouped_minor, recouped_coins) = recoups::totals(client);
    let issued_minor =
        (withdrawn_minor + swapped_out_minor).saturating_sub(swapped_in_minor + recouped_minor);
    let issued_coins = (u128::from(withdrawn_coins) + swapped_out_coins)
        .saturating_sub(swapped_in_coins + recouped_coins);
    let accepted_minor: u128 = client
        .accepted
        .iter()
        .map(|c| u128::from(c.value_minor))
        .sum();
    let accepted_coins = client.accepted.len() as u128;
    let mut broken = Vec::new();
    if accepted_minor > issued_minor {
        broken.push(format!(
            "deposits accepted {accepted_minor} minor units, more than the {withdrawn_minor} withdrawn + {swapped_out_minor} swapped out - {swapped_in_minor} swapped in - {recouped_minor} recouped"
        ));
    }
    if accepted_coins > issued_coins {
        broken.push(format!(
            "deposits accepted {accepted_coins} coins, more than the {withdrawn_coins} withdrawn + {swapped_out_coins} swapped out - {swapped_in_coins} swapped in - {recouped_coins} recouped"
        ));
    }
    verdict(
        "conservation.deposits",
        "value and coins accepted in deposits never exceed value and coins withdrawn, plus those swaps gave out, less the unspent coins swaps took in and those recouped",
        broken,
        format!(
            "accepted {accepted_coins} coins ({accepted_minor} minor) of {withdrawn_coins} withdrawn ({withdrawn_minor} minor), {swapped_out_coins} swapped out for {swapped_in_coins} in"
        ),
    )
}

/// Each merchant's balance = the value accepted for it, less the deposit fees its acquirer kept,
/// less the refunds it was debited.
fn merchants_credited_as_accepted(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut credited: BTreeMap<(String, String, String), i128> = BTreeMap::new();
    for coin in &client.accepted {
        *credited
            .entry((
                coin.acquirer.clone(),
                coin.merchant.clone(),
                coin.currency.clone(),
            ))
            .or_default() += i128::from(coin.value_minor) - i128::from(coin.deposit_fee_minor);
    }
    for refund in &client.refunds {
        *credited
            .entry((
                refund.acquirer.clone(),
                refund.merchant.clone(),
                refund.currency.clone(),
            ))
            .or_default() -= i128::from(refund.amount_minor);
    }
    let mut broken = Vec::new();
    let keys: std::collections::BTreeSet<_> = credited
        .keys()
        .chain(server.merchant_credits.keys())
        .cloned()
        .collect();
    for key in keys {
        let expected = credited.get(&key).copied().unwrap_or(0);
        let held = server.merchant_credits.get(&key).copied().unwrap_or(0);
        if expected != i128::from(held) {
            broken.push(format!(
                "merchant {} at acquirer {} {}: holds {held} but accepted less deposit fees less refunds is {expected}",
                key.1, key.0, key.2
            ));
        }
    }
    verdict(
        "conservation.merchants",
        "each merchant's balance = the value accepted for it - the deposit fees kept - the refunds debited",
        broken,
        format!(
            "{} merchants, {} refunds",
            credited.len(),
            client.refunds.len()
        ),
    )
}

/// Every coin accepted at most once, and a coin given in to a swap for its value never accepted
/// nor given in again.
fn no_double_spend_accepted(client: &ClientBooks) -> Verdict {
    let mut seen: HashMap<[u8; 32], u32> = HashMap::with_capacity(client.accepted.len());
    for coin in &client.accepted {
        *seen.entry(coin.coin).or_default() += 1;
    }
    for input in swaps::fresh_inputs(client) {
        *seen.entry(input.coin).or_default() += 1;
    }
    let mut twice = Examples::default();
    for (coin, times) in seen.iter().filter(|(_, times)| **times > 1) {
        twice.push(format!(
            "coin {} accepted or swapped {times} times",
            hex(coin)
        ));
    }
    verdict(
        "double_spend.none_accepted",
        "no coin is spent twice: accepted in a deposit or given in to a swap for its value, once",
        examples_lines(&twice),
        format!("{} distinct coins accepted or swapped", seen.len()),
    )
}

/// Every double-spend attempt refused as a conflict, with the earlier permission as proof.
fn double_spends_rejected_with_proof(client: &ClientBooks) -> Verdict {
    let mut broken = examples_lines(&client.double_spend_failures);
    let accounted = client.double_spends_rejected_with_proof
        + client.double_spend_failures.count
        + client.double_spends_unanswered;
    if accounted != client.double_spend_attempts {
        broken.push(format!(
            "{} attempts, {} rejected with proof, {} failed: the rest have no answer",
            client.double_spend_attempts,
            client.double_spends_rejected_with_proof,
            client.double_spend_failures.count
        ));
    }
    verdict(
        "double_spend.rejected_with_proof",
        "every double-spend attempt is refused as a conflict carrying the earlier signed permission",
        broken,
        if client.double_spends_unanswered == 0 {
            format!(
                "{} attempts, all rejected with proof",
                client.double_spend_attempts
            )
        } else {
            format!(
                "{} attempts: {} rejected with proof, {} unanswered while the deployment was down",
                client.double_spend_attempts,
                client.double_spends_rejected_with_proof,
                client.double_spends_unanswered
            )
        },
    )
}

/// A replayed request gets the first answer.
fn replays_identical(client: &ClientBooks) -> Verdict {
    verdict(
        "idempotency.replays",
        "a replayed withdrawal, deposit or refund gets the identical answer and changes nothing",
        examples_lines(&client.replay_mismatches),
        format!("{} replays, all identical", client.replays),
    )
}

/// Honest coins are accepted.
fn honest_coins_accepted(client: &ClientBooks) -> Verdict {
    verdict(
        "deposits.honest_accepted",
        "a valid coin spent for the first time is accepted",
        examples_lines(&client.honest_not_accepted),
        format!("{} coins accepted", client.accepted.len()),
    )
}

/// Every report's net positions sum to zero per currency and are the netting of its
/// obligations.
fn net_positions_sum_to_zero(server: &ServerBooks) -> Verdict {
    let mut broken = Vec::new();
    for report in &server.reports {
        let mut sums: BTreeMap<&str, i128> = BTreeMap::new();
        for position in &report.positions {
            *sums.entry(&position.currency).or_default() += i128::from(position.net_minor);
        }
        for (currency, sum) in sums.iter().filter(|(_, sum)| **sum != 0) {
            broken.push(format!(
                "cycle {}: net positions in {currency} sum to {sum}",
                report.sequence
            ));
        }
        let mut netted: BTreeMap<(&str, &str), i128> = BTreeMap::new();
        for obligation in &report.obligations {
            let amount = i128::from(obligation.amount_minor);
            *netted
                .entry((&obligation.issuer, &obligation.currency))
                .or_default() -= amount;
            *netted
                .entry((&obligation.acquirer, &obligation.currency))
                .or_default() += amount;
        }
        for refund in &report.refunds {
            let amount = i128::from(refund.amount_minor);
            *netted
                .entry((&refund.acquirer, &refund.currency))
                .or_default() -= amount;
            *netted
                .entry((&refund.issuer, &refund.currency))
                .or_default() += amount;
        }
        netted.retain(|_, net| *net != 0);
        let stated: BTreeMap<(&str, &str), i128> = report
            .positions
            .iter()
            .map(|p| {
                (
                    (p.bank.as_str(), p.currency.as_str()),
                    i128::from(p.net_minor),
                )
            })
            .filter(|(_, net)| *net != 0)
            .collect();
        if netted != stated {
            broken.push(format!(
                "cycle {}: net positions {stated:?} are not the netting {netted:?} of its obligations",
                report.sequence
            ));
        }
    }
    verdict(
        "settlement.net_zero",
        "every cycle's net positions sum to zero per currency and net its obligations",
        broken,
        format!("{} reports", server.reports.len()),
    )
}

/// Everything accepted is in a settlement report: per (issuer, acquirer, currency), the reports'
/// obligations sum to the value accepted, and no outbox holds anything back.
fn deposits_settled(client: &ClientBooks, server: &ServerBooks) -> Verdict {
    let mut accepted: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for coin in &client.accepted {
        *accepted
            .entry((
                coin.issuer.clone(),
                coin.acquirer.clone(),
                coin.currency.clone(),
            ))
            .or_default() += coin.value_minor;
    }
    let mut settled: BTreeMap<(String, String, String), u64> = BTreeMap::new();
    for obligation in server.reports.iter().flat_map(|r| &r.obligations) {
        *settled
            .entry((
                obligation.issuer.clone(),
                obligation.acquirer.clone(),
                obligation.currency.clone(),
            ))
            .or_default() += obligation.amount_minor;
    }
    let mut broken = Vec::new();
    for outbox in &server.outboxes {
        if outbox.queued + outbox.pending + outbox.refused > 0 {
            broken.push(format!(
                "acquirer {}: outbox after the final flush has {} queued, {} pending, {} refused",
                outbox.acquirer, outbox.queued, outbox.pending, outbox.refused
            ));
        }
    }
    let keys: std::collections::BTreeSet<_> =
        accepted.keys().chain(settled.keys()).cloned().collect();
    for key in keys {
        let expected = accepted.get(&key).copied().unwrap_or(0);
        let found = settled.get(&key).copied().unwrap_or(0);
        if expected != found {
            broken.push(format!(
                "issuer {} -> acquirer {} {}: deposits accepted {expected} but reports settle {found}",
                key.0, key.1, key.2
            ));
        }
    }
    verdict(
        "settlement.deposits_reported",
        "every acknowledged deposit is in a settlement report (per issuer, acquirer and currency)",
        broken,
        format!(
            "{} (issuer, acquirer, currency) pairs over {} reports",
            accepted.len(),
            server.reports.len()
        ),
    )
}

/// No issuer or acquirer recorded a discrepancy.
fn reconciliation_clean(server: &ServerBooks) -> Verdict {
    let mut broken = Vec::new();
    for (party, found) in &server.new_discrepancies {
        for line in examples_lines(found) {
            broken.push(format!("{party}: {line}"));
        }
    }
    for line in examples_lines(&server.unreadable) {
        broken.push(format!("could not read: {line}"));
    }
    verdict(
        "reconciliation.clean",
        "every issuer and acquirer reconciles the reports against its books without discrepancy",
        broken,
        format!("{} parties", server.new_discrepancies.len()),
    )
}

/// Every operation was answered: none failed after its retries (each failure counted by
/// `operation: code` in `failures`).
pub fn operations_completed(failures: &BTreeMap<String, u64>) -> Verdict {
    let broken = failures
        .iter()
        .map(|(code, count)| format!("{count} x {code}"))
        .collect();
    verdict(
        "operations.completed",
        "every operation gets its answer (busy, timeouts and lost answers are retried)",
        broken,
        "no operation failed".into(),
    )
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const ISSUER: &str = "01";
    pub(super) const ACQUIRER: &str = "02";
    pub(super) const MERCHANT: &str = "0m";

    pub(super) fn coin(n: u8, value_minor: u64) -> AcceptedCoin {
        AcceptedCoin {
            coin: [n; 32],
            value_minor,
            currency: "EUR".into(),
            issuer: ISSUER.into(),
            acquirer: ACQUIRER.into(),
            merchant: MERCHANT.into(),
            deposit_fee_minor: 2,
        }
    }

    /// The refund of `amount_minor` of coin `n` (which paid 10), `coin_refunded_minor` in all,
    /// sent at 1000 ms for a deadline at 2000 ms.
    pub(super) fn refund(n: u8, amount_minor: u64, coin_refunded_minor: u64) -> RefundBook {
        RefundBook {
            merchant: MERCHANT.into(),
            acquirer: ACQUIRER.into(),
            issuer: ISSUER.into(),
            refund: format!("r{n}-{coin_refunded_minor}"),
            coin: [n; 32],
            contract: [9; 32],
            currency: "EUR".into(),
            paid_minor: 10,
            amount_minor,
            coin_refunded_minor,
            deadline_ms: 2000,
            sent_ms: 1000,
        }
    }

    /// A run where a wallet was credited 1000, withdrew 3 coins of 10 with a withdraw fee of 1
    /// each, paid 2 of them to a merchant whose acquirer kept a deposit fee of 2 each, tried one
    /// double spend (refused) and replayed once; the merchant refunded 5 of coin 1 and tried to
    /// refund more than coin 2 paid (refused); the cycle settled 20, and the refund of 5 back.
    pub(super) fn clean() -> (ClientBooks, ServerBooks) {
        let mut client = ClientBooks {
            wallets: vec![WalletBook {
                account: "aa".into(),
                issuer: ISSUER.into(),
                currency: "EUR".into(),
                credited_minor: 1000,
                withdrawn_minor: 30,
                withdraw_fees_minor: 3,
                withdrawn_coins: 3,
                recouped_minor: 0,
            }],
            double_spend_attempts: 1,
            double_spends_rejected_with_proof: 1,
            replays: 1,
            refunds: vec![refund(1, 5, 5)],
            refund_attempts: 2,
            refunds_answered_as_due: 2,
            ..ClientBooks::default()
        };
        client.accept(coin(1, 10));
        client.accept(coin(2, 10));
        let server = ServerBooks {
            wallet_balances: [("aa".to_owned(), 967)].into(),
            merchant_credits: [(
                (ACQUIRER.to_owned(), MERCHANT.to_owned(), "EUR".to_owned()),
                11,
            )]
            .into(),
            outboxes: vec![OutboxBook {
                acquirer: ACQUIRER.into(),
                queued: 0,
                pending: 0,
                refused: 0,
                refunds_queued: 0,
                refused_refunds: 0,
            }],
            reports: vec![ReportBook {
                sequence: 7,
                obligations: vec![ObligationBook {
                    issuer: ISSUER.into(),
                    acquirer: ACQUIRER.into(),
                    currency: "EUR".into(),
                    amount_minor: 20,
                }],
                refunds: vec![RefundObligationBook {
                    acquirer: ACQUIRER.into(),
                    issuer: ISSUER.into(),
                    currency: "EUR".into(),
                    amount_minor: 5,
                    refunds: vec!["r1-5".into()],
                }],
                positions: vec![
                    PositionBook {
                        bank: ISSUER.into(),
                        currency: "EUR".into(),
                        net_minor: -15,
                    },
                    PositionBook {
                        bank: ACQUIRER.into(),
                        currency: "EUR".into(),
                        net_minor: 15,
                    },
                ],
            }],
            new_discrepancies: vec![("issuer 01".into(), Examples::default())],
            unreadable: Examples::default(),
        };
        (client, server)
    }

    pub(super) fn broken(client: &ClientBooks, server: &ServerBooks) -> Vec<&'static str> {
        check(client, server)
            .into_iter()
            .filter(|v| !v.ok)
            .map(|v| v.name)
            .collect()
    }

    #[test]
    fn a_clean_run_breaks_nothing() {
        let (client, server) = clean();
        let verdicts = check(&client, &server);
        assert_eq!(verdicts.len(), 19);
        assert!(verdicts.iter().all(|v| v.ok), "{verdicts:#?}");
    }

    #[test]
    fn a_balance_that_does_not_add_up_breaks_conservation() {
        let (client, mut server) = clean();
        server.wallet_balances.insert("aa".into(), 980);
        assert_eq!(broken(&client, &server), ["conservation.accounts"]);
        server.wallet_balances.clear();
        assert_eq!(broken(&client, &server), ["conservation.accounts"]);
    }

    #[test]
    fn refunds_are_reserved_within_what_each_merchant_was_credited() {
        let mut books = ClientBooks::default();
        // Credited 10 less the deposit fee of 2.
        books.accept(coin(1, 10));
        assert_eq!(books.reserve_refund(MERCHANT, "EUR", 5), 5);
        assert_eq!(books.reserve_refund(MERCHANT, "EUR", 5), 3);
        assert_eq!(books.reserve_refund(MERCHANT, "EUR", 1), 0);
        books.release_refund(MERCHANT, "EUR", 3);
        assert_eq!(books.reserve_refund("another", "EUR", 1), 0);
        assert_eq!(books.reserve_refund(MERCHANT, "USD", 1), 0);
        assert_eq!(books.reserve_refund(MERCHANT, "EUR", 4), 3);
    }

    #[test]
    fn withdrawals_debited_without_their_fees_break_conservation() {
        let (client, mut server) = clean();
        // The coins' values were debited, their withdraw fees not.
        server.wallet_balances.insert("aa".into(), 970);
        assert_eq!(broken(&client, &server), ["conservation.accounts"]);
    }

    #[test]
    fn a_merchant_credited_without_the_deposit_fee_or_not_debited_its_refund_is_reported() {
        let (client, mut server) = clean();
        let key = (ACQUIRER.to_owned(), MERCHANT.to_owned(), "EUR".to_owned());
        // 20 accepted and 5 refunded, but no deposit fee kept.
        server.merchant_credits.insert(key.clone(), 15);
        assert_eq!(
            broken(&client, &server),
            ["conservation.merchants", "conservation.banks"]
        );
        // The refund answered but never debited.
        server.merchant_credits.insert(key.clone(), 16);
        assert_eq!(
            broken(&client, &server),
            ["conservation.merchants", "conservation.banks"]
        );
        // Another merchant of the load credited what nobody accepted for it.
        let (client, mut server) = clean();
        let other = (ACQUIRER.to_owned(), "1m".to_owned(), "EUR".to_owned());
        server.merchant_credits.insert(other, 8);
        assert_eq!(
            broken(&client, &server),
            ["conservation.merchants", "conservation.banks"]
        );
    }

    #[test]
    fn a_coin_accepted_twice_breaks_several_invariants() {
        let (mut client, mut server) = clean();
        client.accept(coin(1, 10));
        client.accept(coin(1, 10));
        server
            .merchant_credits
            .insert((ACQUIRER.into(), MERCHANT.into(), "EUR".into()), 27);
        // Four accepted coins out of three withdrawn; coin 1 three times; 40 not settled.
        assert_eq!(
            broken(&client, &server),
            [
                "conservation.deposits",
                "conservation.banks",
                "double_spend.none_accepted",
                "settlement.deposits_reported"
            ]
        );
    }

    #[test]
    fn a_double_spend_without_proof_or_answer_is_reported() {
        let (mut client, server) = clean();
        client.double_spend_attempts = 3;
        client
            .double_spend_failures
            .push("coin 07: accepted".into());
        let verdicts = check(&client, &server);
        let verdict = verdicts
            .iter()
            .find(|v| v.name == "double_spend.rejected_with_proof")
            .unwrap();
        assert!(!verdict.ok);
        assert_eq!(verdict.details.len(), 2, "{:?}", verdict.details);
    }

    #[test]
    fn replay_mismatches_and_refused_honest_coins_are_reported() {
        let (mut client, server) = clean();
        client
            .replay_mismatches
            .push("withdraw: other signatures".into());
        client
            .honest_not_accepted
            .push("refused: denomination.unknown".into());
        assert_eq!(
            broken(&client, &server),
            ["idempotency.replays", "deposits.honest_accepted"]
        );
    }

    #[test]
    fn a_refund_obligation_nets_from_the_acquirer_to_the_issuer() {
        let (client, mut server) = clean();
        // Positions that ignore the refund do not net the report's obligations.
        server.reports[0].positions[0].net_minor = -20;
        server.reports[0].positions[1].net_minor = 20;
        assert_eq!(broken(&client, &server), ["settlement.net_zero"]);
    }

    #[test]
    fn unbalanced_positions_are_reported() {
        let (client, mut server) = clean();
        server.reports[0].positions[1].net_minor = 25;
        assert_eq!(broken(&client, &server), ["settlement.net_zero"]);
    }

    #[test]
    fn a_deposit_missing_from_the_reports_or_held_in_an_outbox_is_reported() {
        let (client, mut server) = clean();
        server.reports[0].obligations[0].amount_minor = 10;
        server.reports[0].positions[0].net_minor = -5;
        server.reports[0].positions[1].net_minor = 5;
        assert_eq!(
            broken(&client, &server),
            ["conservation.banks", "settlement.deposits_reported"]
        );
        let (client, mut server) = clean();
        server.outboxes[0].queued = 1;
        assert_eq!(broken(&client, &server), ["settlement.deposits_reported"]);
    }

    #[test]
    fn discrepancies_are_reported() {
        let (client, mut server) = clean();
        server.new_discrepancies[0]
            .1
            .push("missing_confirmation".into());
        assert_eq!(broken(&client, &server), ["reconciliation.clean"]);
    }

    #[test]
    fn failed_operations_are_reported() {
        assert!(operations_completed(&BTreeMap::new()).ok);
        let failures = [("pay: deposit.wrong_acquirer".to_owned(), 3)].into();
        let verdict = operations_completed(&failures);
        assert!(!verdict.ok);
        assert_eq!(verdict.details, ["3 x pay: deposit.wrong_acquirer"]);
    }

    #[test]
    fn examples_keep_the_first_few_and_count_all() {
        let mut examples = Examples::default();
        for i in 0..25 {
            examples.push(i.to_string());
        }
        assert_eq!(examples.count, 25);
        assert_eq!(examples.first.len(), EXAMPLES_MAX);
        assert_eq!(examples_lines(&examples).last().unwrap(), "... 25 in all");
    }
}
