//! The vectors of what a wallet and a merchant build or check: keys, the encoding's primitives,
//! denominations and their set, the coin and its blind signature, withdrawal, payment, deposit.

use semper_protocol::amount::Amount;
use semper_protocol::codec::{Encode, Writer};
use semper_protocol::crypto::blind_rsa::{DenominationSecretKey, RsaSignature};
use semper_protocol::crypto::hash::sha256;
use semper_protocol::denomination::{
    Denomination, DenominationFees, DenominationFields, DenominationSet, DenominationSetFields,
};
use semper_protocol::ids::{BatchId, ContractHash, DenominationId};
use semper_protocol::messages::coin::{Coin, CoinMessage};
use semper_protocol::messages::deposit::{DepositPermission, SignedDepositPermission};
use semper_protocol::messages::merchant::{DepositRequest, DepositResponse, DepositResult};
use semper_protocol::messages::swap::{
    SwapOutputs, SwapPermission, SwapRequest, SwapResponse, outputs_digest,
};
use semper_protocol::messages::withdraw::{BlindedCoin, WithdrawRequest, WithdrawResponse};
use semper_protocol::signed::Signed;
use semper_protocol::time::Timestamp;
use serde_json::{Value, json};
use sha2::{Digest as _, Sha384};

use crate::blind::{RsaNumbers, by_the_formulas};
use crate::fixtures::{
    ACCOUNT, ACQUIRER, DEPOSIT_ID, ISSUER, MERCHANT, NOW, Parties, RSA_TEST_KEY_PEM, ReplayRng,
    SWAP_ID, WITHDRAW_ID, at, derive,
};
use crate::out::{encoded, hex_of, message_file, plain_file, raw, signed};

/// What the wallet side produces, for the banks' vectors to reuse.
pub struct WalletSide {
    /// A permission per coin, to the merchant for contract 1.
    pub permissions: Vec<SignedDepositPermission>,
    /// Coin 0 paid again, for contract 2: the other half of a double spend.
    pub respent: SignedDepositPermission,
    /// The merchant's signed deposit of both coins, which the acquirer's answers are to.
    pub deposit: Signed<DepositRequest>,
    /// The withdrawal of both coins, as the account signed it.
    pub withdrawal: WithdrawRequest,
    /// The coins, in the withdrawal's order.
    pub coins: Vec<Coin>,
    /// Each coin's r_inv, the inverse of its blinding factor, as long as the modulus.
    pub r_inv: Vec<Vec<u8>>,
}

/// The contract the wallet pays: the merchant's bytes, hashed.
pub fn contract(text: &str) -> ContractHash {
    ContractHash(sha256(&[text.as_bytes()]))
}

/// `keys.json`: every party's seed and public key, and the RSA test key.
pub fn keys(parties: &Parties, rsa: &DenominationSecretKey) -> Value {
    let openssl = openssl::rsa::Rsa::private_key_from_pem(RSA_TEST_KEY_PEM.as_bytes()).unwrap();
    let parties: Vec<Value> = parties
        .all()
        .into_iter()
        .map(|party| {
            json!({
                "name": party.name,
                "seed_label": format!("semper-vectors/key/{}", party.name),
                "seed": hex_of(&party.seed),
                "public_key": hex_of(party.key.verifying_key().as_bytes()),
            })
        })
        .collect();
    json!({
        "about": "Every key of the vectors. Ed25519 keys are RFC 8032 keys made from their 32-byte seed; \
                  each seed is derive(seed_label, 32), where derive(label, len) is the first len bytes of \
                  SHA-256(label || 0u32) || SHA-256(label || 1u32) || ... (counters big-endian). The RSA key \
                  is a fixed 2048-bit test key: its numbers are big-endian hex; public_key_der is the canonical \
                  PKCS#1 RSAPublicKey DER, as a denomination carries it. Test keys only: never use them.",
        "ed25519": parties,
        "rsa": {
            "bits": 2048,
            "n": hex_of(&openssl.n().to_vec()),
            "e": hex_of(&openssl.e().to_vec()),
            "d": hex_of(&openssl.d().to_vec()),
            "p": hex_of(&openssl.p().unwrap().to_vec()),
            "q": hex_of(&openssl.q().unwrap().to_vec()),
            "public_key_der": hex_of(rsa.public_key().der()),
            "private_key_pem": RSA_TEST_KEY_PEM,
        },
    })
}

