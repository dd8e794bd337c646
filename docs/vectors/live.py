"""A wallet and a merchant written from docs/protocol.md alone, against a running embedded default.

Opens an account with a signed opening, withdraws two coins, pays and deposits them, checks the
acquirer's signed deposit answers, meets a double spend and checks its proof, reads the account,
the merchant and a deposit's status with signed reads, then settles and checks the report. Python 3.11+ and `cryptography`. With `semper run` running:

    TOKEN=$(cat data/operator-token) python3 docs/vectors/live.py

BASE (default http://127.0.0.1:8080) is the node's HTTP address, DATA (default ./data) its data
directory, whose cards stand in for the keys a real wallet would pin out of band.
"""
import hashlib, json, os, pathlib, secrets, sys, time, tomllib, urllib.request

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from check import (header, fixed, denomination, denomination_set, withdraw_request, permission,
                   deposit_request, report, open_account, read_request, verify_deposit_answer)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding

BASE = os.environ.get("BASE", "http://127.0.0.1:8080")
DATA = os.environ.get("DATA", "data")
TOKEN = os.environ["TOKEN"]
RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def call(method, path, body=None, operator=False, authorization=None):
    req = urllib.request.Request(BASE + path, method=method,
                                 data=None if body is None else json.dumps(body).encode())
    req.add_header("Content-Type", "application/json")
    if operator:
        req.add_header("Authorization", "Bearer " + TOKEN)
    if authorization:
        req.add_header("Authorization", authorization)
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def read(path, kind, subject, key):
    """GET path with a signed read (§7.18) by the key of the account or merchant it names."""
    at = int(time.time() * 1000)
    body = {"subject": {"kind": kind, "id": subject}, "path": path, "at": at}
    return call("GET", path, authorization=f"Semper-Read {at}.{key.sign(read_request(body)).hex()}")


def card(bank):
    return tomllib.loads(open(f"{DATA}/{bank}/card.toml").read())


def pub(key): return key.public_key().public_bytes(*RAW).hex()


