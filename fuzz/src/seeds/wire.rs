//! Seeds of the wire targets: `link_frames`, `atm_reassembly`, `atm_cells` and `signer_frames`.

use semper_atm::carrier;
use semper_atm::circuit::Circuit;
use semper_atm::config::CircuitConfig;
use semper_atm::llc::{self, ETHERTYPE_IPV4, ETHERTYPE_IPV6};
use semper_link::{FRAME_PAYLOAD_MAX_BYTES, Frame, RemoteError};
use semper_protocol::codec::Encode;

use super::Corpus;
use super::codec::link_values;
use super::fixtures::Fixtures;

pub fn add(corpus: &mut Corpus, f: &Fixtures) {
    link_frames(corpus, f);
    atm_reassembly(corpus);
    atm_cells(corpus);
    signer_frames(corpus, f);
}

/// A conversation with the signer, frame by frame, and frames it refuses.
fn signer_frames(corpus: &mut Corpus, f: &Fixtures) {
    use semper_actors::signer::frame::{Request, Response, write_frame};
    use semper_protocol::crypto::blind_rsa::BlindedMessage;
    let denomination = f.denomination.id();
    let blinded = BlindedMessage(vec![7; 256]);
    let payloads = [
        Request::Keys.encode(),
        Request::BlindSign(vec![
            (denomination, blinded.clone()),
            (denomination, blinded),
        ])
        .encode(),
        Request::Revoke(denomination).encode(),
        Request::Counts.encode(),
        Response::Revoked.encode(),
        Response::Error(semper_actors::signer::SignerError::RateLimited).encode(),
    ];
    let mut stream = Vec::new();
    for payload in &payloads {
        write_frame(&mut stream, payload).unwrap_or_default();
    }
    corpus.add("signer_frames", "conversation", stream);
    let mut bad_version = Request::Keys.encode();
    bad_version[0] = 9;
    let mut framed = Vec::new();
    write_frame(&mut framed, &bad_version).unwrap_or_default();
    corpus.add("signer_frames", "bad-version", framed);
    corpus.add(
        "signer_frames",
        "too-large",
        vec![0xff, 0xff, 0xff, 0xff, 1],
    );
    corpus.add("signer_frames", "truncated", vec![0, 0, 0, 9, 1, 1]);
}

fn frames(frames: &[Result<Frame, semper_link::FrameError>]) -> Vec<u8> {
    frames.iter().flatten().flat_map(Frame::encode).collect()
}

fn link_frames(corpus: &mut Corpus, f: &Fixtures) {
    let (requests, responses, notices) = link_values(f);
    let conversation = frames(&[
        Frame::request(1, requests[0].to_bytes()),
        Frame::response(1, responses[4].to_bytes()),
        Frame::one_way(notices[0].to_bytes()),
        Ok(Frame::error(
            2,
            &RemoteError::retryable("issuer.busy", "try again in 2 s"),
        )),
        // What a peer that speaks only version 1 is answered.
        Ok(Frame::error_in(
            1,
            4,
            &RemoteError::new("link.forbidden", "not for you"),
        )),
        Frame::request(3, requests[3].to_bytes()),
    ]);
    let spend_check = frames(&[Frame::request(7, requests[1].to_bytes())]);
    let answers = frames(&[
        Frame::response(7, responses[1].to_bytes()),
        Frame::response(8, responses[2].to_bytes()),
    ]);
    let header = |version: u8, kind: u8, id: u64, len: u32| {
        let mut bytes = vec![version, kind];
        bytes.extend_from_slice(&id.to_be_bytes());
        bytes.extend_from_slice(&len.to_be_bytes());
        bytes
    };
    let bad_headers = [
        header(3, 1, 1, 0),
        header(1, 9, 1, 0),
        header(1, 3, 5, 0),
        header(1, 1, 1, FRAME_PAYLOAD_MAX_BYTES as u32 + 1),
    ];
    let sizes: [[u8; 4]; 4] = [[0; 4], [1; 4], [14, 3, 200, 7], [255, 0, 1, 9]];
    for (i, chunking) in sizes.iter().enumerate() {
        let mut seed = chunking.to_vec();
        seed.extend_from_slice(&conversation);
        corpus.add("link_frames", &format!("conversation-{i}"), seed);
    }
    let mut seed = sizes[2].to_vec();
    seed.extend_from_slice(&spend_check);
    corpus.add("link_frames", "spend-check", seed);
    let mut seed = sizes[3].to_vec();
    seed.extend_from_slice(&answers);
    corpus.add("link_frames", "answers", seed);
    let mut seed = sizes[1].to_vec();
    seed.extend_from_slice(&conversation[..conversation.len() / 2]);
    corpus.add("link_frames", "truncated", seed);
    for (i, bad) in bad_headers.into_iter().enumerate() {
        let mut seed = sizes[i % sizes.len()].to_vec();
        seed.extend_from_slice(&conversation[..40]);
        seed.extend_from_slice(&bad);
        corpus.add("link_frames", &format!("bad-header-{i}"), seed);
    }
    let error = Frame::error(9, &RemoteError::new("é".repeat(40), "x".repeat(200)));
    let mut seed = sizes[0].to_vec();
    seed.extend_from_slice(&error.encode());
    corpus.add("link_frames", "long-error", seed);
}