/// `primitives.json`: the encoding's building blocks, one value each.
pub fn primitives() -> Value {
    let bytes = |write: &dyn Fn(&mut Writer)| {
        let mut writer = Writer::new();
        write(&mut writer);
        writer.into_bytes()
    };
    let amount = |text: &str| text.parse::<Amount>().unwrap();
    let vectors = vec![
        raw("u8 7", json!(7), &bytes(&|w| w.u8(7))),
        raw("u32 258", json!(258), &bytes(&|w| w.u32(258))),
        raw(
            "u64 timestamp 1800000000000 (2027-01-15T08:00:00Z)",
            json!(NOW.unix_ms()),
            &NOW.to_bytes(),
        ),
        raw(
            "i64 -250 (a net position)",
            json!(-250),
            &(-250i64).to_bytes(),
        ),
        encoded("amount EUR:12.50", &amount("EUR:12.50")),
        encoded("amount JPY:500 (no minor digits)", &amount("JPY:500")),
        encoded(
            "amount BHD:1.250 (three minor digits)",
            &amount("BHD:1.250"),
        ),
        raw(
            "byte string \"denomination.revoked\" (a refusal code)",
            json!("denomination.revoked"),
            &bytes(&|w| w.bytes(b"denomination.revoked")),
        ),
        raw(
            "option: absent",
            Value::Null,
            &Option::<semper_protocol::time::Timestamp>::None.to_bytes(),
        ),
        raw(
            "option: present timestamp",
            json!(NOW.unix_ms()),
            &Some(NOW).to_bytes(),
        ),
        raw(
            "list of 16-byte ids: empty",
            json!([]),
            &bytes(&|w| w.list::<BatchId>(&[])),
        ),
        raw(
            "list of 16-byte ids: two",
            json!([BatchId([0x55; 16]), BatchId([0x56; 16])]),
            &bytes(&|w| w.list(&[BatchId([0x55; 16]), BatchId([0x56; 16])])),
        ),
        raw(
            "domain header of semper/deposit-permission version 1",
            json!({"domain": "semper/deposit-permission", "version": 1}),
            &bytes(&|w| w.domain::<DepositPermission>()),
        ),
    ];
    plain_file(
        "The building blocks of the canonical encoding (docs/protocol.md, Encoding). `value` is the \
         value's JSON form; `encoding` its bytes.",
        vectors,
    )
}

/// The denomination of the vectors: EUR:1.00 under the RSA test key.
pub fn denomination(rsa: &DenominationSecretKey) -> Denomination {
    Denomination::new(DenominationFields {
        issuer: ISSUER,
        value: "EUR:1.00".parse().unwrap(),
        public_key: rsa.public_key().clone(),
        valid_from: Timestamp::from_unix_ms(NOW.unix_ms() - 3_600_000),
        withdraw_until: at(86_400_000),
        deposit_until: at(86_400_000 + 604_800_000),
        retain_until: at(86_400_000 + 604_800_000 + 2_592_000_000),
        // Fees that are not all zero, so that their encoding shows.
        fees: DenominationFees {
            withdraw: "EUR:0.01".parse().unwrap(),
            deposit: "EUR:0.02".parse().unwrap(),
            swap: "EUR:0.03".parse().unwrap(),
            refund: "EUR:0.00".parse().unwrap(),
        },
    })
    .unwrap()
}