def mgf1(seed, n):
    return b"".join(hashlib.sha384(seed + i.to_bytes(4, "big")).digest() for i in range(n // 48 + 1))[:n]


def pss_encode(msg, salt, bits):
    em_len = (bits - 1 + 7) // 8
    h = hashlib.sha384(b"\0" * 8 + hashlib.sha384(msg).digest() + salt).digest()
    db = b"\0" * (em_len - 48 - 48 - 2) + b"\x01" + salt
    masked = bytearray(a ^ b for a, b in zip(db, mgf1(h, len(db))))
    masked[0] &= 0xff >> (8 * em_len - (bits - 1))
    return bytes(masked) + h + b"\xbc"


# 1. The node's keys (GET /v1/keys) agree with the pinned cards; the denomination set, checked
# against the pinned master key, and the served ids against the computed ones.
status, keys = call("GET", "/v1/keys")
assert status == 200, keys
assert keys["issuer"] == {"bank": card("issuer")["id"], **card("issuer")["issuer"]}, keys
assert keys["acquirer"] == {"bank": card("acquirer")["id"], "bank_key": card("acquirer")["acquirer_key"]}, keys
assert keys["clearing"] == {"bank": card("clearing")["id"], "report_key": card("clearing")["clearing_key"]}, keys
status, sset = call("GET", "/v1/issuer/denominations")
assert status == 200, sset
master = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(card("issuer")["issuer"]["master_key"]))
master.verify(bytes.fromhex(sset["signature"]), denomination_set(sset["body"]))
now = int(time.time() * 1000)
usable = [d for d in sset["body"]["denominations"]
          if d["value"] == "EUR:1.00" and d["valid_from"] <= now < d["withdraw_until"]]
den = usable[0]
den_id = hashlib.sha256(denomination(den)).hexdigest()
assert all(d["id"] == hashlib.sha256(denomination(d)).hexdigest() for d in sset["body"]["denominations"])
rsa_pub = serialization.load_der_public_key(bytes.fromhex(den["public_key"]))  # PKCS#1 DER
n, e = rsa_pub.public_numbers().n, rsa_pub.public_numbers().e
size = (n.bit_length() + 7) // 8  # every RSA value is this long
print("1. set checked; denomination", den_id[:16])

# 2. Account.
account_key = ed25519.Ed25519PrivateKey.generate()
account = secrets.token_hex(16)
opening = {"account": account, "public_key": pub(account_key), "currency": "EUR"}
status, view = call("POST", "/v1/issuer/accounts",
                    {"body": opening, "signature": account_key.sign(open_account(opening)).hex()})
assert status == 200, view
assert call("POST", f"/v1/issuer/accounts/{account}/credit", {"reference": "spec-" + account, "amount": "EUR:10.00"}, True)[0] == 200
account_path = f"/v1/issuer/accounts/{account}"
assert call("GET", account_path)[0] == 401  # neither the operator nor the account's key
status, view = read(account_path, "account", account, account_key)
assert status == 200 and view["balance"] == "EUR:10.00", view
print("2. account opened (signed), credited EUR:10.00, balance read (signed read)")

# 3. Withdraw two coins.
coins = []
for _ in range(2):
    key = ed25519.Ed25519PrivateKey.generate()
    msg = header("semper/coin") + fixed(den_id, 32) + fixed(pub(key), 32)
    em = int.from_bytes(pss_encode(msg, secrets.token_bytes(48), n.bit_length()), "big")
    r = secrets.randbelow(n - 1) + 1
    blinded = em * pow(r, e, n) % n
    coins.append({"key": key, "msg": msg, "r": r, "blinded": blinded.to_bytes(size, "big").hex()})
body = {"account": account, "request_id": secrets.token_hex(16),
        "coins": [{"denomination": den_id, "blinded": c["blinded"]} for c in coins]}
sig = account_key.sign(withdraw_request(body)).hex()
status, answer = call("POST", "/v1/issuer/withdraw", {"body": body, "signature": sig})
assert status == 200, answer
for c, bs in zip(coins, answer["blind_signatures"]):
    s = int(bs, 16) * pow(c["r"], -1, n) % n
    c["sig"] = s.to_bytes(size, "big").hex()
    rsa_pub.verify(bytes.fromhex(c["sig"]), c["msg"], padding.PSS(padding.MGF1(hashes.SHA384()), 48), hashes.SHA384())
status, view = read(account_path, "account", account, account_key)
assert status == 200 and view["balance"] == "EUR:8.00", view
print("3. withdrew and checked", len(coins), "coins; balance", view["balance"])

# 4. Merchant, pay, deposit.
merchant_key = ed25519.Ed25519PrivateKey.generate()
merchant = secrets.token_hex(16)
assert call("POST", "/v1/acquirer/merchants", {"merchant": merchant, "public_key": pub(merchant_key)}, True)[0] == 200
# The acquirer's id and key, from the merchant's view (signed read), pinned against its card.
status, view = read(f"/v1/acquirer/merchants/{merchant}", "merchant", merchant, merchant_key)
assert status == 200, view
acquirer, acquirer_key = view["acquirer"], view["acquirer_key"]
assert (acquirer, acquirer_key) == (card("acquirer")["id"], card("acquirer")["acquirer_key"]), view


def pay(c, contract):
    body = {"coin": {"denomination": den_id, "public_key": pub(c["key"]), "signature": c["sig"]},
            "contract_hash": hashlib.sha256(contract).hexdigest(), "merchant": merchant,
            "acquirer": acquirer, "amount": "EUR:1.00", "timestamp": int(time.time() * 1000)}
    return {"body": body, "signature": c["key"].sign(permission(body)).hex()}


def deposit(permissions):
    """Deposits, and checks the acquirer's signed answer against the request sent (§7.19)."""
    body = {"merchant": merchant, "deposit_id": secrets.token_hex(16), "permissions": permissions}
    request = {"body": body, "signature": merchant_key.sign(deposit_request(body)).hex()}
    status, answer = call("POST", "/v1/acquirer/deposits", request)
    assert status == 200, answer
    return request, answer, verify_deposit_answer(answer, acquirer, acquirer_key, request)


first = [pay(c, b"order 1") for c in coins]
request, answer, credited = deposit(first)
assert [r["result"] for r in answer["body"]["results"]] == ["accepted", "accepted"], answer
assert credited == {"EUR": 200}, credited
status_path = f"/v1/acquirer/merchants/{merchant}/deposits/{request['body']['deposit_id']}"
status, view = read(status_path, "merchant", merchant, merchant_key)
assert status == 200 and view["status"] == "done", view
assert verify_deposit_answer(view["answer"], acquirer, acquirer_key, request) == credited
print("4. deposited, signed answer checked:", [r["result"] for r in answer["body"]["results"]],
      "; status read (signed read)")

# 5. Double spend, and its proof.
again = pay(coins[0], b"order 2")
_, answer, credited = deposit([again])
assert answer["body"]["results"][0]["result"] == "conflict" and credited == {}, answer
earlier = answer["body"]["results"][0]["earlier"]
assert earlier["body"]["coin"] == again["body"]["coin"]
assert permission(earlier["body"]) != permission(again["body"])
coins[0]["key"].public_key().verify(bytes.fromhex(earlier["signature"]), permission(earlier["body"]))
print("5. double spend refused with a proof that checks")

# 6. Settle, and check the report.
call("POST", "/v1/acquirer/outbox/flush", None, True)
status, cut = call("POST", "/v1/clearing/cycle/cut", None, True)
status, reports = call("GET", "/v1/clearing/reports?after=0", None, True)
assert status == 200, reports
clearing = ed25519.Ed25519PublicKey.from_public_bytes(bytes.fromhex(card("clearing")["clearing_key"]))
for rep in reports:
    clearing.verify(bytes.fromhex(rep["signature"]), report(rep["body"]))
print("6.", len(reports), "reports, signatures check; last:", json.dumps(reports[-1]["body"]["net_positions"]))
