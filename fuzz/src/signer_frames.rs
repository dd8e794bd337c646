//! The signer's socket protocol (`semper_actors::signer::frame`): any byte stream read frame
//! by frame as the signer and the issuer read it, each payload decoded as a request and as a
//! response. A frame read is its length and its bytes, written back the same; a decoded value
//! encodes to bytes that decode to the same value.

use std::io::Cursor;

use semper_actors::signer::SignerError;
use semper_actors::signer::frame::{FRAME_MAX_BYTES, Request, Response, read_frame, write_frame};

/// Reads `data` as a stream of frames until its end or the first error, then checks each
/// payload, and `data` itself as one payload.
pub fn signer_frames(data: &[u8]) {
    let mut stream = Cursor::new(data);
    loop {
        let at = stream.position() as usize;
        match read_frame(&mut stream) {
            Ok(Some(payload)) => {
                assert!(payload.len() <= FRAME_MAX_BYTES);
                let mut written = Vec::new();
                write_frame(&mut written, &payload).unwrap();
                assert_eq!(written, data[at..stream.position() as usize]);
                payload_reads_back(&payload);
            }
            // A clean end: fewer than four bytes were left.
            Ok(None) => {
                assert!(data.len() - at < 4);
                break;
            }
            Err(SignerError::Frame { code, .. }) => {
                // Only a length over the bound is refused before the payload is read.
                assert_eq!(code, "signer.frame.too_large");
                let len = u32::from_be_bytes(data[at..at + 4].try_into().unwrap());
                assert!(len as usize > FRAME_MAX_BYTES);
                break;
            }
            // The stream ended inside a frame.
            Err(SignerError::Unavailable(_)) => break,
            Err(other) => panic!("read_frame: {other:?}"),
        }
    }
    payload_reads_back(data);
}

/// A payload that decodes as a request or a response encodes back to one that decodes the same.
fn payload_reads_back(payload: &[u8]) {
    if let Ok(request) = Request::decode(payload) {
        assert_eq!(Request::decode(&request.encode()).as_ref(), Ok(&request));
    }
    if let Ok(response) = Response::decode(payload) {
        assert_eq!(Response::decode(&response.encode()).as_ref(), Ok(&response));
    }
}
