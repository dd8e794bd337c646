//! One frame per QUIC stream: writing it, and reading it to the stream's end.

use quinn::{ReadError, RecvStream, SendStream, VarInt, WriteError};

use crate::decoder::Decoder;
use crate::error::LinkError;
use crate::frame::Frame;

/// The largest chunk taken from quinn at once.
const READ_CHUNK_MAX_BYTES: usize = 64 * 1024;

/// Stream reset codes the link uses.
pub(crate) mod reset {
    use quinn::VarInt;

    /// The requester gave up (timeout or cancellation).
    pub(crate) const CANCELLED: VarInt = VarInt::from_u32(1);
    /// The stream did not carry exactly one valid frame of the expected kind.
    pub(crate) const BAD_FRAME: VarInt = VarInt::from_u32(2);
}

/// Writes `frame` and ends the stream.
pub(crate) async fn write_frame(send: &mut SendStream, frame: &Frame) -> Result<(), LinkError> {
    send.write_all(&frame.encode()).await.map_err(write_error)?;
    // Finishing can only fail if the stream was already finished or reset.
    send.finish()
        .map_err(|_| LinkError::Protocol("stream closed before its end".to_owned()))
}

/// Reads the stream to its end, which must hold exactly one frame.
pub(crate) async fn read_frame(recv: &mut RecvStream) -> Result<Frame, LinkError> {
    let mut decoder = Decoder::new();
    let mut frame = None;
    while let Some(chunk) = recv
        .read_chunk(READ_CHUNK_MAX_BYTES, true)
        .await
        .map_err(read_error)?
    {
        for decoded in decoder.feed(&chunk.bytes)? {
            if frame.replace(decoded).is_some() {
                let _ = recv.stop(reset::BAD_FRAME);
                return Err(LinkError::Protocol(
                    "more than one frame on a stream".to_owned(),
                ));
            }
        }
    }
    decoder.finish()?;
    frame.ok_or_else(|| LinkError::Protocol("the stream ended without a frame".to_owned()))
}

fn write_error(error: WriteError) -> LinkError {
    match error {
        WriteError::Stopped(code) => LinkError::StreamReset(code_of(code)),
        WriteError::ConnectionLost(e) => LinkError::during_request(e),
        other => LinkError::ConnectionLost(other.to_string()),
    }
}

fn read_error(error: ReadError) -> LinkError {
    match error {
        ReadError::Reset(code) => LinkError::StreamReset(code_of(code)),
        ReadError::ConnectionLost(e) => LinkError::during_request(e),
        other => LinkError::ConnectionLost(other.to_string()),
    }
}

fn code_of(code: VarInt) -> u64 {
    code.into_inner()
}
