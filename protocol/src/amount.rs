//! Money: integer minor units of an ISO 4217 currency, with checked arithmetic.
//!
//! Amounts are never floating point. The text form is `CUR:units.minor`, e.g. `EUR:12.50`, with as
//! many minor digits as the currency has (`JPY:500`, `BHD:1.250`).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::codec::{Decode, DecodeError, Encode, Reader, Writer};

/// The currencies semper clears, with the number of minor-unit digits ISO 4217 gives each.
const CURRENCIES: &[(&str, u8)] = &[
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("INR", 2),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("MXN", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PLN", 2),
    ("RON", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("TND", 3),
    ("USD", 2),
    ("ZAR", 2),
];

/// Why an amount or currency was refused. Each variant has a stable [`AmountError::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The currency code is not one semper knows.
    #[error("unknown currency {0:?}")]
    UnknownCurrency(String),
    /// The text is not of the form `CUR:units.minor`.
    #[error("malformed amount {0:?}: expected e.g. EUR:12.50")]
    Malformed(String),
    /// The amount has more minor digits than its currency allows.
    #[error("{currency} has {allowed} minor digits, {found} given")]
    TooPrecise {
        /// The currency.
        currency: Currency,
        /// The digits it allows.
        allowed: u8,
        /// The digits given.
        found: usize,
    },
    /// The amount was negative.
    #[error("amounts cannot be negative")]
    Negative,
    /// The amount, or a sum or product, does not fit in 64 bits of minor units.
    #[error("amount overflows")]
    Overflow,
    /// An operation mixed two currencies.
    #[error("currency mismatch: {left} and {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
}

impl AmountError {
    /// The stable error code that the HTTP and link layers report.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownCurrency(_) => "amount.unknown_currency",
            Self::Malformed(_) => "amount.malformed",
            Self::TooPrecise { .. } => "amount.too_precise",
            Self::Negative => "amount.negative",
            Self::Overflow => "amount.overflow",
            Self::CurrencyMismatch { .. } => "amount.currency_mismatch",
        }
    }
}

/// An ISO 4217 currency that semper knows. A value of this type is always in the table above.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency {
    code: [u8; 3],
}

impl Currency {
    /// Parses a three-letter code such as `EUR`.
    pub fn new(code: &str) -> Result<Self, AmountError> {
        let known = CURRENCIES.iter().any(|(known, _)| *known == code);
        if !known {
            return Err(AmountError::UnknownCurrency(code.to_owned()));
        }
        let mut bytes = [0u8; 3];
        bytes.copy_from_slice(code.as_bytes());
        Ok(Self { code: bytes })
    }

    /// Every currency semper knows, in the table's (alphabetical) order: what the OpenAPI
    /// document's `Currency` enum lists.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|(code, _)| {
            let mut bytes = [0u8; 3];
            bytes.copy_from_slice(code.as_bytes());
            Self { code: bytes }
        })
    }

    /// The three-letter code.
    pub fn code(&self) -> &str {
        // Constructed only from a table entry, which is ASCII.
        std::str::from_utf8(&self.code).unwrap_or("???")
    }

    /// How many minor-unit digits the currency has (2 for EUR, 0 for JPY).
    pub fn minor_digits(&self) -> u8 {
        CURRENCIES
            .iter()
            .find(|(code, _)| code.as_bytes() == self.code)
            .map_or(0, |(_, digits)| *digits)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Encode for Currency {
    fn encode_to(&self, writer: &mut Writer) {
        writer.fixed(&self.code);
    }
}

impl Decode for Currency {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let code = reader.array::<3>("currency")?;
        let text = std::str::from_utf8(&code).map_err(|e| DecodeError::invalid("currency", e))?;
        Currency::new(text).map_err(|e| DecodeError::invalid("currency", e))
    }
}

/// A non-negative amount of money: minor units of one currency.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Amount {
    currency: Currency,
    minor_units: u64,
}

