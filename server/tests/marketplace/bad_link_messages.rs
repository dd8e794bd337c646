//! Bad link messages, as one table: every request a bank sends another (denomination set, spend
//! check, settlement submission, reports after) and the report the clearing house pushes, sent to
//! the real link handler of a running bank with one thing wrong: wrong types, missing and extra
//! fields, oversized lists, bad and swapped signatures, unknown senders, wrong currencies and
//! amounts, unknown, revoked and expired denominations, replays whole and with one field altered,
//! and messages out of order. Each gets its documented answer: the link's error code for a message
//! refused whole, or the stable code inside the answer for a coin (spend check) or a confirmation
//! (submission) refused on its own. And each leaves every bank's DB as it was, record for record,
//! but for what it is documented to keep: the receipt of an answered submission (its retries get
//! it back), and the record of a bad report.
//!
//! Requests go over the sender's own QUIC link, with its pinned certificate. Those the link itself
//! cannot carry go straight to the receiving bank's `BankHandler`, as from the peer the link would
//! have authenticated: a sender no bank has configured (the link would not admit it), and pushed
//! reports (a one-way send returns no answer to check).

mod fixtures;
mod messages;
mod reports;
mod spend_checks;
mod submissions;
mod table;

use semper_protocol::bounded::BoundedVec;
use semper_protocol::messages::link::LinkRequest;
use semper_protocol::messages::spend::SpendCheckBatch;
use semper_protocol::signed::Signed;

use crate::world::*;
use fixtures::Fixtures;
use messages::*;
use table::{Bench, Case, Expect, over, receipt_kept};

#[test]
fn bad_link_messages_get_their_codes_and_change_nothing() {
    run(async {
        let mut world = World::new("bad-link");
        let market = world.start_all();
        let mut bench = Bench::new(&world, &market);

        // Out of order: before any spend check or cycle.
        let key_1 = world.acquirer_signing_key(ACQUIRER_1);
        let not_issued = confirmation(ISSUER_1, ACQUIRER_1, vec![entry(1, eur("1.00"))], &key_1);
        let early = vec![
            Case::new(
                "reports asked before any cycle was cut: none",
                over(ACQUIRER_1, CLEARING),
                reports_after(0, 16),
                Expect::Reports(0),
            ),
            Case::new(
                "a submission before the spend check it claims: the confirmation is the \
                 acquirer's own",
                over(ACQUIRER_1, CLEARING),
                submit(&submission(ACQUIRER_1, &key_1, vec![not_issued])),
                claim_refused("confirmation.bad_signature"),
            )
            .keeping(receipt_kept()),
        ];
        bench.run(early).await;

        let f = Fixtures::set_up(&world, &market, &mut bench).await;
        let mut cases = spend_checks::cases(&f);
        cases.extend(submissions::cases(&f));
        cases.extend(reports::cases(&f));
        bench.run(cases).await;

        // Past the deposit window of ISSUER_1's denomination.
        let denomination = &f.denomination_set.body().fields().denominations[0];
        world
            .clock
            .set(denomination.fields().deposit_until.plus_ms(1));
        let paid = permission(&f.fresh, ACQUIRER_1, f.fresh.value(), &f.fresh_key);
        let late = batch(ACQUIRER_1, &f.key_1, vec![paid]);
        let expired = vec![Case::new(
            "a coin past its denomination's deposit window",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&late),
            coin_refused(&late, "denomination.deposit_expired"),
        )];
        bench.run(expired).await;
        bench.close().await;
    });
}

/// A spend check sent again under its batch id with a coin left out: a replay with one field
/// altered. The issuer refuses it (`spend.batch_id_reused`) and changes nothing, as the clearing
/// house does a reused submission id; otherwise it would record the shorter batch's totals over
/// the first's, and its books would no longer agree with a report that lists the first
/// confirmation.
#[test]
fn a_spend_check_batch_id_reused_for_other_coins_is_refused() {
    run(async {
        let mut world = World::new("batch-id");
        let market = world.start_all();
        let mut bench = Bench::new(&world, &market);
        let key = world.acquirer_signing_key(ACQUIRER_1);
        let coins = market.coins(ISSUER_1, 2).await;
        let permissions: Vec<_> = coins.iter().map(|coin| pay(coin, ACQUIRER_1)).collect();
        let checked = batch(ACQUIRER_1, &key, permissions.clone());
        let request = LinkRequest::SpendCheck(Box::new(checked.clone()));
        bench.answer(ACQUIRER_1, ISSUER_1, request).await;
        let shortened = SpendCheckBatch {
            permissions: BoundedVec::new(permissions[..1].to_vec()).unwrap(),
            ..checked.body().clone()
        };
        let case = Case::new(
            "a spend check sent again with a coin left out (its id reused)",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&Signed::sign(shortened, &key)),
            Expect::Refused("spend.batch_id_reused"),
        );
        bench.run(vec![case]).await;
        bench.close().await;
    });
}
