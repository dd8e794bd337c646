//! The issuer's checks of a swap (change) request, before anything is spent or signed.

use std::collections::HashSet;

use rayon::prelude::*;

use crate::amount::{Amount, AmountError};
use crate::codec::Encode;
use crate::crypto::blind_rsa::RsaError;
use crate::crypto::ed25519::SignatureError;
use crate::crypto::hash::sha256;
use crate::denomination_book::{DenominationBook, DenominationRefusal};
use crate::ids::{BankId, Digest};
use crate::messages::coin::CoinError;
use crate::messages::swap::{SwapRequest, outputs_digest};
use crate::time::Timestamp;

/// Why a swap request was refused; nothing was spent or signed. Each variant has a stable
/// [`SwapRefusal::code`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SwapRefusal {
    /// The request gives in no coin, or asks for none.
    #[error("swap request gives in no coin or asks for none")]
    NoCoins,
    /// A coin's permission names another request id or other outputs.
    #[error("coin {index}: its permission is for another swap")]
    WrongRequest {
        /// The coin's position in `coins`.
        index: usize,
    },
    /// A coin is given in twice.
    #[error("coin {index} is given in twice")]
    DuplicateCoin {
        /// The position of its second listing.
        index: usize,
    },
    /// A coin of another issuer.
    #[error("coin {index} is another issuer's")]
    WrongIssuer {
        /// The coin's position in `coins`.
        index: usize,
    },
    /// A coin given in may not be spent now, or an output's denomination may not be withdrawn.
    #[error("{side} {index}: {refusal}")]
    Denomination {
        /// `"coin"` or `"output"`.
        side: &'static str,
        /// Its position.
        index: usize,
        /// Why.
        refusal: DenominationRefusal,
    },
    /// A coin's key did not sign its permission.
    #[error("coin {index}: {error}")]
    CoinKeySignature {
        /// The coin's position in `coins`.
        index: usize,
        /// What was wrong.
        error: SignatureError,
    },
    /// A coin's issuer signature does not verify.
    #[error("coin {index}: {error}")]
    Coin {
        /// The coin's position in `coins`.
        index: usize,
        /// What was wrong.
        error: CoinError,
    },
    /// A blinded output is not as long as its denomination's modulus.
    #[error("output {index}: {error}")]
    BlindedCoin {
        /// The output's position.
        index: usize,
        /// What was wrong.
        error: RsaError,
    },
    /// The outputs are not worth the coins given in less their swap fees.
    #[error("outputs worth {outputs}, coins given in worth {inputs_less_fees} after fees")]
    Unbalanced {
        /// The coins' values less their swap fees.
        inputs_less_fees: Amount,
        /// The outputs' values.
        outputs: Amount,
    },
    /// Amounts mix currencies, or overflow.
    #[error("{0}")]
    Amount(#[from] AmountError),
}

impl SwapRefusal {
    /// The stable error code that the HTTP layer reports.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NoCoins => "swap.no_coins",
            Self::WrongRequest { .. } => "swap.wrong_request",
            Self::DuplicateCoin { .. } => "swap.duplicate_coin",
            Self::WrongIssuer { .. } => "swap.wrong_issuer",
            Self::Denomination { refusal, .. } => refusal.code(),
            Self::CoinKeySignature { .. } => "swap.invalid_coin_key_signature",
            Self::Coin { error, .. } => error.code(),
            Self::BlindedCoin { error, .. } => error.code(),
            Self::Unbalanced { .. } => "swap.unbalanced",
            Self::Amount(error) => error.code(),
        }
    }
}

/// A swap request that passed [`check_swap`]: what the issuer spends and records.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedSwap {
    /// Digest of the request's encoding: what makes a retry a replay.
    pub request_digest: Digest,
    /// Each coin's permission body digest, in order.
    pub permissions: Vec<Digest>,
    /// Each coin's value, in order.
    pub values: Vec<Amount>,
    /// The swap fees kept, in total.
    pub fees: Amount,
}

/// The digest of a swap request's encoding: its identity under its `request_id`, what makes a
/// retry a replay.
pub fn swap_digest(request: &SwapRequest) -> Digest {
    Digest(sha256(&[&request.to_bytes()]))
}

