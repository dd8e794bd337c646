//! The run's report: throughput and latency per operation, the per-second series, failures, and
//! every invariant's verdict; as JSON for machines and as a few lines for people.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::invariants::{ClientBooks, Verdict};
use crate::recorder::{OpSummary, SecondSample};
use crate::workload::Workload;

/// All operations of the load together (settlement passes left out).
#[derive(Clone, Debug, Serialize)]
pub struct Totals {
    /// Completed.
    pub ops: u64,
    /// Coins moved.
    pub coins: u64,
    /// Failed.
    pub errors: u64,
    /// Completed per second.
    pub ops_per_s: f64,
    /// Coins per second.
    pub coins_per_s: f64,
}

/// What a run did and found.
#[derive(Clone, Debug, Serialize)]
pub struct LoadReport {
    /// `closed` or `open`.
    pub mode: String,
    /// Worker threads.
    pub workers: usize,
    /// The open loop's target rate, operations a second.
    pub rate_per_s: Option<f64>,
    /// The load's shape.
    pub workload: Workload,
    /// The roles driven, as `role url`.
    pub targets: Vec<String>,
    /// How long the load ran, s (setup, stock and final checks left out).
    pub elapsed_s: f64,
    /// How long making the stock ready took before the load, s.
    pub stock_s: f64,
    /// All operations together.
    pub total: Totals,
    /// Per operation.
    pub operations: Vec<OpSummary>,
    /// Requests sent again after "busy", a timeout or no answer.
    pub retries: u64,
    /// Retries by the code of the answer retried (`http.io`: no answer).
    pub retries_by_code: BTreeMap<String, u64>,
    /// Failed operations by `operation: code`.
    pub failures: BTreeMap<String, u64>,
    /// The last cycle cut before the load; the reports checked are those after it.
    pub cycles_after: u64,
    /// Settlement reports of the run.
    pub reports: usize,
    /// What the parties counted.
    pub books: ClientBooks,
    /// Every invariant.
    pub invariants: Vec<Verdict>,
    /// Each second of the run.
    pub series: Vec<SecondSample>,
}

impl LoadReport {
    /// Whether every invariant holds.
    pub fn ok(&self) -> bool {
        self.invariants.iter().all(|v| v.ok)
    }

    /// The invariants broken.
    pub fn broken(&self) -> impl Iterator<Item = &Verdict> {
        self.invariants.iter().filter(|v| !v.ok)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    }

    /// The summary printed at the end: throughput and latency per operation, failures, and the
    /// invariants.
    pub fn summary(&self) -> String {
        let mut out = String::new();
        let rate = self
            .rate_per_s
            .map(|r| format!(", target {r} ops/s"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "semper-load: {} loop, {} workers{rate}, {:.1} s: {} ops ({:.1} ops/s), {} coins ({:.1} coins/s), {} errors, {} retries",
            self.mode,
            self.workers,
            self.elapsed_s,
            self.total.ops,
            self.total.ops_per_s,
            self.total.coins,
            self.total.coins_per_s,
            self.total.errors,
            self.retries
        );
        if !self.workload.stock.is_empty() {
            let _ = writeln!(
                out,
                "  stock: {} payments and {} withdrawals a wallet made ready in {:.1} s before the timed phase",
                self.workload.stock.payments, self.workload.stock.withdrawals, self.stock_s
            );
        }
        let _ = writeln!(
            out,
            "  {:<13} {:>7} {:>9} {:>9} {:>6} {:>9} {:>9} {:>9} {:>9} {:>9}",
            "operation",
            "ops",
            "ops/s",
            "coins/s",
            "errors",
            "p50 ms",
            "p90 ms",
            "p99 ms",
            "p99.9 ms",
            "max ms"
        );
        for op in self.operations.iter().filter(|op| op.ops + op.errors > 0) {
            let l = &op.latency_ms;
            let _ = writeln!(
                out,
                "  {:<13} {:>7} {:>9.1} {:>9.1} {:>6} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
                op.op,
                op.ops,
                op.ops_per_s,
                op.coins_per_s,
                op.errors,
                l.p50,
                l.p90,
                l.p99,
                l.p999,
                l.max
            );
        }
        if !self.retries_by_code.is_empty() {
            let retried: Vec<String> = self
                .retries_by_code
                .iter()
                .map(|(code, count)| format!("{code} {count}"))
                .collect();
            let _ = writeln!(out, "  retried after: {}", retried.join(", "));
        }
        if !self.failures.is_empty() {
            let _ = writeln!(out, "  failures:");
            for (code, count) in &self.failures {
                let _ = writeln!(out, "    {count:>6}  {code}");
            }
        }
        let _ = writeln!(
            out,
            "  double spends: {} attempted, {} rejected with proof; replays: {}; reports checked: {} (cycles after {})",
            self.books.double_spend_attempts,
            self.books.double_spends_rejected_with_proof,
            self.books.replays,
            self.reports,
            self.cycles_after
        );
        let _ = writeln!(
            out,
            "  refunds: {} sent, {} answered as due ({} over what was paid and {} after the deadline refused), {} debited ({} minor units); {} unanswered while down",
            self.books.refund_attempts,
            self.books.refunds_answered_as_due,
            self.books.refunds_refused_over_paid,
            self.books.refunds_refused_late,
            self.books.refunds.len(),
            self.books
                .refunds
                .iter()
                .map(|r| u128::from(r.amount_minor))
                .sum::<u128>(),
            self.books.refunds_unanswered
        );
        let b = &self.books;
        let _ = writeln!(
            out,
            "  swaps: {} sent, {} signed ({} of refunded coins, {} refused early and sent again, {} not swappable), {} failed, {} unanswered while down; {} coins given in spent again, {} refused with proof",
            b.swap_attempts,
            b.swaps.len(),
            (b.swaps.iter())
                .filter(|s| s.inputs.iter().any(|i| i.refunded))
                .count(),
            b.refund_swaps_early,
            b.refunded_not_swappable,
            b.swap_failures.count,
            b.swaps_unanswered,
            b.swapped_spend_attempts,
            b.swapped_spends_refused_with_proof
        );
        let _ = writeln!(
            out,
            "  recoups: {} sent, {} credited ({} minor units), {} failed, {} unanswered while down; {} recouped coins deposited, {} refused; revoked: {}",
            b.recoup_attempts,
            b.recoups.len(),
            b.recoups
                .iter()
                .map(|r| u128::from(r.credited_minor))
                .sum::<u128>(),
            b.recoup_failures.count,
            b.recoups_unanswered,
            b.recouped_spend_attempts,
            b.recouped_spends_refused,
            if b.revoked.is_empty() {
                "none (no issuer's master key given)".to_owned()
            } else {
                b.revoked.join(", ")
            }
        );
        for verdict in &self.invariants {
            let mark = if verdict.ok { "ok    " } else { "BROKEN" };
            let detail = if verdict.ok {
                verdict.details.first().cloned().unwrap_or_default()
            } else {
                String::new()
            };
            let _ = writeln!(out, "  {mark} {:<32} {detail}", verdict.name);
            if !verdict.ok {
                let _ = writeln!(out, "         {}", verdict.statement);
                for line in &verdict.details {
                    let _ = writeln!(out, "         - {line}");
                }
            }
        }
        out
    }
}
