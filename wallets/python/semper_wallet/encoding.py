"""The canonical encoding of docs/protocol.md §3-§7: each message's JSON form (§9) in, bytes out.

Every function takes a message's JSON form, as the HTTP API carries it, and returns the bytes its
signature covers. Refuses what the specification refuses (unknown currency, too many minor digits,
wrong-size ids) with ValueError.
"""

import hashlib
import struct

#: §4: the accepted currencies and their number of minor-unit digits.
DIGITS = {"AUD": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
          "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "INR": 2, "ISK": 0, "JOD": 3, "JPY": 0,
          "KRW": 0, "KWD": 3, "MXN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PLN": 2, "RON": 2,
          "SEK": 2, "SGD": 2, "TND": 3, "USD": 2, "ZAR": 2}

U64_MAX = 2 ** 64 - 1


def u8(n): return struct.pack(">B", n)
def u32(n): return struct.pack(">I", n)
def u64(n): return struct.pack(">Q", n)
def i64(n): return struct.pack(">q", n)


def fixed(text, size):
    """A fixed-size byte string (§3.2) from its lower-case hex."""
    if text != text.lower():
        raise ValueError(f"hex must be lower case: {text!r}")
    data = bytes.fromhex(text)
    if len(data) != size:
        raise ValueError(f"expected {size} bytes, got {len(data)}")
    return data


def var(data): return u32(len(data)) + data
def lst(items, encode): return u32(len(items)) + b"".join(encode(i) for i in items)
def header(tag, version=1): return u8(len(tag)) + tag.encode() + u8(version)


def parse_amount(text):
    """`"EUR:12.50"` → `("EUR", 1250)` (§4)."""
    code, sep, number = text.partition(":")
    if not sep or code not in DIGITS:
        raise ValueError(f"amount.unknown_currency: {text!r}")
    units, dot, minor = number.partition(".")
    digits = DIGITS[code]
    if not units.isdigit() or (dot and not minor.isdigit()) or not units.isascii():
        raise ValueError(f"amount.malformed: {text!r}")
    if len(minor) > digits:
        raise ValueError(f"amount.too_precise: {text!r}")
    value = int(units) * 10 ** digits + int((minor or "0").ljust(digits, "0"))
    if value > U64_MAX:
        raise ValueError(f"amount.overflow: {text!r}")
    return code, value


def format_amount(code, minor_units):
    """`("EUR", 1250)` → `"EUR:12.50"`, with exactly the currency's minor digits."""
    digits = DIGITS[code]
    if digits == 0:
        return f"{code}:{minor_units}"
    units, minor = divmod(minor_units, 10 ** digits)
    return f"{code}:{units}.{minor:0{digits}d}"


def amount(text):
    code, value = parse_amount(text)
    return code.encode() + u64(value)


def fees(v):
    """§7.1's DenominationFees (no header)."""
    return amount(v["withdraw"]) + amount(v["deposit"]) + amount(v["swap"]) + amount(v["refund"])


def denomination(v):
    """§7.1, version 2; a served `id` beside the eight fields is not encoded."""
    return (header("semper/denomination", 2) + fixed(v["issuer"], 16) + amount(v["value"])
            + var(bytes.fromhex(v["public_key"])) + u64(v["valid_from"]) + u64(v["withdraw_until"])
            + u64(v["deposit_until"]) + u64(v["retain_until"]) + fees(v["fees"]))


def denomination_id(v):
    """§5: the SHA-256 of the denomination's encoding, hex."""
    return hashlib.sha256(denomination(v)).hexdigest()


def denomination_set(v):
    return (header("semper/denomination-set") + fixed(v["issuer"], 16) + u64(v["sequence"])
            + u64(v["issued_at"]) + lst(v["denominations"], denomination)
            + lst(v["revoked"], lambda i: fixed(i, 32)))


def signed(encode):
    """A signed message nested in another (§3.6): the body's encoding, then the 64-byte signature."""
    return lambda s: encode(s["body"]) + fixed(s["signature"], 64)


