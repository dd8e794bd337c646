//! Reports: asked of the clearing house, and pushed by it. A report that does not verify, or
//! that conflicts with the one a participant holds for its cycle, is recorded as a bad report
//! with its discrepancy, once; anything else changes nothing.

use semper_link::Role;
use semper_protocol::codec::Writer;
use semper_protocol::limits::REPORTS_AFTER_MAX;
use semper_protocol::messages::link::{LinkNotice, LinkRequest};
use semper_protocol::messages::settlement::SettlementReport;
use semper_protocol::signed::Signed;

use super::fixtures::Fixtures;
use super::messages::*;
use super::table::{Case, Expect, bad_report_kept, handed, over, pushed};
use crate::world::*;

pub fn cases(f: &Fixtures) -> Vec<Case> {
    let mut cases = asked();
    cases.extend(notices(f));
    cases
}

fn asked() -> Vec<Case> {
    let max = REPORTS_AFTER_MAX as u32;
    let mut over_limit = Writer::new();
    over_limit.domain::<LinkRequest>();
    over_limit.u8(3);
    over_limit.u64(0);
    over_limit.u32(max + 1);
    vec![
        Case::new(
            "reports asked with a limit over the bound",
            over(ACQUIRER_1, CLEARING),
            over_limit.into_bytes(),
            Expect::Refused("decode.invalid"),
        ),
        Case::new(
            "reports asked after a cycle still to come: none",
            over(ACQUIRER_1, CLEARING),
            reports_after(1_000, max),
            Expect::Reports(0),
        ),
        Case::new(
            "reports asked after the last cycle there can be: none",
            over(ISSUER_1, CLEARING),
            reports_after(u64::MAX, max),
            Expect::Reports(0),
        ),
        Case::new(
            "reports asked with a limit of none: none",
            over(ACQUIRER_1, CLEARING),
            reports_after(0, 0),
            Expect::Reports(0),
        ),
        Case::new(
            "reports asked again: the same one",
            over(ACQUIRER_1, CLEARING),
            reports_after(0, max),
            Expect::Reports(1),
        ),
        Case::new(
            "reports asked by a bank that is not a participant",
            handed(CLEARING, STRANGER, Role::Acquirer),
            reports_after(0, max),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "reports asked of an issuer",
            over(ACQUIRER_1, ISSUER_1),
            reports_after(0, max),
            Expect::Refused("link.role_not_hosted"),
        ),
    ]
}

fn notices(f: &Fixtures) -> Vec<Case> {
    let report = &f.report;
    let from_clearing = |to| pushed(to, CLEARING, Role::Clearing);
    let swapped = Signed::sign(report.body().clone(), &f.key_2);
    let altered = {
        let fields = report.body().fields();
        let body = SettlementReport::new(
            fields.clearing,
            fields.cycle,
            fields.sequence,
            fields.cutoff_at.plus_ms(1),
            fields.obligations.to_vec(),
        );
        Signed::sign(body.unwrap(), &f.clearing_key)
    };
    vec![
        Case::new(
            "a report pushed by an acquirer",
            pushed(ACQUIRER_1, ACQUIRER_2, Role::Acquirer),
            push(report),
            Expect::Refused("link.forbidden"),
        ),
        Case::new(
            "a request pushed as a report",
            from_clearing(ACQUIRER_1),
            reports_after(0, 1),
            Expect::Refused("decode.wrong_domain"),
        ),
        Case::new(
            "a notice of an unknown kind",
            from_clearing(ACQUIRER_1),
            patched(push(report), kind_index::<LinkNotice>(), 9),
            Expect::Refused("decode.invalid"),
        ),
        Case::new(
            "a report pushed to the clearing house",
            from_clearing(CLEARING),
            push(report),
            Expect::Refused("link.role_not_hosted"),
        ),
        Case::new(
            "a report pushed again: nothing new",
            from_clearing(ACQUIRER_1),
            push(report),
            Expect::Taken,
        ),
        Case::new(
            "a report pushed again to an issuer: nothing new",
            from_clearing(ISSUER_1),
            push(report),
            Expect::Taken,
        ),
        Case::new(
            "a report signed by an acquirer's key (swapped): recorded as a bad report",
            from_clearing(ACQUIRER_1),
            push(&swapped),
            Expect::Taken,
        )
        .keeping(bad_report_kept(ACQUIRER_1, "acquirer")),
        Case::new(
            "the same bad report pushed again: nothing new",
            from_clearing(ACQUIRER_1),
            push(&swapped),
            Expect::Taken,
        ),
        Case::new(
            "a report sent again with one field altered, signed: recorded as a bad report",
            from_clearing(ISSUER_1),
            push(&altered),
            Expect::Taken,
        )
        .keeping(bad_report_kept(ISSUER_1, "issuer")),
    ]
}
