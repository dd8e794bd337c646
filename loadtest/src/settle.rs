//! The operator's side of settlement, over the API: flush the acquirers' outboxes, cut the cycle,
//! read the reports and the discrepancies, and read the books the invariants compare.

use std::time::{Duration, Instant};

use semper_protocol::amount::Amount;
use serde_json::Value;

use crate::invariants::{
    Examples, ObligationBook, OutboxBook, PositionBook, RefundObligationBook, ReportBook,
};
use crate::workload::{RETRY_WAIT_MAX, Retries, retryable, with_retries};
use semper_client::{Api, ApiError};

/// Reports in one page of `GET /v1/clearing/reports`.
pub const REPORTS_PAGE: usize = 16;
/// Most report pages read after the run's first cycle.
pub const REPORT_PAGES_MAX: usize = 10_000;
/// Discrepancies in one page.
pub const DISCREPANCIES_PAGE: usize = 1024;
/// Most discrepancy pages read.
pub const DISCREPANCY_PAGES_MAX: usize = 1000;
/// Most outbox passes of the final flush before it gives up waiting for an empty outbox.
pub const FINAL_FLUSH_ROUNDS_MAX: usize = 20;

/// Runs one outbox pass at an acquirer: where its outbox stands after it. The pass is asked
/// again while the acquirer says to retry (its database or the clearing house's failing over,
/// another pass changing the outbox), for as long as a failover can take ([`TAKEOVER_ROUNDS`]).
pub fn flush(api: &mut Api, retries: &Retries, acquirer: &str) -> Result<OutboxBook, ApiError> {
    let outbox = TAKEOVER_ROUNDS.first_to_answer(std::slice::from_mut(api), retries, |api| {
        match api.flush_outbox() {
            // Another pass changed the outbox under this one: the next pass picks it up.
            Err(error) if error.code() == Some("outbox.changed") => Err(ApiError::Refused {
                status: 503,
                code: "outbox.changed".into(),
                message: String::new(),
                retry_after_s: Some(0),
            }),
            other => other,
        }
    })?;
    Ok(OutboxBook {
        acquirer: acquirer.to_owned(),
        queued: outbox.queued,
        pending: outbox.pending.len() as u64,
        refused: outbox.refused.len() as u64,
        refunds_queued: outbox.refunds_queued,
        refused_refunds: outbox.refused_refunds.len() as u64,
    })
}

/// Flushes every acquirer until every outbox is empty (or the rounds run out): the outboxes as
/// they were after the last pass.
pub fn flush_until_empty(
    acquirers: &mut [(Api, String)],
    retries: &Retries,
) -> Result<Vec<OutboxBook>, ApiError> {
    let mut books = Vec::new();
    for round in 0..FINAL_FLUSH_ROUNDS_MAX {
        books.clear();
        for (api, bank) in acquirers.iter_mut() {
            books.push(flush(api, retries, bank)?);
        }
        if books
            .iter()
            .all(|b| b.queued + b.pending + b.refunds_queued == 0)
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100 * (round as u64 + 1)));
    }
    Ok(books)
}

/// How long a settlement request (an outbox pass, a cut) keeps being asked while the deployment
/// says to retry: a PostgreSQL failover (Patroni's `ttl` 10 s, `loop_wait` 2 s and
/// `retry_timeout` 4 s in `config/ha/patroni.yml`; the soak measured 12.5 s at most), then a
/// takeover of the cut-off lease from a dead holder (`semper_actors::leader::LEASE_TTL_MS`, 3 s,
/// and a renewal period, a third of it): about 20 s, and a margin.
pub const TAKEOVER_MAX: Duration = Duration::from_secs(30);
/// The settlement requests' rounds: within [`TAKEOVER_MAX`], 50 ms after the first, doubling up
/// to [`RETRY_WAIT_MAX`].
pub const TAKEOVER_ROUNDS: Rounds = Rounds {
    budget: TAKEOVER_MAX,
    first_wait: Duration::from_millis(50),
    wait_max: RETRY_WAIT_MAX,
};

/// Cuts the open cycle: the number of the cycle cut. A clearing house of several processes
/// (`clearings`) is cut by the one holding its cut-off lease: the others refuse
/// (`clearing.not_leader`), and a process may be down or its database failing over, so each is
/// asked in turn, round after round, until one cuts, for as long as a takeover can take
/// ([`TAKEOVER_ROUNDS`]).
pub fn cut(clearings: &mut [Api], retries: &Retries) -> Result<u64, ApiError> {
    TAKEOVER_ROUNDS.first_to_answer(clearings, retries, |clearing| {
        clearing
            .cut_cycle()
            .map(|report| report.body().fields().sequence)
    })
}