def coin_message(denomination_id_hex, coin_public_key_hex):
    """§6.3, §7.4: the 77 bytes the issuer blind-signs."""
    return header("semper/coin") + fixed(denomination_id_hex, 32) + fixed(coin_public_key_hex, 32)


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
    return (header("semper/deposit-request", 2) + fixed(v["merchant"], 16) + fixed(v["deposit_id"], 16)
            + lst(v["permissions"], signed(permission)) + u64(v["refund_deadline"]))


def spend_result(r):
    kind = r["result"]
    if kind == "accepted":
        return u8(0)
    if kind == "replay":
        return u8(1)
    if kind == "conflict":
        return u8(2) + signed(permission)(r["earlier"])
    if kind == "refused":
        return u8(3) + var(r["code"].encode())
    if kind == "swapped":
        return u8(4) + signed(swap_permission)(r["earlier"])
    if kind == "recouped":
        return u8(5) + signed(recoup_permission)(r["earlier"])
    raise ValueError(f"unknown spend result {kind!r}")


def swap_permission(v):
    """§7.25: the coin key's consent to give the coin in to one swap."""
    return (header("semper/swap-permission") + coin(v["coin"]) + fixed(v["request_id"], 16)
            + fixed(v["outputs"], 32))


def swap_outputs(outputs):
    """§7.25: the list of blinded coins whose SHA-256 each permission names."""
    return lst(outputs, lambda c: fixed(c["denomination"], 32) + var(bytes.fromhex(c["blinded"])))


def swap_request(v):
    return (header("semper/swap-request") + fixed(v["request_id"], 16)
            + lst(v["coins"], signed(swap_permission)) + swap_outputs(v["outputs"]))


def swap_response(v):
    return (header("semper/swap-response") + fixed(v["request_id"], 16)
            + lst(v["blind_signatures"], lambda s: var(bytes.fromhex(s))))


def recoup_permission(v):
    """§7.26: the coin key's consent to give the coin back for its value, to the account named."""
    return header("semper/recoup-permission") + coin(v["coin"]) + fixed(v["account"], 16)


def recoup_request(v):
    """§7.26: the withdrawal (nested whole), the coin's index, r⁻¹ and the coin's permission."""
    return (header("semper/recoup-request") + withdraw_request(v["withdrawal"]) + u32(v["index"])
            + var(bytes.fromhex(v["blinding"])) + signed(recoup_permission)(v["permission"]))


def recoup_response(v):
    return (header("semper/recoup-response") + fixed(v["account"], 16) + fixed(v["coin"], 32)
            + amount(v["credited"]))


def deposit_response(v):
    return (header("semper/deposit-response", 3) + fixed(v["merchant"], 16) + fixed(v["deposit_id"], 16)
            + lst(v["results"], spend_result))


def deposit_answer(v):
    return (header("semper/deposit-answer", 3) + fixed(v["acquirer"], 16) + fixed(v["merchant"], 16)
            + fixed(v["deposit_id"], 16) + fixed(v["request_digest"], 32) + lst(v["results"], spend_result))


def open_account(v):
    if v["currency"] not in DIGITS:
        raise ValueError(f"amount.unknown_currency: {v['currency']!r}")
    return (header("semper/open-account") + fixed(v["account"], 16) + fixed(v["public_key"], 32)
            + v["currency"].encode())


def read_request(v):
    subject = {"account": u8(0), "merchant": u8(1)}[v["subject"]["kind"]] + fixed(v["subject"]["id"], 16)
    path = v["path"].encode()
    if len(path) > 256:
        raise ValueError("a read's path is at most 256 bytes")
    return header("semper/read-request") + subject + var(path) + u64(v["at"])


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
    return (header("semper/spend-check-response", 3) + fixed(v["batch_id"], 16)
            + lst(v["results"], spend_result) + option)


def submission(v):
    return (header("semper/settlement-submission", 2) + fixed(v["acquirer"], 16)
            + fixed(v["submission_id"], 16) + u64(v["submitted_at"])
            + lst(v["confirmations"], signed(confirmation)) + lst(v["refunds"], signed(refund_confirmation)))


def claim(c):
    if c["result"] == "claimed":
        return u8(0)
    if c["result"] == "already_claimed":
        return u8(1) + fixed(c["acquirer"], 16) + fixed(c["submission_id"], 16)
    return u8(2) + var(c["code"].encode())


