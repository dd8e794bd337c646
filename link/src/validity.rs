//! A certificate's validity window: made for a new certificate, and read back from any
//! certificate's DER, so that its expiry can be exported and warned of.

use std::time::{Duration, SystemTime};

use rustls::pki_types::CertificateDer;

/// How far back a new certificate's validity starts, so that a peer whose clock is behind
/// accepts it at once.
const CLOCK_SKEW_ALLOWANCE: Duration = Duration::from_secs(60 * 60);

/// DER tags met on the way to the validity field (X.509, RFC 5280 section 4.1).
const TAG_SEQUENCE: u8 = 0x30;
const TAG_VERSION: u8 = 0xa0;
const TAG_UTC_TIME: u8 = 0x17;
const TAG_GENERALIZED_TIME: u8 = 0x18;
/// Length octets a DER length may use here: a certificate is far below 4 GiB.
const LENGTH_OCTETS_MAX: usize = 4;

/// A certificate's validity window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Validity {
    /// The first moment the certificate is valid.
    pub not_before: SystemTime,
    /// The last moment the certificate is valid.
    pub not_after: SystemTime,
}

impl Validity {
    /// A window from now (less an hour for clock skew) for `lifetime`.
    pub fn starting_now(lifetime: Duration) -> Self {
        let now = SystemTime::now();
        Self {
            not_before: now.checked_sub(CLOCK_SKEW_ALLOWANCE).unwrap_or(now),
            not_after: now + lifetime,
        }
    }

    /// The window a DER certificate states; `None` when it is not a well-formed X.509
    /// certificate.
    pub fn of_certificate(certificate: &CertificateDer<'_>) -> Option<Self> {
        let (certificate, _) = element(certificate, TAG_SEQUENCE)?;
        let (mut tbs, _) = element(certificate, TAG_SEQUENCE)?;
        if tbs.first() == Some(&TAG_VERSION) {
            tbs = any_element(tbs)?.2;
        }
        // serialNumber, signature (algorithm) and issuer come before the validity.
        for _ in 0..3 {
            tbs = any_element(tbs)?.2;
        }
        let (validity, _) = element(tbs, TAG_SEQUENCE)?;
        let (not_before, rest) = time(validity)?;
        let (not_after, rest) = time(rest)?;
        rest.is_empty().then_some(Self {
            not_before,
            not_after,
        })
    }

    /// How long from `now` until the certificate expires; negative once it has.
    pub fn seconds_left(&self, now: SystemTime) -> f64 {
        seconds_until(self.not_after, now)
    }
}

/// Seconds from `now` until `moment`; negative once it has passed.
pub(crate) fn seconds_until(moment: SystemTime, now: SystemTime) -> f64 {
    match moment.duration_since(now) {
        Ok(left) => left.as_secs_f64(),
        Err(past) => -past.duration().as_secs_f64(),
    }
}

/// The first element of `input` if it has tag `tag`: its contents, and what follows it.
fn element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (found, contents, rest) = any_element(input)?;
    (found == tag).then_some((contents, rest))
}

/// The first element of `input` whatever its tag: its tag, its contents, and what follows it.
fn any_element(input: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let (&tag, input) = input.split_first()?;
    let (&first, input) = input.split_first()?;
    let (length, input) = if first < 0x80 {
        (usize::from(first), input)
    } else {
        let octets = usize::from(first & 0x7f);
        if octets == 0 || octets > LENGTH_OCTETS_MAX || input.len() < octets {
            return None;
        }
        let (octets, input) = input.split_at(octets);
        let length = octets
            .iter()
            .fold(0usize, |length, octet| (length << 8) | usize::from(*octet));
        (length, input)
    };
    if input.len() < length {
        return None;
    }
    let (contents, rest) = input.split_at(length);
    Some((tag, contents, rest))
}

/// A UTCTime or GeneralizedTime (UTC, whole seconds, as RFC 5280 requires) and what follows it.
fn time(input: &[u8]) -> Option<(SystemTime, &[u8])> {
    let (tag, contents, rest) = any_element(input)?;
    let text = std::str::from_utf8(contents).ok()?;
    // ASCII only, so that the fields below are sliced on character boundaries.
    if !text.is_ascii() {
        return None;
    }
    let (year, text) = match (tag, text.len()) {
        (TAG_UTC_TIME, 13) => {
            // RFC 5280: YY of 50 or more is 19YY, below it 20YY.
            let yy: i32 = digits(&text[..2])?;
            (if yy >= 50 { 1900 + yy } else { 2000 + yy }, &text[2..])
        }
        (TAG_GENERALIZED_TIME, 15) => (digits(&text[..4])?, &text[4..]),
        _ => return None,
    };
    if !text.ends_with('Z') {
        return None;
    }
    let month = time::Month::try_from(digits::<u8>(&text[0..2])?).ok()?;
    let date = time::Date::from_calendar_date(year, month, digits(&text[2..4])?).ok()?;
    let time_of_day = time::Time::from_hms(
        digits(&text[4..6])?,
        digits(&text[6..8])?,
        digits(&text[8..10])?,
    )
    .ok()?;
    let moment = time::PrimitiveDateTime::new(date, time_of_day).assume_utc();
    Some((SystemTime::from(moment), rest))
}

/// A decimal field of ASCII digits only (no sign, no space).
fn digits<T: std::str::FromStr>(text: &str) -> Option<T> {
    if text.is_empty() || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use semper_protocol::ids::BankId;

    #[test]
    fn reads_back_the_window_a_certificate_was_made_with() {
        let now = SystemTime::now();
        // A not-after past 2049 is written as a GeneralizedTime, before it as a UTCTime.
        for lifetime_days in [1u64, 365, 40 * 365] {
            let made = Validity {
                not_before: now - Duration::from_secs(3600),
                not_after: now + Duration::from_secs(lifetime_days * 86_400),
            };
            let identity = Identity::generate(BankId([1; 16]), made).unwrap();
            let read = Validity::of_certificate(&identity.certificate()).unwrap();
            // Certificates carry whole seconds.
            for (read, made) in [
                (read.not_before, made.not_before),
                (read.not_after, made.not_after),
            ] {
                let gap = read
                    .duration_since(made)
                    .or_else(|e| Ok::<_, ()>(e.duration()));
                assert!(
                    gap.unwrap() < Duration::from_secs(1),
                    "{read:?} vs {made:?}"
                );
            }
        }
    }

    #[test]
    fn counts_the_seconds_left_and_past() {
        let now = SystemTime::now();
        let window = Validity {
            not_before: now - Duration::from_secs(10),
            not_after: now + Duration::from_secs(100),
        };
        assert_eq!(window.seconds_left(now), 100.0);
        assert_eq!(window.seconds_left(now + Duration::from_secs(130)), -30.0);
    }

    #[test]
    fn refuses_what_is_not_a_certificate() {
        for bytes in [
            &[][..],
            &[0x30],
            &[0x30, 0x85, 1, 1, 1, 1, 1],
            &[0x30, 0x03, 0x30, 0x01],
            b"not der at all",
        ] {
            assert_eq!(Validity::of_certificate(&CertificateDer::from(bytes)), None);
        }
    }
}