/// Rounds of one request to each of several processes of a role, until one answers: how long
/// they may go on, and the waits between them.
#[derive(Clone, Copy, Debug)]
pub struct Rounds {
    /// No round starts past this, from the first.
    pub budget: Duration,
    /// The wait after the first round; it doubles each round.
    pub first_wait: Duration,
    /// The longest wait between two rounds.
    pub wait_max: Duration,
}

impl Rounds {
    /// Sends `call` to each of `processes` in turn, round after round, until one answers. A
    /// round in which every refusal may mend (busy, down, not the lease holder) is followed by
    /// another, within the budget; a refusal that may not ends the rounds, and is the answer.
    pub fn first_to_answer<P, T>(
        &self,
        processes: &mut [P],
        retries: &Retries,
        mut call: impl FnMut(&mut P) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let started = Instant::now();
        let mut wait = self.first_wait;
        loop {
            let (mut last, mut final_refusal) = (None, None);
            for process in processes.iter_mut() {
                match call(process) {
                    Ok(answer) => return Ok(answer),
                    Err(error) if retryable(&error) => last = Some(error),
                    Err(error) => final_refusal = Some(error),
                }
            }
            if let Some(error) = final_refusal {
                return Err(error);
            }
            let Some(error) = last else {
                return Err(ApiError::Unexpected {
                    what: "a request to every process of a role".into(),
                    problem: "no process to ask".into(),
                });
            };
            if started.elapsed() + wait > self.budget {
                return Err(error);
            }
            retries.count(&error);
            std::thread::sleep(wait);
            wait = (wait * 2).min(self.wait_max);
        }
    }
}

/// The reports of the cycles numbered above `after`, read as plain JSON so that a report that
/// breaks an invariant is still read and shown, not refused by the decoder.
pub fn reports_after(
    clearing: &mut Api,
    retries: &Retries,
    after: u64,
) -> Result<Vec<ReportBook>, ApiError> {
    let mut reports = Vec::new();
    let mut after = after;
    for _ in 0..REPORT_PAGES_MAX {
        let path = format!("/v1/clearing/reports?after={after}&limit={REPORTS_PAGE}");
        let page: Vec<Value> = with_retries(retries, || clearing.get_as_operator(&path))?;
        for report in &page {
            let book = report_book(&report["body"]).map_err(|problem| ApiError::Unexpected {
                what: path.clone(),
                problem,
            })?;
            after = after.max(book.sequence);
            reports.push(book);
        }
        if page.len() < REPORTS_PAGE {
            break;
        }
    }
    Ok(reports)
}

/// A report body's JSON to its book.
pub fn report_book(body: &Value) -> Result<ReportBook, String> {
    let text = |value: &Value, key: &str| {
        value[key]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| format!("report field {key} missing: {value}"))
    };
    let sequence = body["sequence"]
        .as_u64()
        .ok_or_else(|| format!("report without a sequence: {body}"))?;
    let mut obligations = Vec::new();
    for obligation in body["obligations"].as_array().into_iter().flatten() {
        let amount: Amount = text(obligation, "amount")?
            .parse()
            .map_err(|error| format!("obligation amount: {error}"))?;
        obligations.push(ObligationBook {
            issuer: text(obligation, "issuer")?,
            acquirer: text(obligation, "acquirer")?,
            currency: amount.currency().code().to_owned(),
            amount_minor: amount.minor_units(),
        });
    }
    let mut refunds = Vec::new();
    for refund in body["refunds"].as_array().into_iter().flatten() {
        let amount: Amount = text(refund, "amount")?
            .parse()
            .map_err(|error| format!("refund obligation amount: {error}"))?;
        refunds.push(RefundObligationBook {
            acquirer: text(refund, "acquirer")?,
            issuer: text(refund, "issuer")?,
            currency: amount.currency().code().to_owned(),
            amount_minor: amount.minor_units(),
            refunds: (refund["refunds"].as_array().into_iter().flatten())
                .filter_map(|id| id.as_str().map(str::to_owned))
                .collect(),
        });
    }
    let mut positions = Vec::new();
    for position in body["net_positions"].as_array().into_iter().flatten() {
        positions.push(PositionBook {
            bank: text(position, "bank")?,
            currency: text(position, "currency")?,
            net_minor: position["net_minor_units"]
                .as_i64()
                .ok_or_else(|| format!("net position without net_minor_units: {position}"))?,
        });
    }
    Ok(ReportBook {
        sequence,
        obligations,
        refunds,
        positions,
    })
}

