"""Every known-answer vector of docs/vectors/ (docs/protocol.md §13), through the package's code."""

import hashlib
import json
import pathlib
import unittest

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from semper_wallet import blind_rsa, checks
from semper_wallet import encoding as enc

VECTORS = pathlib.Path(__file__).resolve().parents[3] / "docs" / "vectors"


def load(name):
    return json.loads((VECTORS / f"{name}.json").read_text())


def seeds():
    return {k["name"]: bytes.fromhex(k["seed"]) for k in load("keys")["ed25519"]}


class Encodings(unittest.TestCase):
    def test_every_message_vector(self):
        keys = seeds()
        for name, encode in enc.ENCODERS.items():
            for v in load(name)["vectors"]:
                with self.subTest(file=name, vector=v["name"]):
                    encoding = encode(v["value"])
                    self.assertEqual(encoding.hex(), v["encoding"])
                    self.assertEqual(enc.digest(encoding), v["sha256"])
                    if "signature" in v:
                        key = ed25519.Ed25519PrivateKey.from_private_bytes(keys[v["signer"]])
                        public = key.public_key().public_bytes(serialization.Encoding.Raw,
                                                               serialization.PublicFormat.Raw)
                        self.assertEqual(public.hex(), v["signer_public_key"])
                        self.assertEqual(key.sign(encoding).hex(), v["signature"])
                        checks.verify_ed25519(v["signer_public_key"], v["signature"], encoding, "vector")
                        self.assertEqual((encoding + bytes.fromhex(v["signature"])).hex(), v["signed_encoding"])

    def test_link_requests(self):
        submission = bytes.fromhex(load("settlement-submission")["vectors"][0]["signed_encoding"])
        for v in load("link-request")["vectors"]:
            with self.subTest(vector=v["name"]):
                self.assertEqual(enc.link_request(v["value"], submission).hex(), v["encoding"])

    def test_primitives(self):
        encoders = {"u8": enc.u8, "u32": enc.u32, "u64": enc.u64, "i64": enc.i64, "amount": enc.amount,
                    "byte string": lambda t: enc.var(t.encode()),
                    "option": lambda o: enc.u8(0) if o is None else enc.u8(1) + enc.u64(o),
                    "list of 16-byte ids": lambda ids: enc.lst(ids, lambda i: enc.fixed(i, 16)),
                    "domain header": lambda h: enc.u8(len(h["domain"])) + h["domain"].encode() + enc.u8(h["version"])}
        vectors = load("primitives")["vectors"]
        for v in vectors:
            with self.subTest(vector=v["name"]):
                kind = next(k for k in encoders if v["name"].startswith((k + " ", k + ":")))
                self.assertEqual(encoders[kind](v["value"]).hex(), v["encoding"])
        self.assertEqual(enc.header("semper/deposit-permission").hex(), vectors[-1]["encoding"])

    def test_amounts(self):
        self.assertEqual(enc.parse_amount("EUR:12.5"), ("EUR", 1250))
        self.assertEqual(enc.parse_amount("JPY:500"), ("JPY", 500))
        self.assertEqual(enc.format_amount("BHD", 1250), "BHD:1.250")
        for bad in ("EUR:1.001", "eur:1.00", "EUR:-1", "EUR:1,00", "EUR:", "XXX:1", "EUR:18446744073709551616"):
            with self.subTest(amount=bad), self.assertRaises(ValueError):
                enc.parse_amount(bad)

    def test_upper_case_hex_is_refused(self):
        with self.assertRaises(ValueError):
            enc.fixed("AB" * 16, 16)

    def test_ed25519_verdicts(self):
        for v in load("ed25519")["vectors"]:
            if "signature" not in v:
                continue  # key parsing: `cryptography` does not expose the point checks of §6.1
            with self.subTest(vector=v["name"]):
                try:
                    checks.verify_ed25519(v["public_key"], v["signature"], bytes.fromhex(v["message"]), "x")
                    verdict = "ok"
                except (checks.CheckError, ValueError):
                    verdict = "refused"
                self.assertEqual(verdict == "ok", v["expected"] == "ok")


