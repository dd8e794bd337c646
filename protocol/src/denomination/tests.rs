use super::*;
use crate::crypto::ed25519::SigningKey;
use crate::test_keys::{self, NOW};

fn fields() -> DenominationFields {
    test_keys::denomination("EUR:1.00", test_keys::rsa_2048())
        .fields()
        .clone()
}

#[test]
fn windows_must_nest_and_value_must_be_positive() {
    let mut zero = fields();
    zero.value = "EUR:0.00".parse().unwrap();
    assert_eq!(Denomination::new(zero), Err(DenominationError::ZeroValue));
    let mut late = fields();
    late.deposit_until = late.withdraw_until.plus_ms(0);
    late.retain_until = Timestamp::from_unix_ms(late.deposit_until.unix_ms() - 1);
    assert_eq!(
        Denomination::new(late).unwrap_err().code(),
        "denomination.windows_out_of_order"
    );
    let mut empty = fields();
    empty.withdraw_until = empty.valid_from;
    assert!(Denomination::new(empty).is_err());
}

#[test]
fn lifecycle_windows_decide_withdraw_deposit_and_prune() {
    let d = Denomination::new(fields()).unwrap();
    let f = d.fields().clone();
    assert!(!d.can_withdraw(Timestamp::from_unix_ms(f.valid_from.unix_ms() - 1)));
    assert!(d.can_withdraw(NOW) && d.can_deposit(NOW) && !d.can_prune(NOW));
    assert!(!d.can_withdraw(f.withdraw_until) && d.can_deposit(f.withdraw_until));
    assert!(!d.can_deposit(f.deposit_until) && !d.can_prune(f.deposit_until));
    assert!(d.can_prune(f.retain_until));
}

#[test]
fn the_id_covers_every_field() {
    let base = Denomination::new(fields()).unwrap().id();
    let mut changes: Vec<DenominationFields> = Vec::new();
    let mut f = fields();
    f.issuer = BankId([9; 16]);
    changes.push(f);
    let mut f = fields();
    f.value = "EUR:1.01".parse().unwrap();
    changes.push(f);
    let mut f = fields();
    f.public_key = test_keys::rsa_2048_other().public_key().clone();
    changes.push(f);
    let mut f = fields();
    f.valid_from = Timestamp::from_unix_ms(f.valid_from.unix_ms() - 1);
    changes.push(f);
    let mut f = fields();
    f.withdraw_until = f.withdraw_until.plus_ms(1);
    changes.push(f);
    let mut f = fields();
    f.deposit_until = f.deposit_until.plus_ms(1);
    changes.push(f);
    let mut f = fields();
    f.retain_until = f.retain_until.plus_ms(1);
    changes.push(f);
    for changed in changes {
        assert_ne!(Denomination::new(changed).unwrap().id(), base);
    }
}

#[test]
fn a_set_is_signed_by_the_master_key_and_holds_only_its_issuers_denominations() {
    let one = Denomination::new(fields()).unwrap();
    let set_fields = |denominations: Vec<Denomination>| DenominationSetFields {
        issuer: one.issuer(),
        sequence: 1,
        issued_at: NOW,
        denominations: denominations.try_into().unwrap(),
        revoked: vec![DenominationId([7; 32])].try_into().unwrap(),
    };
    let set = DenominationSet::new(set_fields(vec![one.clone()])).unwrap();
    assert!(set.is_revoked(&DenominationId([7; 32])) && !set.is_revoked(&one.id()));
    let master = SigningKey::from_seed(&[1; 32]);
    let signed = Signed::sign(set, &master);
    assert_eq!(signed.verify(master.verifying_key()), Ok(()));
    let stranger = SigningKey::from_seed(&[2; 32]);
    assert!(signed.verify(stranger.verifying_key()).is_err());

    assert_eq!(
        DenominationSet::new(set_fields(vec![one.clone(), one.clone()])),
        Err(DenominationError::Duplicate)
    );
    let mut foreign = fields();
    foreign.issuer = BankId([9; 16]);
    let foreign = Denomination::new(foreign).unwrap();
    assert_eq!(
        DenominationSet::new(set_fields(vec![one.clone(), foreign]))
            .unwrap_err()
            .code(),
        "denomination.foreign"
    );
}

#[test]
fn json_is_validated_like_the_binary_form() {
    let d = Denomination::new(fields()).unwrap();
    let mut json: serde_json::Value = serde_json::to_value(&d).unwrap();
    json["withdraw_until"] = json["valid_from"].clone();
    assert!(serde_json::from_value::<Denomination>(json).is_err());
}

#[test]
fn fees_are_in_the_value_currency_below_it_and_change_the_id() {
    let base = fields();
    let mut fees = base.clone();
    fees.fees.deposit = "EUR:0.02".parse().unwrap();
    let with_fee = Denomination::new(fees.clone()).unwrap();
    assert_ne!(with_fee.id(), Denomination::new(base.clone()).unwrap().id());
    assert_eq!(Denomination::from_bytes(&with_fee.to_bytes()), Ok(with_fee));
    let mut whole = base.clone();
    whole.fees.swap = whole.value;
    assert_eq!(
        Denomination::new(whole),
        Err(DenominationError::FeeNotBelowValue)
    );
    let mut foreign = base;
    foreign.fees.refund = "USD:0.01".parse().unwrap();
    assert_eq!(
        Denomination::new(foreign).unwrap_err().code(),
        "denomination.fee_currency"
    );
}
