//! Spend checks, the denomination set, and the link's envelope around every request: what an
//! issuer refuses whole (the link's error code), and what it refuses coin by coin (a code in its
//! answer, nothing spent and nothing confirmed).

use semper_link::Role;
use semper_protocol::bounded::BoundedVec;
use semper_protocol::codec::{Encode, Writer};
use semper_protocol::ids::{BatchId, CoinId, ContractHash, DenominationId};
use semper_protocol::limits::SPEND_BATCH_COINS_MAX;
use semper_protocol::messages::deposit::DepositPermission;
use semper_protocol::messages::link::{LinkRequest, LinkResponse};
use semper_protocol::messages::spend::{SpendCheckBatch, SpendResult};
use semper_protocol::signed::Signed;
use semper_protocol::wallet;

use super::fixtures::Fixtures;
use super::messages::*;
use super::table::{Case, Expect, handed, over, record};
use crate::world::*;

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = envelope(f);
    cases.extend(batches(f));
    cases.extend(coins(f));
    cases.extend(replays(f));
    cases
}

/// The link request itself: its encoding, its sender, its receiver.
fn envelope(f: &Fixtures) -> Vec<Case> {
    let to_issuer = over(ACQUIRER_1, ISSUER_1);
    let set = LinkRequest::DenominationSet.to_bytes();
    let kind = kind_index::<LinkRequest>();
    let fresh = batch(ACQUIRER_1, &f.key_1, vec![pay(&f.fresh, ACQUIRER_1)]);
    let cut_short = {
        let bytes = spend_check(&fresh);
        bytes[..bytes.len() - 1].to_vec()
    };
    let mut over_bound = Writer::new();
    over_bound.domain::<LinkRequest>();
    over_bound.u8(1);
    over_bound.domain::<SpendCheckBatch>();
    ACQUIRER_1.encode_to(&mut over_bound);
    BatchId([4; 16]).encode_to(&mut over_bound);
    over_bound.u32(SPEND_BATCH_COINS_MAX as u32 + 1);
    let same_set = LinkResponse::DenominationSet(Box::new(f.denomination_set.clone()));
    vec![
        Case::new(
            "an empty message",
            to_issuer.clone(),
            Vec::new(),
            Expect::Refused("decode.unexpected_end"),
        ),
        Case::new(
            "an answer sent as a request",
            to_issuer.clone(),
            LinkResponse::Reports(BoundedVec::empty()).to_bytes(),
            Expect::Refused("decode.wrong_domain"),
        ),
        Case::new(
            "a request of an unknown version",
            to_issuer.clone(),
            patched(set.clone(), kind - 1, 2),
            Expect::Refused("decode.unknown_version"),
        ),
        Case::new(
            "a request of an unknown kind",
            to_issuer.clone(),
            patched(set.clone(), kind, 9),
            Expect::Refused("decode.invalid"),
        ),
        Case::new(
            "a submission sent as a spend check (wrong type)",
            to_issuer.clone(),
            patched(submit(&f.claimed), kind, 1),
            Expect::Refused("decode.wrong_domain"),
        ),
        Case::new(
            "a spend check with a byte too many (an extra field)",
            to_issuer.clone(),
            [spend_check(&fresh), vec![0]].concat(),
            Expect::Refused("decode.trailing_bytes"),
        ),
        Case::new(
            "a spend check cut short (a missing field)",
            to_issuer.clone(),
            cut_short,
            Expect::Refused("decode.unexpected_end"),
        ),
        Case::new(
            "a spend check of 4097 coins (over the bound)",
            to_issuer.clone(),
            over_bound.into_bytes(),
            Expect::Refused("decode.too_large"),
        ),
        Case::new(
            "a spend check from an issuer",
            over(ISSUER_2, ISSUER_1),
            spend_check(&fresh),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "a spend check sent to the clearing house",
            over(ACQUIRER_1, CLEARING),
            spend_check(&fresh),
            Expect::Refused("link.role_not_hosted"),
        ),
        Case::new(
            "a denomination set asked of the clearing house",
            over(ACQUIRER_1, CLEARING),
            set.clone(),
            Expect::Refused("link.role_not_hosted"),
        ),
        Case::new(
            "a denomination set asked again: the same set",
            to_issuer,
            set,
            Expect::Answer(same_set),
        ),
    ]
}

/// Batches refused whole: their signature, their acquirer.
fn batches(f: &Fixtures) -> Vec<Case> {
    let paid = pay(&f.fresh, ACQUIRER_1);
    let fresh = batch(ACQUIRER_1, &f.key_1, vec![paid.clone()]);
    let over_another = Signed::from_parts(fresh.body().clone(), *f.checked.signature());
    let strangers = batch(STRANGER, &f.stranger_key, vec![paid.clone()]);
    vec![
        Case::new(
            "a spend check whose signature is over another batch",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&over_another),
            Expect::Refused("spend.invalid_acquirer_signature"),
        ),
        Case::new(
            "a spend check signed by another acquirer's key (swapped)",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&batch(ACQUIRER_1, &f.key_2, vec![paid.clone()])),
            Expect::Refused("spend.invalid_acquirer_signature"),
        ),
        Case::new(
            "a spend check for another acquirer, over this one's link",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&batch(ACQUIRER_2, &f.key_2, vec![paid])),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "a spend check from an acquirer the issuer does not know",
            handed(ISSUER_1, STRANGER, Role::Acquirer),
            spend_check(&strangers),
            Expect::Refused("spend.unknown_acquirer"),
        ),
    ]
}