/// `denomination.json` and `denomination-set.json`.
pub fn denominations(parties: &Parties, denomination: &Denomination) -> (Value, Value) {
    let mut vector = encoded("EUR:1.00 under the RSA-2048 test key", denomination);
    let id = denomination.id();
    assert_eq!(id.0, sha256(&[&denomination.to_bytes()]));
    vector
        .as_object_mut()
        .unwrap()
        .insert("id".into(), hex_of(&id.0).into());
    let one = message_file::<Denomination>(
        None,
        "A denomination, as it appears in the issuer's denomination set. Its id is the SHA-256 of its \
         encoding (`sha256` here, repeated as `id`).",
        vec![vector],
    );
    let set = |revoked: Vec<DenominationId>| {
        DenominationSet::new(DenominationSetFields {
            issuer: ISSUER,
            sequence: 1,
            issued_at: Timestamp::from_unix_ms(NOW.unix_ms() - 3_600_000),
            denominations: vec![denomination.clone()].try_into().unwrap(),
            revoked: revoked.try_into().unwrap(),
        })
        .unwrap()
    };
    let (_, current) = signed(
        "one denomination, none revoked",
        set(vec![]),
        &parties.master,
    );
    let (_, revoking) = signed(
        "one denomination, one other revoked",
        set(vec![DenominationId([0xee; 32])]),
        &parties.master,
    );
    let sets = message_file::<DenominationSet>(
        Some("the issuer's master key"),
        "The issuer's denomination set: GET /v1/issuer/denominations answers the signed form \
         {\"body\", \"signature\"}.",
        vec![current, revoking],
    );
    (one, sets)
}

