//! The frame codec: round trips through any chunking, and garbage or truncated input never
//! panics and is refused with a typed error.

use proptest::prelude::*;
use semper_link::{
    Decoder, FRAME_HEADER_BYTES, FRAME_VERSION, FRAME_VERSION_MIN, Frame, FrameError, FrameKind,
};

fn kind() -> impl Strategy<Value = FrameKind> {
    prop_oneof![
        Just(FrameKind::Request),
        Just(FrameKind::Response),
        Just(FrameKind::OneWay),
        Just(FrameKind::Error),
    ]
}

fn frame() -> impl Strategy<Value = Frame> {
    (
        FRAME_VERSION_MIN..=FRAME_VERSION,
        kind(),
        any::<u64>(),
        proptest::collection::vec(any::<u8>(), 0..600),
    )
        .prop_map(|(version, kind, id, payload)| {
            let id = if kind == FrameKind::OneWay { 0 } else { id };
            Frame::new_in(version, kind, id, payload).unwrap()
        })
}

/// Feeds `bytes` in chunks of the given sizes (cycled), collecting frames until an error.
fn decode_in_chunks(bytes: &[u8], sizes: &[usize]) -> (Vec<Frame>, Result<(), FrameError>) {
    let mut decoder = Decoder::new();
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut sizes = sizes.iter().cycle();
    while !rest.is_empty() {
        let size = sizes.next().copied().unwrap_or(1).clamp(1, rest.len());
        let (chunk, tail) = rest.split_at(size);
        rest = tail;
        match decoder.feed(chunk) {
            Ok(decoded) => frames.extend(decoded),
            Err(error) => return (frames, Err(error)),
        }
    }
    let end = decoder.finish();
    (frames, end)
}

proptest! {
    #[test]
    fn frames_round_trip_through_any_chunking(
        frames in proptest::collection::vec(frame(), 0..8),
        sizes in proptest::collection::vec(1usize..700, 1..8),
    ) {
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let (decoded, end) = decode_in_chunks(&bytes, &sizes);
        prop_assert_eq!(end, Ok(()));
        prop_assert_eq!(decoded, frames);
    }

    #[test]
    fn a_truncated_stream_is_refused_as_truncated(
        frame in frame(),
        cut_seed in any::<usize>(),
    ) {
        let bytes = frame.encode();
        let cut = 1 + cut_seed % (bytes.len() - 1).max(1);
        prop_assume!(cut < bytes.len());
        let (decoded, end) = decode_in_chunks(&bytes[..cut], &[7]);
        prop_assert!(decoded.is_empty());
        prop_assert_eq!(end, Err(FrameError::Truncated { buffered: cut }));
    }

    #[test]
    fn garbage_never_panics_and_errors_are_typed(
        bytes in proptest::collection::vec(any::<u8>(), 0..2048),
        sizes in proptest::collection::vec(1usize..64, 1..4),
    ) {
        let (decoded, end) = decode_in_chunks(&bytes, &sizes);
        let decoded_len: usize = decoded.iter().map(Frame::encoded_len).sum();
        prop_assert!(decoded_len <= bytes.len());
        if let Err(error) = end {
            prop_assert!(error.code().starts_with("frame."));
        } else {
            prop_assert_eq!(decoded_len, bytes.len(), "a clean end means every byte was a frame");
        }
    }

    #[test]
    fn a_bad_header_byte_is_refused(
        frame in frame(),
        version in prop_oneof![Just(0u8), (FRAME_VERSION + 1)..],
        kind_byte in 5u8..,
    ) {
        let mut bytes = frame.encode();
        bytes[0] = version;
        prop_assert_eq!(Decoder::new().feed(&bytes), Err(FrameError::UnknownVersion { found: version }));
        bytes[0] = 1;
        bytes[1] = kind_byte;
        prop_assert_eq!(Decoder::new().feed(&bytes), Err(FrameError::UnknownKind { found: kind_byte }));
    }

    #[test]
    fn an_oversize_length_is_refused_from_the_header_alone(len in (semper_link::FRAME_PAYLOAD_MAX_BYTES as u32 + 1)..) {
        let mut header = Frame::request(1, vec![]).unwrap().encode();
        header[10..FRAME_HEADER_BYTES].copy_from_slice(&len.to_be_bytes());
        let error = Decoder::new().feed(&header).unwrap_err();
        prop_assert_eq!(error.code(), "frame.too_large");
    }
}