impl Amount {
    /// An amount of `minor_units` (cents for EUR) of `currency`.
    pub fn from_minor_units(currency: Currency, minor_units: u64) -> Self {
        Self {
            currency,
            minor_units,
        }
    }

    /// Zero of `currency`.
    pub fn zero(currency: Currency) -> Self {
        Self::from_minor_units(currency, 0)
    }

    /// The currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// The amount in minor units.
    pub fn minor_units(&self) -> u64 {
        self.minor_units
    }

    /// `self + other`, refusing overflow and mixed currencies.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(other)?;
        let sum = self
            .minor_units
            .checked_add(other.minor_units)
            .ok_or(AmountError::Overflow)?;
        Ok(Self::from_minor_units(self.currency, sum))
    }

    /// `self - other`, refusing a negative result and mixed currencies.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.same_currency(other)?;
        let difference = self
            .minor_units
            .checked_sub(other.minor_units)
            .ok_or(AmountError::Negative)?;
        Ok(Self::from_minor_units(self.currency, difference))
    }

    /// `self * factor`, refusing overflow.
    pub fn checked_mul(self, factor: u64) -> Result<Amount, AmountError> {
        let product = self
            .minor_units
            .checked_mul(factor)
            .ok_or(AmountError::Overflow)?;
        Ok(Self::from_minor_units(self.currency, product))
    }

    /// The sum of `amounts` in each currency they hold, sorted by currency; overflow is refused.
    pub fn sum_per_currency(
        amounts: impl IntoIterator<Item = Amount>,
    ) -> Result<Vec<Amount>, AmountError> {
        let mut sums: std::collections::BTreeMap<Currency, Amount> = Default::default();
        for amount in amounts {
            let sum = sums
                .entry(amount.currency)
                .or_insert_with(|| Amount::zero(amount.currency));
            *sum = sum.checked_add(amount)?;
        }
        Ok(sums.into_values().collect())
    }

    fn same_currency(self, other: Amount) -> Result<(), AmountError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(AmountError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = u32::from(self.currency.minor_digits());
        let scale = 10u64.pow(digits);
        let units = self.minor_units / scale;
        let minor = self.minor_units % scale;
        if digits == 0 {
            write!(f, "{}:{}", self.currency, units)
        } else {
            write!(
                f,
                "{}:{}.{:0width$}",
                self.currency,
                units,
                minor,
                width = digits as usize
            )
        }
    }
}

impl fmt::Debug for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let malformed = || AmountError::Malformed(text.chars().take(64).collect());
        let (code, number) = text.split_once(':').ok_or_else(malformed)?;
        let currency = Currency::new(code)?;
        if number.starts_with('-') {
            return Err(AmountError::Negative);
        }
        let (units, minor) = match number.split_once('.') {
            Some((units, minor)) => (units, minor),
            None => (number, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if units.is_empty() || !all_digits(units) || !all_digits(minor) {
            return Err(malformed());
        }
        if number.contains('.') && minor.is_empty() {
            return Err(malformed());
        }
        let digits = currency.minor_digits();
        if minor.len() > usize::from(digits) {
            return Err(AmountError::TooPrecise {
                currency,
                allowed: digits,
                found: minor.len(),
            });
        }
        let scale = 10u64.pow(u32::from(digits));
        let units: u64 = units.parse().map_err(|_| AmountError::Overflow)?;
        let mut minor_value: u64 = if minor.is_empty() {
            0
        } else {
            minor.parse().map_err(|_| malformed())?
        };
        // "12.5" in EUR is 12.50: scale the given digits up to the currency's.
        for _ in minor.len()..usize::from(digits) {
            minor_value *= 10;
        }
        let minor_units = units
            .checked_mul(scale)
            .and_then(|v| v.checked_add(minor_value))
            .ok_or(AmountError::Overflow)?;
        Ok(Self::from_minor_units(currency, minor_units))
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Currency::new(&text).map_err(serde::de::Error::custom)
    }
}

