//! What a bank decodes from a link frame's payload: a request (issuer, clearing house), a
//! response (acquirer) or a notice (participants), whichever the bytes are.

use semper_protocol::messages::link::{LinkNotice, LinkRequest, LinkResponse};

use crate::check::canonical;
use crate::invariants;

/// Decodes the input as each of the link's messages, and checks whatever it decodes to.
pub fn link_messages(data: &[u8]) {
    let request = canonical::<LinkRequest>(data);
    if let Some(LinkRequest::SpendCheck(batch)) = &request {
        invariants::signed(batch.as_ref());
    }
    if let Some(LinkRequest::Submit(submission)) = &request {
        invariants::signed(submission.as_ref());
        submission
            .body()
            .confirmations
            .iter()
            .for_each(invariants::spend_confirmation);
    }
    let response = canonical::<LinkResponse>(data);
    if let Some(response) = &response {
        invariants::link_response(response);
    }
    let notice = canonical::<LinkNotice>(data);
    if let Some(LinkNotice::Report(report)) = &notice {
        invariants::signed_settlement_report(report);
    }
    // Each message starts with its own domain tag: no bytes are two kinds of message.
    let kinds = [request.is_some(), response.is_some(), notice.is_some()];
    assert!(
        kinds.iter().filter(|decoded| **decoded).count() <= 1,
        "one payload decodes as two kinds of link message"
    );
}
