#!/usr/bin/env python3
"""Checks every known-answer vector with an encoder written from docs/protocol.md alone.

The encoder is the Python wallet's (wallets/python/semper_wallet), whose own tests check the same
vectors through its wallet-side code; this script is the standalone check `make test` runs first.

For each vector it encodes the JSON `value` by the specification's tables and compares the bytes
with `encoding`, checks `sha256`, verifies the Ed25519 `signature` and re-signs with the seed of
keys.json; for coin.json it redoes RFC 9474's blind RSA steps. Needs Python 3.9+ and the
`cryptography` package. Run: python3 docs/vectors/check.py
"""

import hashlib
import json
import pathlib
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

HERE = pathlib.Path(__file__).resolve().parent
# The encoders and checks are the Python wallet's (wallets/python), written from the same document.
sys.path.insert(0, str(HERE.parents[1] / "wallets" / "python"))
from semper_wallet.checks import deposit_answer as verify_deposit_answer  # noqa: E402
from semper_wallet.encoding import (  # noqa: E402,F401
    DIGITS, ENCODERS, amount, coin, confirmation, deposit_request, denomination, denomination_set,
    fixed, header, lst, open_account, permission, read_request, recoup_permission, report, signed,
    u8, u32, u64, var, withdraw_request)


def load(name):
    return json.loads((HERE / f"{name}.json").read_text())


def check_coins(keys, denomination_id):
    rsa = keys["rsa"]
    n, e, d = (int(rsa[k], 16) for k in ("n", "e", "d"))
    private = serialization.load_pem_private_key(rsa["private_key_pem"].encode(), None)
    public = private.public_key()
    assert public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.PKCS1) == \
        bytes.fromhex(rsa["public_key_der"])
    length = (n.bit_length() + 7) // 8
    for v in load("coin")["vectors"]:
        message = header("semper/coin") + fixed(v["denomination"], 32) + fixed(v["coin_public_key"], 32)
        assert message.hex() == v["message"] and len(message) == 77
        assert v["denomination"] == denomination_id
        r = int(v["r"], 16)
        em = int(v["encoded_message"], 16)
        blinded = em * pow(r, e, n) % n
        assert blinded.to_bytes(length, "big").hex() == v["blinded_message"]
        blind_sig = pow(blinded, d, n)
        assert blind_sig.to_bytes(length, "big").hex() == v["blind_signature"]
        assert pow(r, -1, n).to_bytes(length, "big").hex() == v["r_inv"]
        sig = blind_sig * pow(r, -1, n) % n
        sig_bytes = sig.to_bytes(length, "big")
        assert sig_bytes.hex() == v["signature"]
        assert pow(sig, e, n) == em
        public.verify(sig_bytes, message, padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=48),
                      hashes.SHA384())
        assert coin(v["coin"]["value"]).hex() == v["coin"]["encoding"]
        # The salt is the one the encoded message carries (EMSA-PSS, salt at the end of DB).
        h = bytes.fromhex(v["encoded_message"])[-49:-1]
        mask = b"".join(hashlib.sha384(h + u32(i)).digest() for i in range(6))[: length - 49]
        db = bytes(a ^ b for a, b in zip(bytes.fromhex(v["encoded_message"])[: length - 49], mask))
        assert db[-48:].hex() == v["salt"]


