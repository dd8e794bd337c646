#!/usr/bin/env python3
"""Checks every known-answer vector with an encoder written from docs/protocol.md alone.

For each vector it encodes the JSON `value` by the specification's tables and compares the bytes
with `encoding`, checks `sha256`, verifies the Ed25519 `signature` and re-signs with the seed of
keys.json; for coin.json it redoes RFC 9474's blind RSA steps. Needs Python 3.9+ and the
`cryptography` package. Run: python3 docs/vectors/check.py
"""

import hashlib
import json
import pathlib
import struct
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

HERE = pathlib.Path(__file__).resolve().parent
DIGITS = {"AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
          "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
          "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PLN": 2, "RON": 2,
          "SEK": 2, "SGD": 2, "TND": 3, "USD": 2, "ZAR": 2}


def u8(n): return struct.pack(">B", n)
def u32(n): return struct.pack(">I", n)
def u64(n): return struct.pack(">Q", n)
def i64(n): return struct.pack(">q", n)
def fixed(h, n): b = bytes.fromhex(h); assert len(b) == n; return b
def var(b): return u32(len(b)) + b
def lst(items, enc): return u32(len(items)) + b"".join(enc(i) for i in items)
def header(tag): return u8(len(tag)) + tag.encode() + u8(1)


def amount(text):
    code, number = text.split(":")
    units, _, minor = number.partition(".")
    digits = DIGITS[code]
    assert len(minor) <= digits
    return code.encode() + u64(int(units) * 10 ** digits + int((minor or "0").ljust(digits, "0")))


def denomination(v):
    return (header("semper/denomination") + fixed(v["issuer"], 16) + amount(v["value"])
            + var(bytes.fromhex(v["public_key"])) + u64(v["valid_from"]) + u64(v["withdraw_until"])
            + u64(v["deposit_until"]) + u64(v["retain_until"]))


def denomination_set(v):
    return (header("semper/denomination-set") + fixed(v["issuer"], 16) + u64(v["sequence"])
            + u64(v["issued_at"]) + lst(v["denominations"], denomination)
            + lst(v["revoked"], lambda i: fixed(i, 32)))


def signed(enc):
    return lambda s: enc(s["body"]) + fixed(s["signature"], 64)


def coin(v):
    return fixed(v["denomination"], 32) + fixed(v["public_key"], 32) + var(bytes.fromhex(v["signature"]))


def withdraw_request(v):
    blinded = lambda c: fixed(c["denomination"], 32) + var(bytes.fromhex(c["blinded"]))
    return (header("semper/withdraw-request") + fixed(v["account"], 16) + fixed(v["request_id"], 16)
            + lst(v["coins"], blinded))


def withdraw_response(v):
    return (header("semper/withdraw-response") + fixed(v["request_id"], 16)
            + lst(v["blind_signatures"], lambda s: var(bytes.fromhex(s))))


def permission(v):
    return (header("semper/deposit-permission") + coin(v["coin"]) + fixed(v["contract_hash"], 32)
            + fixed(v["merchant"], 16) + fixed(v["acquirer"], 16) + amount(v["amount"]) + u64(v["timestamp"]))


def deposit_request(v):
    return (header("semper/deposit-request") + fixed(v["merchant"], 16) + fixed(v["deposit_id"], 16)
            + lst(v["permissions"], signed(permission)))


def spend_result(r):
    kind = r["result"]
    if kind == "accepted": return u8(0)
    if kind == "replay": return u8(1)
    if kind == "conflict": return u8(2) + signed(permission)(r["earlier"])
    assert kind == "refused"
    return u8(3) + var(r["code"].encode())


def deposit_response(v):
    return (header("semper/deposit-response") + fixed(v["merchant"], 16) + fixed(v["deposit_id"], 16)
            + lst(v["results"], spend_result))


def deposit_answer(v):
    return (header("semper/deposit-answer") + fixed(v["acquirer"], 16) + fixed(v["merchant"], 16)
            + fixed(v["deposit_id"], 16) + fixed(v["request_digest"], 32) + lst(v["results"], spend_result))


def open_account(v):
    assert v["currency"] in DIGITS
    return (header("semper/open-account") + fixed(v["account"], 16) + fixed(v["public_key"], 32)
            + v["currency"].encode())


def read_request(v):
    subject = {"account": u8(0), "merchant": u8(1)}[v["subject"]["kind"]] + fixed(v["subject"]["id"], 16)
    path = v["path"].encode()
    assert len(path) <= 256
    return header("semper/read-request") + subject + var(path) + u64(v["at"])


def credited(answer, request):
    """What a deposit answer credits (§7.19): the accepted permissions' amounts, per currency."""
    total = {}
    for result, signed_permission in zip(answer["results"], request["permissions"]):
        if result["result"] == "accepted":
            code = signed_permission["body"]["amount"].split(":")[0]
            total[code] = total.get(code, 0) + int.from_bytes(amount(signed_permission["body"]["amount"])[3:], "big")
    return total


