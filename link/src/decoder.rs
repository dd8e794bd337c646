//! The incremental frame decoder: byte chunks in, whole frames out, no I/O.

use crate::frame::{FRAME_HEADER_BYTES, Frame, FrameError, Header};

/// Turns a byte stream, fed in chunks of any size, into frames.
///
/// It buffers at most one unfinished frame: the header is validated as soon as it is complete, so
/// an unknown version or kind, or an oversize length, is refused before its payload arrives. After
/// an error the decoder stays failed and returns the same error.
///
/// The frames a stream holds before its first bad byte come out whatever the chunking: when a
/// chunk completes frames and then fails, `feed` returns those frames, and the error from the next
/// call on (`feed` or `finish`).
#[derive(Debug, Default)]
pub struct Decoder {
    header: [u8; FRAME_HEADER_BYTES],
    header_filled: usize,
    body: Option<Body>,
    failed: Option<FrameError>,
}

#[derive(Debug)]
struct Body {
    header: Header,
    payload: Vec<u8>,
}

impl Decoder {
    /// A decoder at the start of a stream.
    pub fn new() -> Self {
        Self::default()
    }

    /// Consumes `chunk` and returns every frame it completes, in order.
    pub fn feed(&mut self, mut chunk: &[u8]) -> Result<Vec<Frame>, FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let mut frames = Vec::new();
        loop {
            if let Some(body) = &mut self.body {
                let wanted = body.header.len - body.payload.len();
                let (now, rest) = chunk.split_at(wanted.min(chunk.len()));
                body.payload.extend_from_slice(now);
                chunk = rest;
                if body.payload.len() < body.header.len {
                    return Ok(frames);
                }
                if let Some(body) = self.body.take() {
                    match self.finish_frame(body) {
                        Ok(frame) => frames.push(frame),
                        Err(error) => return Self::failed_after(frames, error),
                    }
                }
                continue;
            }
            if chunk.is_empty() {
                return Ok(frames);
            }
            let wanted = FRAME_HEADER_BYTES - self.header_filled;
            let (now, rest) = chunk.split_at(wanted.min(chunk.len()));
            self.header[self.header_filled..self.header_filled + now.len()].copy_from_slice(now);
            self.header_filled += now.len();
            chunk = rest;
            if self.header_filled < FRAME_HEADER_BYTES {
                return Ok(frames);
            }
            self.header_filled = 0;
            let header = match Header::parse(&self.header) {
                Ok(header) => header,
                Err(error) => return Self::failed_after(frames, self.fail(error)),
            };
            // The payload grows as it arrives: a header alone cannot make the decoder allocate
            // its claimed length.
            self.body = Some(Body {
                header,
                payload: Vec::new(),
            });
        }
    }

    /// Whether no unfinished frame is buffered, so that the stream may end here.
    pub fn is_idle(&self) -> bool {
        self.failed.is_none() && self.header_filled == 0 && self.body.is_none()
    }

    /// Checks that the stream may end here: refuses an unfinished frame as truncated.
    pub fn finish(&self) -> Result<(), FrameError> {
        if let Some(error) = &self.failed {
            return Err(error.clone());
        }
        let buffered = match &self.body {
            Some(body) => FRAME_HEADER_BYTES + body.payload.len(),
            None => self.header_filled,
        };
        if buffered == 0 {
            Ok(())
        } else {
            Err(FrameError::Truncated { buffered })
        }
    }

    fn finish_frame(&mut self, body: Body) -> Result<Frame, FrameError> {
        let Header {
            version,
            kind,
            request_id,
            ..
        } = body.header;
        Frame::new_in(version, kind, request_id, body.payload).map_err(|e| self.fail(e))
    }

    fn fail(&mut self, error: FrameError) -> FrameError {
        self.failed = Some(error.clone());
        error
    }

    /// What `feed` answers when it fails after completing `frames`: the frames now, since they
    /// came before the bad bytes; the error (already recorded) from the next call on.
    fn failed_after(frames: Vec<Frame>, error: FrameError) -> Result<Vec<Frame>, FrameError> {
        if frames.is_empty() {
            Err(error)
        } else {
            Ok(frames)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::FrameKind;

    #[test]
    fn decodes_byte_by_byte() {
        let frames = [
            Frame::request(9, b"hello".to_vec()).unwrap(),
            Frame::one_way(Vec::new()).unwrap(),
            Frame::response(9, vec![7; 300]).unwrap(),
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(Frame::encode).collect();
        let mut decoder = Decoder::new();
        let mut out = Vec::new();
        for byte in &bytes {
            out.extend(decoder.feed(std::slice::from_ref(byte)).unwrap());
        }
        assert_eq!(out, frames);
        assert!(decoder.is_idle());
        assert_eq!(decoder.finish(), Ok(()));
    }

    #[test]
    fn refuses_an_oversize_length_before_its_payload() {
        let mut header = Frame::one_way(Vec::new()).unwrap().encode();
        header[10..14].copy_from_slice(&u32::MAX.to_be_bytes());
        let mut decoder = Decoder::new();
        let err = decoder.feed(&header).unwrap_err();
        assert_eq!(err.code(), "frame.too_large");
        assert_eq!(
            decoder.feed(&[]).unwrap_err(),
            err,
            "the decoder stays failed"
        );
    }

    #[test]
    fn refuses_unknown_version_and_kind() {
        let mut bytes = Frame::request(1, vec![1]).unwrap().encode();
        for version in [0, 3] {
            bytes[0] = version;
            assert_eq!(
                Decoder::new().feed(&bytes),
                Err(FrameError::UnknownVersion { found: version })
            );
        }
        bytes[0] = 1;
        assert_eq!(Decoder::new().feed(&bytes).unwrap()[0].version(), 1);
        bytes[1] = 9;
        assert_eq!(
            Decoder::new().feed(&bytes),
            Err(FrameError::UnknownKind { found: 9 })
        );
    }

    #[test]
    fn frames_before_a_bad_header_come_out_whatever_the_chunking() {
        // Found by fuzzing (fuzz/regressions/link_frames/frames-before-a-bad-header): fed in one
        // chunk, the frames ahead of a bad header were dropped with the error; fed in smaller
        // chunks, they came out.
        let good = Frame::request(1, b"first".to_vec()).unwrap();
        let mut bytes = good.encode();
        bytes.extend_from_slice(&Frame::one_way(Vec::new()).unwrap().encode());
        let mut bad = Frame::request(2, vec![]).unwrap().encode();
        bad[0] = 9;
        bytes.extend_from_slice(&bad);
        let whole = {
            let mut decoder = Decoder::new();
            let frames = decoder.feed(&bytes).unwrap();
            (frames, decoder.feed(&[]), decoder.finish())
        };
        let error = FrameError::UnknownVersion { found: 9 };
        assert_eq!(whole.0, [good, Frame::one_way(Vec::new()).unwrap()]);
        assert_eq!(
            whole.1,
            Err(error.clone()),
            "the error comes on the next call"
        );
        assert_eq!(whole.2, Err(error.clone()));
        let mut decoder = Decoder::new();
        let mut frames = Vec::new();
        let mut failed = None;
        for byte in &bytes {
            match decoder.feed(std::slice::from_ref(byte)) {
                Ok(decoded) => frames.extend(decoded),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        assert_eq!(frames, whole.0);
        assert_eq!(failed, Some(error));
    }

    #[test]
    fn a_partial_frame_is_truncated_at_the_end() {
        let bytes = Frame::new(FrameKind::Error, 3, vec![0; 10])
            .unwrap()
            .encode();
        let mut decoder = Decoder::new();
        assert!(decoder.feed(&bytes[..5]).unwrap().is_empty());
        assert_eq!(decoder.finish(), Err(FrameError::Truncated { buffered: 5 }));
        assert!(decoder.feed(&bytes[5..20]).unwrap().is_empty());
        assert_eq!(
            decoder.finish(),
            Err(FrameError::Truncated { buffered: 20 })
        );
    }
}