/// Batches answered, their one coin refused.
fn coins(f: &Fixtures) -> Vec<Case> {
    let (fresh, key) = (&f.fresh, &f.fresh_key);
    let value = fresh.value();
    let paid = permission(fresh, ACQUIRER_1, value, key);
    let edited = |edit: &dyn Fn(&mut DepositPermission)| {
        let mut body = paid.body().clone();
        edit(&mut body);
        Signed::sign(body, key)
    };
    let unknown = edited(&|body| body.coin.denomination = DenominationId([7; 32]));
    let forged = edited(&|body| body.coin.signature = f.spent[0].coin().signature.clone());
    let altered = {
        let mut body = paid.body().clone();
        body.contract_hash = ContractHash([6; 32]);
        Signed::from_parts(body, *paid.signature())
    };
    let dollars = "USD:1.00".parse().unwrap();
    let refusals = [
        (
            "a coin of a denomination the issuer never had",
            unknown,
            "denomination.unknown",
        ),
        (
            "a coin of another issuer",
            pay(&f.revoked, ACQUIRER_1),
            "denomination.unknown",
        ),
        (
            "a coin paid at another acquirer",
            permission(fresh, ACQUIRER_2, value, key),
            "spend.wrong_acquirer",
        ),
        (
            "a coin for half its value (wrong amount)",
            permission(fresh, ACQUIRER_1, eur("0.50"), key),
            "deposit.amount_mismatch",
        ),
        (
            "a coin for its value in dollars (wrong currency)",
            permission(fresh, ACQUIRER_1, dollars, key),
            "deposit.amount_mismatch",
        ),
        (
            "a permission altered after the coin signed it",
            altered,
            "deposit.invalid_permission_signature",
        ),
        (
            "a permission signed by the acquirer's key, not the coin's (swapped)",
            permission(fresh, ACQUIRER_1, value, &f.key_1),
            "deposit.invalid_permission_signature",
        ),
        (
            "a coin carrying another coin's issuer signature",
            forged,
            "rsa.invalid_signature",
        ),
    ];
    let mut cases: Vec<Case> = refusals
        .into_iter()
        .map(|(name, permission, code)| {
            let one = batch(ACQUIRER_1, &f.key_1, vec![permission]);
            let expect = coin_refused(&one, code);
            Case::new(name, over(ACQUIRER_1, ISSUER_1), spend_check(&one), expect)
        })
        .collect();
    let revoked = batch(ACQUIRER_1, &f.key_1, vec![pay(&f.revoked, ACQUIRER_1)]);
    cases.push(Case::new(
        "a coin of a revoked denomination",
        over(ACQUIRER_1, ISSUER_2),
        spend_check(&revoked),
        coin_refused(&revoked, "denomination.revoked"),
    ));
    cases
}

/// Batches sent again, whole or altered, and coins listed again.
fn replays(f: &Fixtures) -> Vec<Case> {
    let respent = wallet::sign_deposit_permission(
        &f.spent[0],
        ContractHash([2; 32]),
        SHOP,
        ACQUIRER_1,
        START,
    );
    let respent = batch(ACQUIRER_1, &f.key_1, vec![respent]);
    let earlier = Box::new(f.checked.body().permissions[0].clone());
    let empty = batch(ACQUIRER_1, &f.key_1, Vec::new());
    let twice = pay(&f.twice, ACQUIRER_1);
    let twice = batch(ACQUIRER_1, &f.key_1, vec![twice.clone(), twice]);
    let duplicate = SpendResult::Refused {
        code: "spend.duplicate_coin".into(),
    };
    vec![
        Case::new(
            "a spend check sent again: each coin a replay, the same confirmation",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&f.checked),
            spend_answer(
                &f.checked,
                vec![SpendResult::Replay; 2],
                Some(f.confirmed.clone()),
            ),
        ),
        Case::new(
            "a spent coin paid again with another contract: a conflict, with the proof",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&respent),
            spend_answer(&respent, vec![SpendResult::Conflict { earlier }], None),
        ),
        Case::new(
            "a spend check of no coins: nothing to answer",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&empty),
            spend_answer(&empty, Vec::new(), None),
        ),
        Case::new(
            "the same coin twice in one batch: spent and confirmed once",
            over(ACQUIRER_1, ISSUER_1),
            spend_check(&twice),
            Expect::Spent {
                results: vec![SpendResult::Accepted, duplicate],
                confirmed: vec![CoinId::of(&f.twice.coin().public_key)],
            },
        )
        .keeping(vec![
            record(ISSUER_1, "issuer", "spent_coins"),
            record(ISSUER_1, "issuer", "confirmed_batches"),
            record(ISSUER_1, "issuer", "spend_batches"),
        ]),
    ]
}
