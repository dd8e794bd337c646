"""What a client checks before it trusts an answer (docs/protocol.md §7.2, §7.15, §7.19, §10.4).

Each check raises CheckError with the specification's code for the first rule that fails.
"""

import hashlib

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import encoding as enc


class CheckError(ValueError):
    """A signed answer that does not hold; `code` is the specification's name for the failure."""

    def __init__(self, code, message=""):
        super().__init__(f"{code}: {message}" if message else code)
        self.code = code


def ed25519_key(hex_key):
    """An Ed25519 public key from its 64 hex digits."""
    return ed25519.Ed25519PublicKey.from_public_bytes(enc.fixed(hex_key, 32))


def verify_ed25519(hex_key, signature_hex, message, code):
    """Verifies an Ed25519 signature, or raises CheckError(code)."""
    try:
        ed25519_key(hex_key).verify(enc.fixed(signature_hex, 64), message)
    except (InvalidSignature, ValueError) as error:
        raise CheckError(code, str(error) or "signature does not verify") from error


def denomination_set(served, master_key):
    """§7.2, §5: the set's signature under the pinned master key, and every served id recomputed."""
    body = served["body"]
    verify_ed25519(master_key, served["signature"], enc.denomination_set(body), "denomination_set.invalid_signature")
    for denomination in body["denominations"]:
        computed = enc.denomination_id(denomination)
        if denomination.get("id", computed) != computed:
            raise CheckError("denomination_set.wrong_id", f"served {denomination['id']}, computed {computed}")
        if denomination["issuer"] != body["issuer"]:
            raise CheckError("denomination_set.wrong_issuer", denomination["issuer"])
    return body


def deposit_answer(answer, acquirer, acquirer_key, request):
    """§7.19: the merchant's check of a signed deposit answer; returns what it credited, per currency."""
    body = answer["body"]
    verify_ed25519(acquirer_key, answer["signature"], enc.deposit_answer(body), "deposit_answer.invalid_signature")
    if body["acquirer"] != acquirer:
        raise CheckError("deposit_answer.wrong_acquirer", body["acquirer"])
    sent = request["body"]
    if (body["merchant"], body["deposit_id"]) != (sent["merchant"], sent["deposit_id"]) or \
            body["request_digest"] != enc.digest(enc.deposit_request(sent)):
        raise CheckError("deposit_answer.wrong_request")
    if len(body["results"]) != len(sent["permissions"]):
        raise CheckError("deposit_answer.wrong_count")
    credited = {}
    for result, permission in zip(body["results"], sent["permissions"]):
        if result["result"] == "accepted":
            code, minor = enc.parse_amount(permission["body"]["amount"])
            credited[code] = credited.get(code, 0) + minor
            if credited[code] > enc.U64_MAX:
                raise CheckError("deposit_answer.overflow")
    return credited


def double_spend_proof(earlier, permission):
    """§10.4 step 4: does `earlier` (a conflict's signed permission) prove `permission`'s coin spent before?"""
    coin, other = earlier["body"]["coin"], permission["body"]["coin"]
    if (coin["denomination"], coin["public_key"]) != (other["denomination"], other["public_key"]):
        raise CheckError("proof.other_coin")
    earlier_encoding = enc.permission(earlier["body"])
    if hashlib.sha256(earlier_encoding).digest() == hashlib.sha256(enc.permission(permission["body"])).digest():
        raise CheckError("proof.same_payment", "the same permission is a replay, not a double spend")
    verify_ed25519(coin["public_key"], earlier["signature"], earlier_encoding, "proof.invalid_signature")


def spent_proof(earlier, coin):
    """§10.7 step 5: does `earlier` (a swap conflict's signed deposit or swap permission) prove
    `coin` (its JSON) spent before? The two kinds are told apart by their fields."""
    spent = earlier["body"]["coin"]
    if (spent["denomination"], spent["public_key"]) != (coin["denomination"], coin["public_key"]):
        raise CheckError("proof.other_coin")
    body = earlier["body"]
    encoding = enc.permission(body) if "contract_hash" in body else enc.swap_permission(body)
    verify_ed25519(spent["public_key"], earlier["signature"], encoding, "proof.invalid_signature")


def settlement_report(signed_report, report_key):
    """§7.15: the clearing house's signature, sorted unique obligations and refund obligations, each
    refund obligation's fees within its amount, and net positions that are exactly their netting
    (spends from issuer to acquirer, refunds from acquirer to issuer)."""
    body = signed_report["body"]
    verify_ed25519(report_key, signed_report["signature"], enc.report(body), "report.invalid_signature")
    keys = [(bytes.fromhex(o["issuer"]), bytes.fromhex(o["acquirer"]), enc.parse_amount(o["amount"])[0].encode())
            for o in body["obligations"]]
    if keys != sorted(set(keys)):
        raise CheckError("report.unsorted_obligations")
    net = {}
    for o in body["obligations"]:
        code, minor = enc.parse_amount(o["amount"])
        batches = [bytes.fromhex(b) for b in o["confirmations"]]
        if batches != sorted(set(batches)):
            raise CheckError("report.unsorted_confirmations")
        net[(o["issuer"], code)] = net.get((o["issuer"], code), 0) - minor
        net[(o["acquirer"], code)] = net.get((o["acquirer"], code), 0) + minor
    refund_keys = [(bytes.fromhex(r["acquirer"]), bytes.fromhex(r["issuer"]),
                    enc.parse_amount(r["amount"])[0].encode()) for r in body["refunds"]]
    if refund_keys != sorted(set(refund_keys)):
        raise CheckError("report.unsorted_refund_obligations")
    for r in body["refunds"]:
        code, minor = enc.parse_amount(r["amount"])
        fee_code, fees = enc.parse_amount(r["fees"])
        if fee_code != code or fees > minor:
            raise CheckError("report.bad_fees")
        refunds = [bytes.fromhex(d) for d in r["refunds"]]
        if refunds != sorted(set(refunds)):
            raise CheckError("report.unsorted_refunds")
        net[(r["acquirer"], code)] = net.get((r["acquirer"], code), 0) - minor
        net[(r["issuer"], code)] = net.get((r["issuer"], code), 0) + minor
    expected = [{"bank": bank, "currency": code, "net_minor_units": n}
                for (bank, code), n in sorted(net.items(), key=lambda kv: (bytes.fromhex(kv[0][0]), kv[0][1])) if n]
    if body["net_positions"] != expected:
        raise CheckError("report.wrong_net_positions")
    return body