def receipt(v):
    return (header("semper/submission-receipt", 2) + fixed(v["clearing"], 16) + fixed(v["acquirer"], 16)
            + fixed(v["submission_id"], 16) + fixed(v["cycle"], 16) + u64(v["cycle_sequence"])
            + u64(v["received_at"]) + lst(v["claims"], claim) + lst(v["refund_claims"], claim))


def report(v):
    obligation = lambda o: (fixed(o["issuer"], 16) + fixed(o["acquirer"], 16) + amount(o["amount"])
                            + lst(o["confirmations"], lambda b: fixed(b, 16)))
    refunded = lambda r: (fixed(r["acquirer"], 16) + fixed(r["issuer"], 16) + amount(r["amount"])
                          + amount(r["fees"]) + lst(r["refunds"], lambda d: fixed(d, 32)))
    position = lambda p: fixed(p["bank"], 16) + p["currency"].encode() + i64(p["net_minor_units"])
    return (header("semper/settlement-report", 2) + fixed(v["clearing"], 16) + fixed(v["cycle"], 16)
            + u64(v["sequence"]) + u64(v["cutoff_at"]) + lst(v["obligations"], obligation)
            + lst(v["refunds"], refunded) + lst(v["net_positions"], position))


def link_request(v, submission_signed=b""):
    """§7.16: kind 0 (hello), 2 (a signed submission, given encoded), 3 (reports after a sequence)."""
    kind = v["kind"]
    fields = {0: b"", 2: submission_signed,
              3: u64(v.get("after_sequence", 0)) + u32(v.get("limit", 0))}[kind]
    return header("semper/link-request") + u8(kind) + fields


def refund_request(v):
    return (header("semper/refund-request") + fixed(v["merchant"], 16) + fixed(v["refund_id"], 16)
            + fixed(v["contract_hash"], 32) + fixed(v["denomination"], 32) + fixed(v["coin"], 32)
            + amount(v["amount"]))


def refund_notice(v):
    return (header("semper/refund-notice") + fixed(v["acquirer"], 16) + fixed(v["refund"], 32)
            + fixed(v["denomination"], 32) + fixed(v["coin"], 32) + fixed(v["permission"], 32)
            + amount(v["amount"]))


def refund_confirmation(v):
    return (header("semper/refund-confirmation", 2) + fixed(v["issuer"], 16) + fixed(v["acquirer"], 16)
            + fixed(v["refund"], 32) + fixed(v["denomination"], 32) + fixed(v["coin"], 32)
            + amount(v["amount"]) + amount(v["fee"]) + u64(v["confirmed_at"]))


def refund_answer(v):
    if v["result"] == "confirmed":
        return header("semper/refund-answer") + u8(0) + signed(refund_confirmation)(v["confirmation"])
    return header("semper/refund-answer") + u8(1) + var(v["code"].encode())


def refund_response(v):
    return (header("semper/refund-response") + fixed(v["merchant"], 16) + fixed(v["refund_id"], 16)
            + fixed(v["refund"], 32) + amount(v["amount"]) + amount(v["coin_refunded"]))


#: Each vector file's encoder, by the file's name.
ENCODERS = {
    "denomination": denomination, "denomination-set": denomination_set,
    "withdraw-request": withdraw_request, "withdraw-response": withdraw_response,
    "deposit-permission": permission, "deposit-request": deposit_request,
    "deposit-response": deposit_response, "deposit-answer": deposit_answer,
    "open-account": open_account, "read-request": read_request, "spend-check-batch": spend_check_batch,
    "spend-confirmation": confirmation, "spend-check-response": spend_check_response,
    "settlement-submission": submission, "submission-receipt": receipt, "settlement-report": report,
    "refund-request": refund_request, "refund-notice": refund_notice,
    "refund-confirmation": refund_confirmation, "refund-answer": refund_answer,
    "refund-response": refund_response,
    "swap-permission": swap_permission, "swap-request": swap_request, "swap-response": swap_response,
    "recoup-permission": recoup_permission, "recoup-request": recoup_request,
    "recoup-response": recoup_response,
}


def digest(encoding):
    """§5: a signed body's digest, hex."""
    return hashlib.sha256(encoding).hexdigest()
