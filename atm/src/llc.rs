//! RFC 2684 LLC/SNAP encapsulation of routed IP: `AA-AA-03 00-00-00` then the EtherType.
//!
//! Classical IP over ATM carries whole IP packets; here the circuit stands for the IP and UDP
//! layers (the addresses are the circuit's ends), so the encapsulated PDU is the UDP payload.

use std::net::SocketAddr;

use thiserror::Error;

/// Bytes of the LLC/SNAP header.
pub const LLC_SNAP_BYTES: usize = 8;
/// LLC (DSAP AA, SSAP AA, control 03 = UI) and the SNAP OUI 00-00-00 (an EtherType follows).
const LLC_SNAP_PREFIX: [u8; 6] = [0xAA, 0xAA, 0x03, 0x00, 0x00, 0x00];
/// The EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// The EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86DD;

/// Why a received PDU is not routed IP in LLC/SNAP.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LlcError {
    /// Shorter than the header.
    #[error("a PDU of {0} bytes is shorter than the LLC/SNAP header")]
    Short(usize),
    /// Not the LLC/SNAP prefix of routed non-ISO PDUs.
    #[error("not an LLC/SNAP routed PDU")]
    NotSnap,
    /// An EtherType other than IPv4 or IPv6.
    #[error("EtherType {0:#06x} is not IP")]
    NotIp(u16),
}

/// The EtherType of a datagram to or from `addr`.
pub fn ether_type_for(addr: SocketAddr) -> u16 {
    match addr {
        SocketAddr::V4(_) => ETHERTYPE_IPV4,
        SocketAddr::V6(_) => ETHERTYPE_IPV6,
    }
}

/// `datagram` behind an LLC/SNAP header carrying `ether_type`.
pub fn encapsulate(ether_type: u16, datagram: &[u8]) -> Vec<u8> {
    let mut pdu = Vec::with_capacity(LLC_SNAP_BYTES + datagram.len());
    pdu.extend_from_slice(&LLC_SNAP_PREFIX);
    pdu.extend_from_slice(&ether_type.to_be_bytes());
    pdu.extend_from_slice(datagram);
    pdu
}

/// Checks and strips the LLC/SNAP header: the EtherType and the datagram.
pub fn decapsulate(pdu: &[u8]) -> Result<(u16, &[u8]), LlcError> {
    let Some((header, datagram)) = pdu.split_first_chunk::<LLC_SNAP_BYTES>() else {
        return Err(LlcError::Short(pdu.len()));
    };
    if header[..6] != LLC_SNAP_PREFIX {
        return Err(LlcError::NotSnap);
    }
    let ether_type = u16::from_be_bytes([header[6], header[7]]);
    if ether_type != ETHERTYPE_IPV4 && ether_type != ETHERTYPE_IPV6 {
        return Err(LlcError::NotIp(ether_type));
    }
    Ok((ether_type, datagram))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn header_bytes() {
        assert_eq!(
            encapsulate(ETHERTYPE_IPV6, b"q"),
            [0xAA, 0xAA, 0x03, 0, 0, 0, 0x86, 0xDD, b'q']
        );
        assert_eq!(decapsulate(&[0xAA; 4]), Err(LlcError::Short(4)));
        assert_eq!(
            decapsulate(&[0xAA, 0xAA, 0x03, 0, 0x80, 0xC2, 0, 7]),
            Err(LlcError::NotSnap)
        );
        assert_eq!(
            decapsulate(&[0xAA, 0xAA, 0x03, 0, 0, 0, 0x08, 0x06]),
            Err(LlcError::NotIp(0x0806))
        );
    }

    proptest! {
        #[test]
        fn round_trips(datagram in proptest::collection::vec(any::<u8>(), 0..2000), v6: bool) {
            let ether_type = if v6 { ETHERTYPE_IPV6 } else { ETHERTYPE_IPV4 };
            let pdu = encapsulate(ether_type, &datagram);
            prop_assert_eq!(decapsulate(&pdu), Ok((ether_type, &datagram[..])));
        }
    }
}