/// `coin.json`, `withdraw-request.json`, `withdraw-response.json`, `coin` and the permissions:
/// a full withdrawal of two coins and their payment.
pub fn withdrawal(
    parties: &Parties,
    rsa: &DenominationSecretKey,
    denomination: &Denomination,
) -> (Vec<(&'static str, Value)>, WalletSide) {
    let openssl = openssl::rsa::Rsa::private_key_from_pem(RSA_TEST_KEY_PEM.as_bytes()).unwrap();
    let numbers = RsaNumbers {
        n: openssl.n().to_owned().unwrap(),
        e: openssl.e().to_owned().unwrap(),
        d: openssl.d().to_owned().unwrap(),
    };
    let public = rsa.public_key();
    let mut coin_vectors = Vec::new();
    let mut blinded_coins = Vec::new();
    let mut blind_signatures = Vec::new();
    let mut coins = Vec::new();
    let mut r_inv = Vec::new();
    for (index, party) in parties.coins.iter().enumerate() {
        let coin_key = *party.key.verifying_key();
        let message = CoinMessage {
            denomination: denomination.id(),
            public_key: coin_key,
        };
        let message_bytes = message.to_bytes();
        assert_eq!(
            message_bytes,
            Coin::message_for(denomination.id(), coin_key)
        );
        let salt_label = format!("semper-vectors/blind/coin-{index}/salt");
        let r_label = format!("semper-vectors/blind/coin-{index}/r");
        let salt = derive(&salt_label, 48);
        let mut r = derive(&r_label, public.modulus_bytes());
        // Two top bits cleared: r < 2^2046 < n, so the library takes it at its first draw.
        r[0] &= 0x3f;
        let mut r_little_endian = r.clone();
        r_little_endian.reverse();
        let mut rng = ReplayRng(vec![salt.clone(), r_little_endian]);
        let (blinded, secret) = public.blind(&mut rng, &message_bytes).unwrap();
        assert!(rng.0.is_empty(), "blinding drew the salt and r");
        let blind_signature = rsa.blind_sign(&blinded).unwrap();
        let signature = public
            .finalize(&blind_signature, &secret, &message_bytes)
            .unwrap();
        let formulas = by_the_formulas(&numbers, &message_bytes, &salt, &r);
        assert_eq!(formulas.blinded, blinded.0, "coin {index}: blinded");
        assert_eq!(formulas.blind_signature, blind_signature.0);
        assert_eq!(formulas.signature, signature.0, "coin {index}: signature");
        public.verify(&message_bytes, &signature).unwrap();
        public
            .verify_openssl_evp(&message_bytes, &signature)
            .unwrap();
        let coin = Coin {
            denomination: denomination.id(),
            public_key: coin_key,
            signature: RsaSignature(signature.0.clone()),
        };
        coin.verify(denomination).unwrap();
        coin_vectors.push(json!({
            "name": format!("coin {index}: EUR:1.00, key {}", party.name),
            "coin_key": party.name,
            "denomination": hex_of(&denomination.id().0),
            "coin_public_key": hex_of(coin_key.as_bytes()),
            "message": hex_of(&message_bytes),
            "message_sha384": hex_of(&Sha384::digest(&message_bytes)),
            "salt_label": salt_label,
            "salt": hex_of(&salt),
            "r_label": r_label,
            "r": hex_of(&r),
            "r_inv": hex_of(&formulas.r_inv),
            "encoded_message": hex_of(&formulas.encoded_message),
            "blinded_message": hex_of(&blinded.0),
            "blind_signature": hex_of(&blind_signature.0),
            "signature": hex_of(&signature.0),
            "coin": encoded("the coin", &coin),
        }));
        r_inv.push(formulas.r_inv.clone());
        blinded_coins.push(BlindedCoin {
            denomination: denomination.id(),
            blinded,
        });
        blind_signatures.push(blind_signature);
        coins.push(coin);
    }
    let coin_file = json!({
        "domain": "semper/coin",
        "version": 1,
        "domain_header": hex_of(&crate::out::domain_header::<CoinMessage>()),
        "signed_by": "the denomination's RSA key, blindly (RFC 9474 RSABSSA-SHA384-PSS-Deterministic)",
        "about": "A coin's blind signature, step by step. `message` is the encoding of the coin message \
                  (domain tag, denomination id, coin public key); encoded_message = \
                  EMSA-PSS-ENCODE(message, salt) with SHA-384, MGF1-SHA-384, 48-byte salt; \
                  blinded_message = encoded_message * r^e mod n; blind_signature = blinded_message^d mod n; \
                  signature = blind_signature * r_inv mod n, an RSASSA-PSS signature of message. Every RSA \
                  value is big-endian, as long as the modulus. `coin` is the finished coin, as a deposit \
                  permission carries it.",
        "vectors": coin_vectors,
    });

    let (signed_withdrawal, request) = signed(
        "two coins of EUR:1.00",
        WithdrawRequest {
            account: ACCOUNT,
            request_id: WITHDRAW_ID,
            coins: blinded_coins.clone().try_into().unwrap(),
        },
        &parties.account,
    );
    let request_file = message_file::<WithdrawRequest>(
        Some("the account's key"),
        "A withdrawal: POST /v1/issuer/withdraw takes the signed form {\"body\", \"signature\"}. The \
         blinded messages are those of coin.json.",
        vec![request],
    );
    let response = WithdrawResponse {
        request_id: WITHDRAW_ID,
        blind_signatures: blind_signatures.clone().try_into().unwrap(),
    };
    let response_file = message_file::<WithdrawResponse>(
        None,
        "The issuer's answer to the withdrawal: one blind signature per coin, in order (unsigned: the \
         wallet checks each coin's final signature).",
        vec![encoded("the blind signatures of coin.json", &response)],
    );

    let paid = contract("semper vectors: contract 1");
    let permission = |coin: &Coin, contract_hash: ContractHash| DepositPermission {
        coin: coin.clone(),
        contract_hash,
        merchant: MERCHANT,
        acquirer: ACQUIRER,
        amount: denomination.value(),
        timestamp: NOW,
    };
    let mut permission_vectors = Vec::new();
    let mut permissions = Vec::new();
    for (index, coin) in coins.iter().enumerate() {
        let (signed_permission, vector) = signed(
            &format!("coin {index} pays EUR:1.00 for contract 1"),
            permission(coin, paid),
            &parties.coins[index],
        );
        permissions.push(signed_permission);
        permission_vectors.push(vector);
    }
    // Coin 1 given in for change: for the first blinded coin of coin.json (the vector is about
    // the encoding; a real swap's outputs are worth the coins less their swap fees).
    let outputs: SwapOutputs = blinded_coins[..1].to_vec().try_into().unwrap();
    let (swapped, swap_permission) = signed(
        "coin 1 given in to swap SWAP_ID",
        SwapPermission {
            coin: coins[1].clone(),
            request_id: SWAP_ID,
            outputs: outputs_digest(&outputs),
        },
        &parties.coins[1],
    );
    let swap_permission_file = message_file::<SwapPermission>(
        Some("the coin's key (coin.public_key)"),
        "A swap permission: the coin's consent to be given in to one swap (change) request.          outputs is SHA-256 of the encoding of the request's outputs (a list of blinded coins).",
        vec![swap_permission],
    );
    let swap_request = SwapRequest {
        request_id: SWAP_ID,
        coins: vec![swapped.clone()].try_into().unwrap(),
        outputs,
    };
    let swap_request_file = message_file::<SwapRequest>(
        None,
        "A swap: POST /v1/issuer/swap takes it unsigned; each coin's permission inside is signed          by its coin key and binds the request id and the outputs.",
        vec![encoded("coin 1 for one blinded coin", &swap_request)],
    );
    let swap_response = SwapResponse {
        request_id: SWAP_ID,
        blind_signatures: blind_signatures[..1].to_vec().try_into().unwrap(),
    };
    let swap_response_file = message_file::<SwapResponse>(
        None,
        "The issuer's answer to a swap: one blind signature per output, in order.",
        vec![encoded("the blind signature of the output", &swap_response)],
    );
    let (respent, vector) = signed(
        "coin 0 paid again, for contract 2 (a double spend of the first vector)",
        permission(&coins[0], contract("semper vectors: contract 2")),
        &parties.coins[0],
    );
    permission_vectors.push(vector);
    let permission_file = message_file::<DepositPermission>(
        Some("the coin's key (coin.public_key)"),
        "A deposit permission: the coin's consent to pay one merchant through one acquirer. \
         contract_hash is SHA-256 of the merchant's contract bytes, here the ASCII text \
         \"semper vectors: contract 1\" (and \"... 2\").",
        permission_vectors,
    );

    let (signed_deposit, deposit) = signed(
        "the merchant deposits both coins",
        DepositRequest {
            merchant: MERCHANT,
            deposit_id: DEPOSIT_ID,
            permissions: permissions.clone().try_into().unwrap(),
            refund_deadline: at(86_400_000),
        },
        &parties.merchant,
    );
    let deposit_file = message_file::<DepositRequest>(
        Some("the merchant's key"),
        "A deposit: POST /v1/acquirer/deposits takes the signed form {\"body\", \"signature\"}. Each \
         permission inside is itself a signed message (body ‖ signature).",
        vec![deposit],
    );
    let answered = |results: Vec<DepositResult>| DepositResponse {
        merchant: MERCHANT,
        deposit_id: DEPOSIT_ID,
        results: results.try_into().unwrap(),
    };
    let response_vectors = vec![
        encoded(
            "both coins accepted",
            &answered(vec![DepositResult::Accepted, DepositResult::Accepted]),
        ),
        encoded(
            "every kind of result: replay, conflict with proof, refused",
            &answered(vec![
                DepositResult::Replay,
                DepositResult::Conflict {
                    earlier: Box::new(respent.clone()),
                },
                DepositResult::Refused {
                    code: "denomination.revoked".into(),
                },
            ]),
        ),
        encoded(
            "coin 1 was swapped before: the swap permission as proof",
            &answered(vec![DepositResult::Swapped {
                earlier: Box::new(swapped.clone()),
            }]),
        ),
        encoded(
            "coin 1 was recouped before: the recoup permission as proof",
            &answered(vec![DepositResult::Recouped {
                earlier: Box::new(crate::recoup::permission(parties, &coins[1]).0),
            }]),
        ),
    ];
    let deposit_response_file = message_file::<DepositResponse>(
        None,
        "The results of a deposit, one per permission, as the acquirer keeps them. Unsigned: over HTTP \
         they travel inside the acquirer's signed deposit answer (deposit-answer.json); a \
         conflict's proof is checked on its own (docs/protocol.md).",
        response_vectors,
    );

    let files = vec![
        ("coin", coin_file),
        ("withdraw-request", request_file),
        ("withdraw-response", response_file),
        ("deposit-permission", permission_file),
        ("deposit-request", deposit_file),
        ("deposit-response", deposit_response_file),
        ("swap-permission", swap_permission_file),
        ("swap-request", swap_request_file),
        ("swap-response", swap_response_file),
    ];
    let side = WalletSide {
        permissions,
        respent,
        deposit: signed_deposit,
        withdrawal: signed_withdrawal.body().clone(),
        coins,
        r_inv,
    };
    (files, side)
}
