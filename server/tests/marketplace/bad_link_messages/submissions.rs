//! Settlement submissions: what the clearing house refuses whole (the link's error code), and the
//! confirmations it refuses one by one (a code on the receipt, which it keeps, and nothing
//! claimed).

use semper_link::Role;
use semper_protocol::amount::{Amount, Currency};
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Encode, Writer};
use semper_protocol::ids::SubmissionId;
use semper_protocol::limits::{CONFIRMATION_ENTRIES_MAX, SUBMISSION_CONFIRMATIONS_MAX};
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::receipt::ClaimResult;
use semper_protocol::messages::settlement::SettlementSubmission;
use semper_protocol::signed::Signed;

use super::fixtures::Fixtures;
use super::messages::*;
use super::table::{Case, Expect, handed, over, receipt_kept};
use crate::world::*;

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = submissions(f);
    cases.extend(confirmations(f));
    cases
}

/// Submissions refused whole, or answered as before.
fn submissions(f: &Fixtures) -> Vec<Case> {
    let to_clearing = over(ACQUIRER_1, CLEARING);
    let (key_1, key_2) = (&f.key_1, &f.key_2);
    let other = submission(ACQUIRER_1, key_1, vec![f.owed_to_2.clone()]);
    let over_another = Signed::from_parts(other.body().clone(), *f.claimed.signature());
    let strangers = submission(STRANGER, &f.stranger_key, vec![f.confirmed.clone()]);
    let mut over_bound = Writer::new();
    over_bound.domain::<LinkRequest>();
    over_bound.u8(2);
    over_bound.domain::<SettlementSubmission>();
    ACQUIRER_1.encode_to(&mut over_bound);
    SubmissionId([4; 16]).encode_to(&mut over_bound);
    START.encode_to(&mut over_bound);
    over_bound.u32(SUBMISSION_CONFIRMATIONS_MAX as u32 + 1);
    // 17 confirmations of 4096 coins: 69632 coins, over the 65536 one submission may claim.
    let value = f.fresh.value();
    let too_many_coins: Vec<_> = (0..17u32)
        .map(|n| {
            let first = n * CONFIRMATION_ENTRIES_MAX as u32;
            let entries = (first..first + CONFIRMATION_ENTRIES_MAX as u32)
                .map(|coin| entry(coin, value))
                .collect();
            confirmation(ISSUER_1, ACQUIRER_1, entries, &f.issuer_1_key)
        })
        .collect();
    let resubmitted = {
        let mut body = f.claimed.body().clone();
        body.submitted_at = START.plus_ms(1);
        Signed::sign(body, key_1)
    };
    let again = submission(ACQUIRER_1, key_1, vec![f.confirmed.clone()]);
    let already = ClaimResult::AlreadyClaimed {
        acquirer: ACQUIRER_1,
        submission_id: f.claimed.body().submission_id,
    };
    vec![
        Case::new(
            "a submission whose signature is over another submission",
            to_clearing.clone(),
            submit(&over_another),
            Expect::Refused("submission.invalid_acquirer_signature"),
        ),
        Case::new(
            "a submission signed by another acquirer's key (swapped)",
            to_clearing.clone(),
            submit(&submission(ACQUIRER_1, key_2, vec![f.confirmed.clone()])),
            Expect::Refused("submission.invalid_acquirer_signature"),
        ),
        Case::new(
            "a submission for another acquirer, over this one's link",
            to_clearing.clone(),
            submit(&submission(ACQUIRER_2, key_2, vec![f.owed_to_2.clone()])),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "a submission from an issuer",
            over(ISSUER_1, CLEARING),
            submit(&f.claimed),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "a submission from an acquirer the clearing house does not know",
            handed(CLEARING, STRANGER, Role::Acquirer),
            submit(&strangers),
            Expect::Refused("submission.unknown_acquirer"),
        ),
        Case::new(
            "a submission sent to an issuer",
            over(ACQUIRER_1, ISSUER_1),
            submit(&f.claimed),
            Expect::Refused("link.role_not_hosted"),
        ),
        Case::new(
            "a submission of 1025 confirmations (over the bound)",
            to_clearing.clone(),
            over_bound.into_bytes(),
            Expect::Refused("decode.too_large"),
        ),
        Case::new(
            "a submission of 69632 confirmed coins (over the bound)",
            handed(CLEARING, ACQUIRER_1, Role::Acquirer),
            submit(&submission(ACQUIRER_1, key_1, too_many_coins)),
            Expect::Refused("submission.too_many_entries"),
        ),
        Case::new(
            "a submission sent again: the same receipt",
            to_clearing.clone(),
            submit(&f.claimed),
            Expect::Answer(LinkResponse::Receipt(f.receipt.clone())),
        ),
        Case::new(
            "a submission sent again with one field altered (its id reused)",
            to_clearing.clone(),
            submit(&resubmitted),
            Expect::Refused("submission.id_reused"),
        ),
        Case::new(
            "a confirmation claimed before, in a new submission",
            to_clearing,
            submit(&again),
            Expect::Claims(vec![already]),
        )
        .keeping(receipt_kept()),
    ]
}

