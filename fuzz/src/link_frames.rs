//! The link's framing: any byte stream, cut into chunks of any sizes, through the incremental
//! frame decoder, against a whole-stream reading of the frame layout written here from its
//! documentation (`semper_link::Frame`).

use semper_link::{
    Decoder, FRAME_HEADER_BYTES, FRAME_PAYLOAD_MAX_BYTES, FRAME_VERSION, FRAME_VERSION_MIN, Frame,
    FrameError, FrameKind,
};

use crate::input::Input;
use crate::link_messages;

/// What a stream holds: its whole frames, then the error that ends it or the bytes of an
/// unfinished frame.
#[derive(Debug, PartialEq, Eq)]
struct Reading {
    frames: Vec<(FrameKind, u64, Vec<u8>)>,
    error: Option<FrameError>,
    unfinished_bytes: usize,
}

/// Reads four chunk sizes, then a stream: decodes the stream fed in chunks of those sizes, in
/// turn, and checks the frames, the error and the end against [`read_whole`].
pub fn link_frames(data: &[u8]) {
    let mut input = Input::new(data);
    let Some(sizes) = input.array::<4>() else {
        return;
    };
    let stream = input.rest();
    let expected = read_whole(stream);

    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    let mut error = None;
    let mut chunks = chunks(stream, sizes);
    for chunk in &mut chunks {
        match decoder.feed(chunk) {
            Ok(decoded) => frames.extend(decoded),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    if error.is_none() {
        // A chunk that completes frames and then fails answers the frames; the error comes next.
        match decoder.finish() {
            Ok(()) | Err(FrameError::Truncated { .. }) => {}
            Err(e) => error = Some(e),
        }
    }
    if let Some(error) = &error {
        // A failed decoder stays failed, whatever comes next.
        let next = chunks.next().unwrap_or(&[]);
        assert_eq!(decoder.feed(next).as_ref(), Err(error));
        assert_eq!(decoder.finish().as_ref(), Err(error));
        assert!(!decoder.is_idle());
    }
    let reading = Reading {
        frames: frames
            .iter()
            .map(|f| (f.kind(), f.request_id(), f.payload().to_vec()))
            .collect(),
        error: error.clone(),
        unfinished_bytes: expected.unfinished_bytes,
    };
    assert_eq!(reading, expected, "chunks of {sizes:?}");
    if error.is_none() {
        let end = match expected.unfinished_bytes {
            0 => Ok(()),
            buffered => Err(FrameError::Truncated { buffered }),
        };
        assert_eq!(decoder.finish(), end);
        assert_eq!(decoder.is_idle(), expected.unfinished_bytes == 0);
    }

    // Each frame encodes back to the bytes it came from, and its payload is what the link reads.
    let mut at = 0;
    for frame in &frames {
        let encoded = frame.encode();
        assert_eq!(encoded.len(), frame.encoded_len());
        assert_eq!(encoded, stream[at..at + encoded.len()]);
        at += encoded.len();
        payload(frame);
    }
}

/// `stream` in chunks of `sizes[0]`, `sizes[1]`, … in turn (a 0 is an empty chunk), or in one
/// chunk when every size is 0.
fn chunks(stream: &[u8], sizes: [u8; 4]) -> impl Iterator<Item = &[u8]> {
    let sizes = if sizes == [0; 4] { [u8::MAX; 4] } else { sizes };
    let mut at = 0;
    let mut turn = 0;
    std::iter::from_fn(move || {
        if at >= stream.len() {
            return None;
        }
        let size = usize::from(sizes[turn % sizes.len()]);
        turn += 1;
        let chunk = &stream[at..(at + size).min(stream.len())];
        at += chunk.len();
        Some(chunk)
    })
}

/// Reads `stream` whole, by the documented layout: version, kind, request id, length, payload;
/// a header is refused as soon as it is complete, checking version, kind, length, then the
/// one-way request id.
fn read_whole(stream: &[u8]) -> Reading {
    let mut frames = Vec::new();
    let mut rest = stream;
    loop {
        let Some((header, body)) = rest.split_first_chunk::<FRAME_HEADER_BYTES>() else {
            return Reading {
                frames,
                error: None,
                unfinished_bytes: rest.len(),
            };
        };
        let fail = |error| Reading {
            frames: frames.clone(),
            error: Some(error),
            unfinished_bytes: 0,
        };
        if !(FRAME_VERSION_MIN..=FRAME_VERSION).contains(&header[0]) {
            return fail(FrameError::UnknownVersion { found: header[0] });
        }
        let kind = match header[1] {
            1 => FrameKind::Request,
            2 => FrameKind::Response,
            3 => FrameKind::OneWay,
            4 => FrameKind::Error,
            found => return fail(FrameError::UnknownKind { found }),
        };
        let mut id = [0u8; 8];
        id.copy_from_slice(&header[2..10]);
        let request_id = u64::from_be_bytes(id);
        let len = u32::from_be_bytes([header[10], header[11], header[12], header[13]]);
        if len as usize > FRAME_PAYLOAD_MAX_BYTES {
            return fail(FrameError::TooLarge {
                len: u64::from(len),
                max: FRAME_PAYLOAD_MAX_BYTES,
            });
        }
        if kind == FrameKind::OneWay && request_id != 0 {
            return fail(FrameError::OneWayWithId { id: request_id });
        }
        let Some((payload, after)) = body.split_at_checked(len as usize) else {
            return Reading {
                frames,
                error: None,
                unfinished_bytes: rest.len(),
            };
        };
        frames.push((kind, request_id, payload.to_vec()));
        rest = after;
    }
}

/// What the link reads from a frame's payload: a remote error, or one of the link's messages.
fn payload(frame: &Frame) {
    if frame.kind() != FrameKind::Error {
        link_messages(frame.payload());
        return;
    }
    if let Ok(error) = frame.remote_error() {
        // An error payload has one encoding in each version too: the error frame made from it
        // is the same frame.
        assert_eq!(
            &Frame::error_in(frame.version(), frame.request_id(), &error),
            frame
        );
    }
}