def main():
    keys = load("keys")
    seeds = {k["name"]: bytes.fromhex(k["seed"]) for k in keys["ed25519"]}
    checked = 0
    for name, encode in ENCODERS.items():
        file = load(name)
        for v in file["vectors"]:
            encoding = encode(v["value"])
            assert encoding.hex() == v["encoding"], f"{name}: {v['name']}: encoding"
            assert hashlib.sha256(encoding).hexdigest() == v["sha256"], f"{name}: sha256"
            if "signature" in v:
                key = ed25519.Ed25519PrivateKey.from_private_bytes(seeds[v["signer"]])
                public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
                assert public.hex() == v["signer_public_key"]
                assert key.sign(encoding).hex() == v["signature"], f"{name}: signature"
                assert (encoding + bytes.fromhex(v["signature"])).hex() == v["signed_encoding"]
            checked += 1
    submission_signed = bytes.fromhex(load("settlement-submission")["vectors"][0]["signed_encoding"])
    for v in load("link-request")["vectors"]:
        kind = v["value"]["kind"]
        fields = {0: b"", 2: submission_signed,
                  3: u64(v["value"].get("after_sequence", 0)) + u32(v["value"].get("limit", 0))}[kind]
        assert (header("semper/link-request") + u8(kind) + fields).hex() == v["encoding"], v["name"]
        checked += 1
    for v in load("ed25519")["vectors"]:
        if "signature" not in v:
            continue  # key parsing: `cryptography` does not expose the point checks of §6.1
        key = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(v["public_key"]))
        try:
            key.verify(bytes.fromhex(v["signature"]), bytes.fromhex(v["message"]))
            verdict = "ok"
        except Exception:
            verdict = "refused"
        assert (verdict == "ok") == (v["expected"] == "ok"), v["name"]
        checked += 1
    # A conflict's proof (§10.4): same coin, another body digest, signed by the coin's key.
    paid = load("deposit-permission")["vectors"][0]["value"]
    for result in load("deposit-response")["vectors"][1]["value"]["results"]:
        if result["result"] != "conflict":
            continue
        earlier = result["earlier"]
        assert earlier["body"]["coin"]["denomination"] == paid["coin"]["denomination"]
        assert earlier["body"]["coin"]["public_key"] == paid["coin"]["public_key"]
        assert hashlib.sha256(permission(earlier["body"])).digest() != hashlib.sha256(permission(paid)).digest()
        ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(paid["coin"]["public_key"])).verify(
            bytes.fromhex(earlier["signature"]), permission(earlier["body"]))
    # A recoup (§7.26): the coin, blinded again with r⁻¹ (sig^e · r^e mod n), is the blinded
    # message its withdrawal carries at its index; its permission names the withdrawal's account
    # and is signed by the coin's key.
    rsa = keys["rsa"]
    n, e = int(rsa["n"], 16), int(rsa["e"], 16)
    length = (n.bit_length() + 7) // 8
    for v in load("recoup-request")["vectors"]:
        body = v["value"]
        consent = body["permission"]["body"]
        assert consent["account"] == body["withdrawal"]["account"], v["name"]
        r = pow(int(body["blinding"], 16), -1, n)
        blinded = pow(int(consent["coin"]["signature"], 16), e, n) * pow(r, e, n) % n
        slot = body["withdrawal"]["coins"][body["index"]]
        assert blinded.to_bytes(length, "big").hex() == slot["blinded"], v["name"]
        ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(consent["coin"]["public_key"])).verify(
            bytes.fromhex(body["permission"]["signature"]), recoup_permission(consent))
        checked += 1
    # The merchant's check of the acquirer's deposit answers (§7.19), and what they credit.
    request = load("deposit-request")["vectors"][0]
    signed_request = {"body": request["value"], "signature": request["signature"]}
    acquirer_key = next(k["public_key"] for k in keys["ed25519"] if k["name"] == "acquirer-bank")
    for v in load("deposit-answer")["vectors"]:
        assert v["signer_public_key"] == acquirer_key
        signed_answer = {"body": v["value"], "signature": v["signature"]}
        total = verify_deposit_answer(signed_answer, v["value"]["acquirer"], acquirer_key, signed_request)
        assert {a.split(":")[0]: int.from_bytes(amount(a)[3:], "big") for a in v["credited"]} == total, v["name"]
    # An account opening is signed by the key it registers (§7.17).
    for v in load("open-account")["vectors"]:
        assert v["signer_public_key"] == v["value"]["public_key"]
    # A signed read names the subject its path names (§7.18).
    for v in load("read-request")["vectors"]:
        kind, subject = v["value"]["subject"]["kind"], v["value"]["subject"]["id"]
        prefix = {"account": "/v1/issuer/accounts/", "merchant": "/v1/acquirer/merchants/"}[kind]
        assert v["value"]["path"].startswith(prefix + subject), v["name"]
    # A settlement report's net positions are the netting of its obligations, from issuer to
    # acquirer, and of its refund obligations, from acquirer to issuer (§7.15).
    for v in load("settlement-report")["vectors"]:
        net = {}
        moves = [(o["issuer"], o["acquirer"], o["amount"]) for o in v["value"]["obligations"]]
        moves += [(r["acquirer"], r["issuer"], r["amount"]) for r in v["value"]["refunds"]]
        for payer, payee, text in moves:
            code, minor = text.split(":")[0], int.from_bytes(amount(text)[3:], "big")
            net[(payer, code)] = net.get((payer, code), 0) - minor
            net[(payee, code)] = net.get((payee, code), 0) + minor
        expected = [{"bank": b, "currency": c, "net_minor_units": n} for (b, c), n in sorted(net.items()) if n]
        assert v["value"]["net_positions"] == expected
    denomination_id = load("denomination")["vectors"][0]["sha256"]
    check_coins(keys, denomination_id)
    print(f"{checked} vectors and the blind RSA steps check out")


if __name__ == "__main__":
    sys.exit(main())