/// Submissions answered, their one confirmation refused.
fn confirmations(f: &Fixtures) -> Vec<Case> {
    let value = f.fresh.value();
    let issuer_key = &f.issuer_1_key;
    let altered = {
        let mut body = f.confirmed.body().clone();
        let mut entries = body.entries.to_vec();
        entries[0].amount = eur("100.00");
        body.entries = BoundedVec::new(entries).unwrap();
        Signed::from_parts(body, *f.confirmed.signature())
    };
    let max = Amount::from_minor_units(Currency::new("EUR").unwrap(), u64::MAX);
    let dollar = "USD:1.00".parse().unwrap();
    let refusals = [
        (
            "a confirmation owed to another acquirer",
            f.owed_to_2.clone(),
            "confirmation.wrong_acquirer",
        ),
        (
            "a confirmation altered after the issuer signed it",
            altered,
            "confirmation.bad_signature",
        ),
        (
            "a confirmation signed by another issuer's key (swapped)",
            confirmation(ISSUER_1, ACQUIRER_1, vec![entry(2, value)], &f.issuer_2_key),
            "confirmation.bad_signature",
        ),
        (
            "a confirmation the issuer never made, for a batch it never checked",
            confirmation(ISSUER_1, ACQUIRER_1, vec![entry(3, value)], &f.key_1),
            "confirmation.bad_signature",
        ),
        (
            "a confirmation of an issuer the clearing house does not know",
            confirmation(STRANGER, ACQUIRER_1, vec![entry(4, value)], &f.stranger_key),
            "confirmation.unknown_issuer",
        ),
        (
            "a confirmation of no coins",
            confirmation(ISSUER_1, ACQUIRER_1, Vec::new(), issuer_key),
            "confirmation.empty",
        ),
        (
            "a confirmation in two currencies",
            confirmation(
                ISSUER_1,
                ACQUIRER_1,
                vec![entry(5, value), entry(6, dollar)],
                issuer_key,
            ),
            "confirmation.mixed_currencies",
        ),
        (
            "a confirmation listing a coin twice",
            confirmation(
                ISSUER_1,
                ACQUIRER_1,
                vec![entry(7, value), entry(7, value)],
                issuer_key,
            ),
            "confirmation.duplicate_coin",
        ),
        (
            "a confirmation whose total overflows",
            confirmation(
                ISSUER_1,
                ACQUIRER_1,
                vec![entry(8, max), entry(9, max)],
                issuer_key,
            ),
            "confirmation.amount_overflow",
        ),
    ];
    refusals
        .into_iter()
        .map(|(name, refused, code)| {
            let claim = submission(ACQUIRER_1, &f.key_1, vec![refused]);
            let to_clearing = over(ACQUIRER_1, CLEARING);
            Case::new(name, to_clearing, submit(&claim), claim_refused(code))
                .keeping(receipt_kept())
        })
        .collect()
}