impl Encode for Amount {
    fn encode_to(&self, writer: &mut Writer) {
        self.currency.encode_to(writer);
        writer.u64(self.minor_units);
    }
}

impl Decode for Amount {
    fn decode_from(reader: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let currency = Currency::decode_from(reader)?;
        let minor_units = reader.u64("amount")?;
        Ok(Self::from_minor_units(currency, minor_units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eur() -> Currency {
        Currency::new("EUR").unwrap()
    }

    #[test]
    fn text_form_round_trips() {
        for text in [
            "EUR:12.50",
            "EUR:0.00",
            "JPY:500",
            "BHD:1.250",
            "USD:184467440737095516.15",
        ] {
            let amount: Amount = text.parse().unwrap();
            assert_eq!(amount.to_string(), text);
        }
        let a: Amount = "EUR:12.5".parse().unwrap();
        assert_eq!(a.minor_units(), 1250);
        assert_eq!("EUR:7".parse::<Amount>().unwrap().minor_units(), 700);
    }

    #[test]
    fn bad_text_gets_typed_errors() {
        let parse = |s: &str| s.parse::<Amount>().unwrap_err().code();
        assert_eq!(parse("EUR:-1.00"), "amount.negative");
        assert_eq!(parse("XXX:1.00"), "amount.unknown_currency");
        assert_eq!(parse("eur:1.00"), "amount.unknown_currency");
        assert_eq!(parse("EUR:1.005"), "amount.too_precise");
        assert_eq!(parse("JPY:1.5"), "amount.too_precise");
        assert_eq!(parse("EUR:18446744073709551616"), "amount.overflow");
        assert_eq!(parse("EUR:184467440737095516.16"), "amount.overflow");
        for bad in [
            "EUR",
            "EUR:",
            "EUR:1.",
            "EUR:.5",
            "EUR:1,00",
            "EUR: 1",
            "EUR:+1",
            "EUR:1.2.3",
        ] {
            assert_eq!(parse(bad), "amount.malformed", "{bad}");
        }
    }

    #[test]
    fn arithmetic_is_checked() {
        let a = Amount::from_minor_units(eur(), u64::MAX);
        let one = Amount::from_minor_units(eur(), 1);
        assert_eq!(a.checked_add(one), Err(AmountError::Overflow));
        assert_eq!(one.checked_sub(a), Err(AmountError::Negative));
        assert_eq!(a.checked_mul(2), Err(AmountError::Overflow));
        let yen = Amount::from_minor_units(Currency::new("JPY").unwrap(), 1);
        assert_eq!(
            one.checked_add(yen).unwrap_err().code(),
            "amount.currency_mismatch"
        );
        assert_eq!(one.checked_add(one).unwrap().minor_units(), 2);
    }

    #[test]
    fn sums_per_currency_are_sorted_and_checked() {
        let amounts: Vec<Amount> = ["JPY:5", "EUR:1.50", "JPY:7", "EUR:0.25"]
            .iter()
            .map(|a| a.parse().unwrap())
            .collect();
        let sums = Amount::sum_per_currency(amounts).unwrap();
        assert_eq!(
            sums,
            vec!["EUR:1.75".parse().unwrap(), "JPY:12".parse().unwrap()]
        );
        assert_eq!(Amount::sum_per_currency([]), Ok(vec![]));
        let huge = Amount::from_minor_units(eur(), u64::MAX);
        assert_eq!(
            Amount::sum_per_currency([huge, huge]),
            Err(AmountError::Overflow)
        );
    }

    #[test]
    fn json_form_is_the_text_form() {
        let amount: Amount = "EUR:3.20".parse().unwrap();
        assert_eq!(serde_json::to_string(&amount).unwrap(), "\"EUR:3.20\"");
        assert!(serde_json::from_str::<Amount>("\"EUR:-3\"").is_err());
    }
}