/// Checks a swap request at `now`: every coin given in is `issuer`'s, depositable, listed once,
/// signed by the issuer (RSA, on the current rayon pool) and consented to by its key for this
/// very request; every output is withdrawable and of its key's length; and the outputs are worth
/// exactly the coins less their swap fees. The spent set is not read here.
pub fn check_swap(
    request: &SwapRequest,
    issuer: BankId,
    book: &DenominationBook,
    now: Timestamp,
) -> Result<CheckedSwap, SwapRefusal> {
    check_swap_with_refunds(request, issuer, book, now, &[])
}

/// [`check_swap`], where coin `i` with `refunded[i]` = `Some(amount)` is a spent coin given in
/// for its refund allowance (docs/protocol.md §7.21): it is worth `amount`, what its refunds
/// left it, not its denomination's value (its swap fee is charged all the same). A coin past
/// the end of `refunded` is worth its value. The caller read the allowances; the write that
/// spends them checks them again.
pub fn check_swap_with_refunds(
    request: &SwapRequest,
    issuer: BankId,
    book: &DenominationBook,
    now: Timestamp,
    refunded: &[Option<Amount>],
) -> Result<CheckedSwap, SwapRefusal> {
    if request.coins.is_empty() || request.outputs.is_empty() {
        return Err(SwapRefusal::NoCoins);
    }
    let outputs = outputs_digest(&request.outputs);
    let mut seen = HashSet::with_capacity(request.coins.len());
    let mut inputs = Vec::with_capacity(request.coins.len());
    for (index, permission) in request.coins.iter().enumerate() {
        let body = permission.body();
        if body.request_id != request.request_id || body.outputs != outputs {
            return Err(SwapRefusal::WrongRequest { index });
        }
        if !seen.insert((body.coin.denomination, *body.coin.public_key.as_bytes())) {
            return Err(SwapRefusal::DuplicateCoin { index });
        }
        let denomination = book
            .depositable(&body.coin.denomination, now)
            .map_err(|refusal| SwapRefusal::Denomination {
                side: "coin",
                index,
                refusal,
            })?;
        if denomination.issuer() != issuer {
            return Err(SwapRefusal::WrongIssuer { index });
        }
        inputs.push(denomination);
    }
    let mut outputs_total = Amount::zero(inputs[0].value().currency());
    for (index, output) in request.outputs.iter().enumerate() {
        let denomination = book
            .withdrawable(&output.denomination, now)
            .map_err(|refusal| SwapRefusal::Denomination {
                side: "output",
                index,
                refusal,
            })?;
        if denomination.issuer() != issuer {
            return Err(SwapRefusal::WrongIssuer { index });
        }
        // Of the modulus' length and below it: what the signer would refuse, refused before
        // any coin is spent (a sharded spent set spends them before signing, §7.25).
        if let Err(error) = denomination.public_key().check_blinded(&output.blinded) {
            return Err(SwapRefusal::BlindedCoin { index, error });
        }
        outputs_total = outputs_total.checked_add(denomination.value())?;
    }
    let mut values = Vec::with_capacity(inputs.len());
    let mut fees = Amount::zero(outputs_total.currency());
    let mut inputs_total = fees;
    for (index, denomination) in inputs.iter().enumerate() {
        let value = match refunded.get(index) {
            Some(Some(allowance)) => *allowance,
            _ => denomination.value(),
        };
        values.push(value);
        inputs_total = inputs_total.checked_add(value)?;
        fees = fees.checked_add(denomination.fees().swap)?;
    }
    let inputs_less_fees = inputs_total.checked_sub(fees)?;
    if inputs_less_fees != outputs_total {
        return Err(SwapRefusal::Unbalanced {
            inputs_less_fees,
            outputs: outputs_total,
        });
    }
    // The crypto last, once everything cheap has passed.
    request
        .coins
        .par_iter()
        .zip(inputs.par_iter())
        .enumerate()
        .try_for_each(|(index, (permission, denomination))| {
            permission
                .verify_coin_key()
                .map_err(|error| SwapRefusal::CoinKeySignature { index, error })?;
            permission
                .body()
                .coin
                .verify(denomination)
                .map_err(|error| SwapRefusal::Coin { index, error })
        })?;
    Ok(CheckedSwap {
        request_digest: swap_digest(request),
        permissions: request.coins.iter().map(|p| p.body_digest()).collect(),
        values,
        fees,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::Decode;
    use crate::denomination::{Denomination, DenominationFees};
    use crate::ids::RequestId;
    use crate::messages::spend::{EarlierSpend, SpendResult};
    use crate::test_keys::{self, ISSUER, NOW};
    use crate::wallet;

    fn with_swap_fee(value: &str, fee: &str) -> Denomination {
        let base = test_keys::denomination(value, test_keys::rsa_2048());
        let mut fields = base.fields().clone();
        fields.fees = DenominationFees {
            swap: fee.parse().unwrap(),
            ..DenominationFees::zero(fields.value.currency())
        };
        Denomination::new(fields).unwrap()
    }

    #[test]
    fn a_withdrawal_costs_each_coin_s_value_and_withdraw_fee() {
        let base = test_keys::denomination("EUR:1.00", test_keys::rsa_2048());
        let mut fields = base.fields().clone();
        fields.fees.withdraw = "EUR:0.05".parse().unwrap();
        let priced = Denomination::new(fields).unwrap();
        let mut book = DenominationBook::new();
        book.add(priced.clone());
        let key = crate::crypto::ed25519::SigningKey::generate(&mut rand::rng());
        let (request, _) = wallet::prepare_withdraw(
            &mut rand::rng(),
            &key,
            crate::ids::AccountId([1; 16]),
            RequestId([2; 16]),
            &[priced.clone(), priced],
        )
        .unwrap();
        let cost = crate::issuer::check_withdraw(&request, key.verifying_key(), &book, NOW);
        assert_eq!(cost, Ok("EUR:2.10".parse().unwrap()));
    }

    #[test]
    fn a_swap_balances_with_its_fees_and_every_bad_input_has_its_code() {
        // A 1.00 coin with a 0.10 swap fee, for change in 0.10 coins.
        let one = with_swap_fee("EUR:1.00", "EUR:0.10");
        let dime = with_swap_fee("EUR:0.10", "EUR:0.01");
        let mut book = DenominationBook::new();
        book.add(one.clone());
        book.add(dime.clone());
        let coins = test_keys::coins(&one, test_keys::rsa_2048(), 2);
        let given = [(&coins[0], &one)];
        assert_eq!(
            wallet::swap_value(&given).unwrap(),
            "EUR:0.90".parse().unwrap()
        );
        let wanted =
            wallet::change_for("EUR:0.90".parse().unwrap(), &[one.clone(), dime.clone()]).unwrap();
        assert_eq!(wanted.len(), 9);
        let id = RequestId([7; 16]);
        let mut rng = rand::rng();
        let (request, _) = wallet::prepare_swap(&mut rng, id, &coins[..1], &wanted).unwrap();
        let checked = check_swap(&request, ISSUER, &book, NOW).unwrap();
        assert_eq!(checked.fees, "EUR:0.10".parse().unwrap());
        assert_eq!(checked.values, vec![one.value()]);
        assert_eq!(
            SwapRequest::from_bytes(&request.to_bytes()),
            Ok(request.clone())
        );

        let code =
            |request: &SwapRequest| check_swap(request, ISSUER, &book, NOW).unwrap_err().code();
        // Asking for the whole value, fee not counted.
        let (greedy, _) =
            wallet::prepare_swap(&mut rng, id, &coins[..1], &vec![dime.clone(); 10]).unwrap();
        assert_eq!(code(&greedy), "swap.unbalanced");
        // A permission for another request's outputs.
        let mut mixed = request.clone();
        mixed.outputs = greedy.outputs.clone();
        assert_eq!(code(&mixed), "swap.wrong_request");
        // An output not below its modulus, its permission naming it: refused before any coin is
        // spent (a sharded spent set spends them before the signer would refuse it).
        let mut high = request.clone();
        let mut outputs = high.outputs.to_vec();
        outputs[0].blinded =
            crate::crypto::blind_rsa::BlindedMessage(vec![0xff; outputs[0].blinded.0.len()]);
        high.outputs = outputs.try_into().unwrap();
        let permission = crate::messages::swap::SwapPermission {
            coin: coins[0].coin().clone(),
            request_id: id,
            outputs: crate::messages::swap::outputs_digest(&high.outputs),
        };
        let signed = crate::signed::Signed::sign(permission, coins[0].coin_key());
        high.coins = vec![signed].try_into().unwrap();
        assert_eq!(code(&high), "rsa.out_of_range");
        // The same coin twice.
        let (twice, _) =
            wallet::prepare_swap(&mut rng, id, &[coins[0].clone(), coins[0].clone()], &wanted)
                .unwrap();
        assert_eq!(code(&twice), "swap.duplicate_coin");
        // A coin key's signature that does not verify.
        let mut forged = request.clone();
        let mut coins_given = forged.coins.to_vec();
        let other = wallet::prepare_swap(&mut rng, id, &coins[1..], &wanted)
            .unwrap()
            .0;
        coins_given[0] = crate::signed::Signed::from_parts(
            coins_given[0].body().clone(),
            *other.coins[0].signature(),
        );
        forged.coins = coins_given.try_into().unwrap();
        assert_eq!(code(&forged), "swap.invalid_coin_key_signature");
        // Nothing given in.
        let mut empty = request.clone();
        empty.coins = Vec::new().try_into().unwrap();
        assert_eq!(code(&empty), "swap.no_coins");
        // An output of an unknown denomination.
        let mut unknown = DenominationBook::new();
        unknown.add(one.clone());
        assert_eq!(
            check_swap(&request, ISSUER, &unknown, NOW)
                .unwrap_err()
                .code(),
            "denomination.unknown"
        );

        // The swap's permission is the proof against a later deposit of the coin.
        let earlier = EarlierSpend::from_stored(&request.coins[0].to_bytes()).unwrap();
        let result = earlier.into_result();
        assert!(matches!(result, SpendResult::Swapped { .. }));
        assert_eq!(
            SpendResult::from_bytes(&result.to_bytes()),
            Ok(result.clone())
        );
        let json = serde_json::to_string(&result).unwrap();
        assert_eq!(serde_json::from_str::<SpendResult>(&json).unwrap(), result);
        let deposit = &test_keys::permissions(&coins[..1])[0];
        let SpendResult::Swapped { earlier } = result else {
            unreachable!()
        };
        assert!(crate::acquirer::proves_swapped(deposit, &earlier));
        let other_coin = &test_keys::permissions(&coins[1..])[0];
        assert!(!crate::acquirer::proves_swapped(other_coin, &earlier));
    }

    #[test]
    fn a_refunded_coin_is_worth_its_allowance_less_its_swap_fee() {
        let one = with_swap_fee("EUR:1.00", "EUR:0.10");
        let dime = with_swap_fee("EUR:0.10", "EUR:0.01");
        let mut book = DenominationBook::new();
        book.add(one.clone());
        book.add(dime.clone());
        let coins = test_keys::coins(&one, test_keys::rsa_2048(), 1);
        let refunded = [Some("EUR:0.50".parse().unwrap())];
        let mut rng = rand::rng();
        let id = RequestId([8; 16]);
        // 0.50 refunded, less the 0.10 fee: four dimes, not nine.
        let (four, _) = wallet::prepare_swap(&mut rng, id, &coins, &vec![dime.clone(); 4]).unwrap();
        let checked = check_swap_with_refunds(&four, ISSUER, &book, NOW, &refunded).unwrap();
        assert_eq!(checked.values, vec!["EUR:0.50".parse().unwrap()]);
        let (nine, _) = wallet::prepare_swap(&mut rng, id, &coins, &vec![dime.clone(); 9]).unwrap();
        assert_eq!(
            check_swap_with_refunds(&nine, ISSUER, &book, NOW, &refunded)
                .unwrap_err()
                .code(),
            "swap.unbalanced"
        );
        assert!(check_swap(&nine, ISSUER, &book, NOW).is_ok());
    }
}