/// Discrepancies at `path` (`/v1/issuer/discrepancies` or the acquirer's) numbered `from` on:
/// how many, and the first few.
pub fn discrepancies(
    api: &mut Api,
    retries: &Retries,
    path: &str,
    from: u64,
) -> Result<Examples, ApiError> {
    let mut found = Examples::default();
    let mut from = from;
    for _ in 0..DISCREPANCY_PAGES_MAX {
        let page_path = format!("{path}?from={from}&limit={DISCREPANCIES_PAGE}");
        let page: Vec<Value> = with_retries(retries, || api.get_as_operator(&page_path))?;
        for discrepancy in &page {
            found.push(format!(
                "{} in cycle {} with {} ({}): books {} vs report {}",
                discrepancy["kind"].as_str().unwrap_or("?"),
                discrepancy["cycle_sequence"],
                discrepancy["counterparty"].as_str().unwrap_or("?"),
                discrepancy["currency"].as_str().unwrap_or("?"),
                discrepancy["books_minor_units"],
                discrepancy["report_minor_units"],
            ));
        }
        from += page.len() as u64;
        if page.len() < DISCREPANCIES_PAGE {
            break;
        }
    }
    Ok(found)
}

/// An amount as the API writes it (`"EUR:1.00"`), in minor units with its currency.
pub fn parse_amount(value: &Value) -> Option<(String, u64)> {
    let amount: Amount = value.as_str()?.parse().ok()?;
    Some((amount.currency().code().to_owned(), amount.minor_units()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn not_leader() -> ApiError {
        ApiError::Refused {
            status: 503,
            code: "clearing.not_leader".into(),
            message: String::new(),
            retry_after_s: Some(1),
        }
    }

    const QUICK: Rounds = Rounds {
        budget: Duration::from_secs(5),
        first_wait: Duration::from_millis(1),
        wait_max: Duration::from_millis(2),
    };

    /// The soak's settle that failed: a takeover longer than a request's retries. The new
    /// holder answers after every process refused for more rounds than one request's attempts.
    #[test]
    fn a_takeover_longer_than_a_requests_retries_is_waited_out() {
        let retries = Retries::default();
        let takeover_rounds = 3 * crate::workload::RETRY_ATTEMPTS_MAX as usize;
        let mut asked = [0usize; 2];
        let answer = QUICK.first_to_answer(&mut [0usize, 1], &retries, |process| {
            asked[*process] += 1;
            match *process {
                1 if asked[1] > takeover_rounds => Ok(7u64),
                _ => Err(not_leader()),
            }
        });
        assert_eq!(answer.unwrap(), 7);
        assert_eq!(asked, [takeover_rounds + 1; 2]);
        assert_eq!(retries.total(), takeover_rounds as u64);
    }

    #[test]
    fn rounds_end_at_their_budget_or_at_a_final_refusal() {
        let retries = Retries::default();
        let budget = Rounds {
            budget: Duration::from_millis(30),
            ..QUICK
        };
        let never = budget.first_to_answer(&mut [0, 1], &retries, |_| Err::<(), _>(not_leader()));
        assert_eq!(never.unwrap_err().code(), Some("clearing.not_leader"));
        let mut asked = 0;
        let refused = QUICK.first_to_answer(&mut [0, 1], &retries, |process| {
            asked += 1;
            match *process {
                0 => Err::<(), _>(not_leader()),
                _ => Err(ApiError::Refused {
                    status: 409,
                    code: "clearing.already_cut".into(),
                    message: String::new(),
                    retry_after_s: None,
                }),
            }
        });
        assert_eq!(refused.unwrap_err().code(), Some("clearing.already_cut"));
        assert_eq!(asked, 2, "one round");
        let none: &mut [u8] = &mut [];
        assert!(QUICK.first_to_answer(none, &retries, |_| Ok(())).is_err());
    }

    #[test]
    fn a_report_body_reads_into_its_book() {
        let body = json!({
            "clearing": "03000000000000000000000000000003",
            "sequence": 4,
            "obligations": [{"issuer": "01", "acquirer": "02", "amount": "EUR:1.50",
                             "confirmations": []}],
            "net_positions": [{"bank": "01", "currency": "EUR", "net_minor_units": -150},
                              {"bank": "02", "currency": "EUR", "net_minor_units": 150}]
        });
        let book = report_book(&body).unwrap();
        assert_eq!(book.sequence, 4);
        assert_eq!(book.obligations[0].amount_minor, 150);
        assert_eq!(book.obligations[0].currency, "EUR");
        assert_eq!(book.positions[0].net_minor, -150);
        assert!(report_book(&json!({"obligations": []})).is_err());
        assert_eq!(parse_amount(&json!("EUR:0.10")), Some(("EUR".into(), 10)));
        assert_eq!(parse_amount(&json!(3)), None);
    }
}