def verify_deposit_answer(signed_answer, acquirer, acquirer_key, signed_request):
    """The merchant's check of a deposit answer (§7.19); raises on any failure, returns `credited`."""
    body = signed_answer["body"]
    ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(acquirer_key)).verify(
        bytes.fromhex(signed_answer["signature"]), deposit_answer(body))
    assert body["acquirer"] == acquirer, "deposit_answer.wrong_acquirer"
    sent = signed_request["body"]
    assert (body["merchant"], body["deposit_id"]) == (sent["merchant"], sent["deposit_id"]), \
        "deposit_answer.wrong_request"
    assert body["request_digest"] == hashlib.sha256(deposit_request(sent)).hexdigest(), "deposit_answer.wrong_request"
    assert len(body["results"]) == len(sent["permissions"]), "deposit_answer.wrong_count"
    return credited(body, sent)


def spend_check_batch(v):
    return (header("semper/spend-check-batch") + fixed(v["acquirer"], 16) + fixed(v["batch_id"], 16)
            + lst(v["permissions"], signed(permission)))


def confirmation(v):
    entry = lambda e: (fixed(e["coin"], 32) + fixed(e["denomination"], 32) + amount(e["amount"])
                       + fixed(e["permission"], 32))
    return (header("semper/spend-confirmation") + fixed(v["issuer"], 16) + fixed(v["acquirer"], 16)
            + fixed(v["batch_id"], 16) + u64(v["confirmed_at"]) + lst(v["entries"], entry))


def spend_check_response(v):
    c = v["confirmation"]
    option = u8(0) if c is None else u8(1) + signed(confirmation)(c)
    return (header("semper/spend-check-response") + fixed(v["batch_id"], 16)
            + lst(v["results"], spend_result) + option)


def submission(v):
    return (header("semper/settlement-submission") + fixed(v["acquirer"], 16) + fixed(v["submission_id"], 16)
            + u64(v["submitted_at"]) + lst(v["confirmations"], signed(confirmation)))


def claim(c):
    if c["result"] == "claimed": return u8(0)
    if c["result"] == "already_claimed": return u8(1) + fixed(c["acquirer"], 16) + fixed(c["submission_id"], 16)
    return u8(2) + var(c["code"].encode())


def receipt(v):
    return (header("semper/submission-receipt") + fixed(v["clearing"], 16) + fixed(v["acquirer"], 16)
            + fixed(v["submission_id"], 16) + fixed(v["cycle"], 16) + u64(v["cycle_sequence"])
            + u64(v["received_at"]) + lst(v["claims"], claim))


def report(v):
    obligation = lambda o: (fixed(o["issuer"], 16) + fixed(o["acquirer"], 16) + amount(o["amount"])
                            + lst(o["confirmations"], lambda b: fixed(b, 16)))
    position = lambda p: fixed(p["bank"], 16) + p["currency"].encode() + i64(p["net_minor_units"])
    return (header("semper/settlement-report") + fixed(v["clearing"], 16) + fixed(v["cycle"], 16)
            + u64(v["sequence"]) + u64(v["cutoff_at"]) + lst(v["obligations"], obligation)
            + lst(v["net_positions"], position))


ENCODERS = {
    "denomination": denomination, "denomination-set": denomination_set,
    "withdraw-request": withdraw_request, "withdraw-response": withdraw_response,
    "deposit-permission": permission, "deposit-request": deposit_request,
    "deposit-response": deposit_response, "deposit-answer": deposit_answer,
    "open-account": open_account, "read-request": read_request, "spend-check-batch": spend_check_batch,
    "spend-confirmation": confirmation, "spend-check-response": spend_check_response,
    "settlement-submission": submission, "submission-receipt": receipt, "settlement-report": report,
}


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
    # A settlement report's net positions are the netting of its obligations (§7.15).
    for v in load("settlement-report")["vectors"]:
        net = {}
        for o in v["value"]["obligations"]:
            code, minor = o["amount"].split(":")[0], int.from_bytes(amount(o["amount"])[3:], "big")
            net[(o["issuer"], code)] = net.get((o["issuer"], code), 0) - minor
            net[(o["acquirer"], code)] = net.get((o["acquirer"], code), 0) + minor
        expected = [{"bank": b, "currency": c, "net_minor_units": n} for (b, c), n in sorted(net.items()) if n]
        assert v["value"]["net_positions"] == expected
    denomination_id = load("denomination")["vectors"][0]["sha256"]
    check_coins(keys, denomination_id)
    print(f"{checked} vectors and the blind RSA steps check out")


if __name__ == "__main__":
    sys.exit(main())