/// An `atm_reassembly` operation: the channel (0-3) in the top two bits, the kind in the low two.
fn op(channel: u8, bits: u8, kind: u8) -> u8 {
    (channel << 6) | (bits << 2) | kind
}

/// A frame segmented by `semper_atm::aal5` (kind 1): `mode` 0 whole, 1 a cell lost, 2 a byte
/// changed.
fn segmented(channel: u8, mode: u8, payload: &[u8], at: u8) -> Vec<u8> {
    let mut bytes = vec![op(channel, mode, 1)];
    bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes.push(at);
    if mode == 2 {
        bytes.extend_from_slice(&[5, 0x40]);
    }
    bytes
}

/// A frame made by hand (kind 2), with any UU and CPI.
fn by_hand(channel: u8, uu: u8, cpi: u8, payload: &[u8]) -> Vec<u8> {
    let mut bytes = vec![op(channel, 0, 2), uu, cpi];
    bytes.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// One raw cell (kind 0) with payload type `pti`.
fn raw(channel: u8, pti: u8, fill: u8) -> Vec<u8> {
    let mut bytes = vec![op(channel, pti, 0)];
    bytes.extend_from_slice(&[fill; 48]);
    bytes
}

fn atm_reassembly(corpus: &mut Corpus) {
    let text: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
    let seeds: [(&str, u16, Vec<Vec<u8>>); 5] = [
        (
            "clean-frames",
            0,
            vec![
                segmented(0, 0, &text[..100], 0),
                by_hand(1, 7, 0, b"settle 100 units"),
                by_hand(2, 0, 1, b"bad cpi"),
                vec![op(2, 0, 3)],
                segmented(3, 0, &text, 0),
                segmented(0, 0, b"", 0),
            ],
        ),
        (
            "over-the-bound",
            200,
            vec![
                segmented(0, 0, &text[..500], 0),
                segmented(0, 0, &text[..50], 0),
            ],
        ),
        (
            "lost-cells",
            0,
            vec![
                segmented(0, 1, &text[..200], 4),
                segmented(0, 0, b"the next frame", 0),
                segmented(1, 1, &text[..200], 1),
                segmented(1, 0, b"and another", 0),
            ],
        ),
        (
            "changed-byte",
            1536,
            vec![
                segmented(0, 2, &text[..300], 2),
                segmented(0, 0, &text[..40], 0),
            ],
        ),
        (
            "raw-cells",
            48,
            vec![
                raw(0, 0, 1),
                raw(1, 1, 2),
                raw(0, 5, 3),
                raw(0, 1, 4),
                vec![op(1, 0, 3)],
            ],
        ),
    ];
    for (name, limit, ops) in seeds {
        let mut seed = limit.to_be_bytes().to_vec();
        ops.iter().for_each(|op| seed.extend_from_slice(op));
        corpus.add("atm_reassembly", name, seed);
    }
}

fn atm_cells(corpus: &mut Corpus) {
    let Ok(mut circuit) = Circuit::new(&CircuitConfig::default(), 0) else {
        return;
    };
    let datagrams: [(&str, u16, Vec<u8>); 3] = [
        ("ipv4-quic", ETHERTYPE_IPV4, vec![0xc3; 1000]),
        ("ipv6-short", ETHERTYPE_IPV6, b"short".to_vec()),
        ("two-cells", ETHERTYPE_IPV4, vec![0x41; 60]),
    ];
    for (name, ether_type, datagram) in datagrams {
        if circuit
            .send_frame(&llc::encapsulate(ether_type, &datagram), 0)
            .is_err()
        {
            continue;
        }
        let mut cells = Vec::new();
        circuit.release(u64::MAX, &mut cells);
        for (i, packed) in carrier::encode(&cells).enumerate() {
            corpus.add("atm_cells", &format!("{name}-{i}"), packed);
        }
        // A header bit error the HEC corrects, and a two-bit one that drops the cell.
        let mut one_bit = cells.clone();
        one_bit[0][1] ^= 0x10;
        let mut two_bits = cells;
        two_bits[0][2] ^= 0x81;
        for (variant, cells) in [("one-bit", one_bit), ("two-bits", two_bits)] {
            if let Some(packed) = carrier::encode(&cells).next() {
                corpus.add("atm_cells", &format!("{name}-{variant}"), packed);
            }
        }
    }
}
