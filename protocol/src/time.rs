//! Points in time, as the protocol signs them. The core never reads a clock: callers pass `now`.

use serde::{Deserialize, Serialize};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// Milliseconds since the Unix epoch, UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Timestamp {
    unix_ms: u64,
}

impl Timestamp {
    /// The instant `unix_ms` milliseconds after the epoch.
    pub const fn from_unix_ms(unix_ms: u64) -> Self {
        Self { unix_ms }
    }

    /// Milliseconds since the epoch.
    pub const fn unix_ms(&self) -> u64 {
        self.unix_ms
    }

    /// This instant plus `ms`, saturating at the end of time.
    pub const fn plus_ms(&self, ms: u64) -> Self {
        Self::from_unix_ms(self.unix_ms.saturating_add(ms))
    }
}

impl Encode for Timestamp {
    fn encode_to(&self, writer: &mut Writer) {
        writer.u64(self.unix_ms);
    }
}

impl Decode for Timestamp {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        Ok(Self::from_unix_ms(reader.u64("timestamp")?))
    }
}