class Checks(unittest.TestCase):
    def test_denomination_set(self):
        keys = {k["name"]: k["public_key"] for k in load("keys")["ed25519"]}
        v = load("denomination-set")["vectors"][0]
        signed = {"body": v["value"], "signature": v["signature"]}
        checks.denomination_set(signed, v["signer_public_key"])
        self.assertEqual(v["signer_public_key"], keys[v["signer"]])
        other = next(key for name, key in keys.items() if key != v["signer_public_key"])
        with self.assertRaises(checks.CheckError) as refused:
            checks.denomination_set(signed, other)
        self.assertEqual(refused.exception.code, "denomination_set.invalid_signature")
        served = json.loads(json.dumps(signed))
        served["body"]["denominations"][0]["id"] = "00" * 32
        with self.assertRaises(checks.CheckError) as refused:
            checks.denomination_set(served, v["signer_public_key"])
        self.assertEqual(refused.exception.code, "denomination_set.wrong_id")

    def test_denomination_id(self):
        v = load("denomination")["vectors"][0]
        self.assertEqual(enc.denomination_id(v["value"]), v["sha256"])

    def test_deposit_answers(self):
        request = load("deposit-request")["vectors"][0]
        signed_request = {"body": request["value"], "signature": request["signature"]}
        for v in load("deposit-answer")["vectors"]:
            with self.subTest(vector=v["name"]):
                answer = {"body": v["value"], "signature": v["signature"]}
                credited = checks.deposit_answer(answer, v["value"]["acquirer"], v["signer_public_key"], signed_request)
                self.assertEqual({enc.parse_amount(a)[0]: enc.parse_amount(a)[1] for a in v["credited"]}, credited)
                with self.assertRaises(checks.CheckError) as refused:
                    checks.deposit_answer(answer, "00" * 16, v["signer_public_key"], signed_request)
                self.assertEqual(refused.exception.code, "deposit_answer.wrong_acquirer")
                tampered = json.loads(json.dumps(answer))
                tampered["body"]["results"] = tampered["body"]["results"][:-1]
                with self.assertRaises(checks.CheckError) as refused:
                    checks.deposit_answer(tampered, v["value"]["acquirer"], v["signer_public_key"], signed_request)
                self.assertEqual(refused.exception.code, "deposit_answer.invalid_signature")

    def test_double_spend_proof(self):
        paid = load("deposit-permission")["vectors"][0]
        permission = {"body": paid["value"], "signature": paid["signature"]}
        proofs = [r["earlier"] for r in load("deposit-response")["vectors"][1]["value"]["results"]
                  if r["result"] == "conflict"]
        self.assertTrue(proofs)
        for earlier in proofs:
            checks.double_spend_proof(earlier, permission)
            with self.assertRaises(checks.CheckError) as refused:
                checks.double_spend_proof(permission, permission)
            self.assertEqual(refused.exception.code, "proof.same_payment")
            forged = json.loads(json.dumps(earlier))
            forged["signature"] = permission["signature"]
            with self.assertRaises(checks.CheckError) as refused:
                checks.double_spend_proof(forged, permission)
            self.assertEqual(refused.exception.code, "proof.invalid_signature")

    def test_settlement_reports(self):
        for v in load("settlement-report")["vectors"]:
            with self.subTest(vector=v["name"]):
                signed = {"body": v["value"], "signature": v["signature"]}
                checks.settlement_report(signed, v["signer_public_key"])
                if v["value"]["net_positions"]:
                    tampered = json.loads(json.dumps(signed))
                    tampered["body"]["net_positions"][0]["net_minor_units"] += 1
                    with self.assertRaises(checks.CheckError):
                        checks.settlement_report(tampered, v["signer_public_key"])


class BlindRsa(unittest.TestCase):
    def test_withdrawal_step_by_step(self):
        rsa = load("keys")["rsa"]
        n, e, d = (int(rsa[k], 16) for k in ("n", "e", "d"))
        key = blind_rsa.public_key(rsa["public_key_der"])
        self.assertEqual((key.public_numbers().n, key.public_numbers().e), (n, e))
        denomination_id = load("denomination")["vectors"][0]["sha256"]
        for v in load("coin")["vectors"]:
            with self.subTest(vector=v["name"]):
                message = enc.coin_message(v["denomination"], v["coin_public_key"])
                self.assertEqual(message.hex(), v["message"])
                self.assertEqual(len(message), 77)
                self.assertEqual(v["denomination"], denomination_id)
                salt = bytes.fromhex(v["salt"])
                self.assertEqual(blind_rsa.pss_encode(message, salt, n.bit_length()).hex(), v["encoded_message"])
                blinded, r = blind_rsa.blind(key, message, salt=salt, r=int(v["r"], 16))
                self.assertEqual(blinded.hex(), v["blinded_message"])
                blind_signature = pow(int.from_bytes(blinded, "big"), d, n).to_bytes(len(blinded), "big")
                self.assertEqual(blind_signature.hex(), v["blind_signature"])
                self.assertEqual(pow(r, -1, n).to_bytes(len(blinded), "big").hex(), v["r_inv"])
                signature = blind_rsa.finalize(key, message, blind_signature, r)
                self.assertEqual(signature.hex(), v["signature"])
                self.assertEqual(enc.coin(v["coin"]["value"]).hex(), v["coin"]["encoding"])
                wrong = bytes([blind_signature[0] ^ 1]) + blind_signature[1:]
                with self.assertRaises(blind_rsa.BlindRsaError):
                    blind_rsa.finalize(key, message, wrong, r)


if __name__ == "__main__":
    unittest.main()
