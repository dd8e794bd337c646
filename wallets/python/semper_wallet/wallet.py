"""A wallet (docs/protocol.md §10.1-§10.3): an account at an issuer, coins withdrawn from it, paid
to merchants."""

import hashlib
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import blind_rsa, checks
from . import encoding as enc

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def now_ms():
    return int(time.time() * 1000)


def public_hex(key):
    """An Ed25519 private key's public key, 64 hex digits."""
    return key.public_key().public_bytes(*RAW).hex()


class Coin:
    """A withdrawn coin: `{denomination, public_key, signature}` (§6.3), its value, and its key."""

    def __init__(self, denomination, key, signature):
        self.denomination, self.key, self.signature = denomination, key, signature

    @property
    def value(self):
        return self.denomination["value"]

    def json(self):
        return {"denomination": self.denomination["id"], "public_key": public_hex(self.key),
                "signature": self.signature.hex()}

    def pay(self, merchant, acquirer, contract):
        """A signed deposit permission for `contract` (bytes) to `merchant` at `acquirer` (§10.3)."""
        body = {"coin": self.json(), "contract_hash": hashlib.sha256(contract).hexdigest(),
                "merchant": merchant, "acquirer": acquirer, "amount": self.value, "timestamp": now_ms()}
        return {"body": body, "signature": self.key.sign(enc.permission(body)).hex()}


class Wallet:
    """An account at the issuer of `node`, whose denomination set is checked against `master_key`,
    the issuer's master key pinned out of band (§8)."""

    def __init__(self, node, master_key, currency="EUR"):
        self.node, self.master_key, self.currency = node, master_key, currency
        self.key = ed25519.Ed25519PrivateKey.generate()
        self.account = secrets.token_hex(16)
        self.coins = []

    def open(self):
        """Opens the account with an opening signed by its own key (§7.17); answers its view."""
        body = {"account": self.account, "public_key": public_hex(self.key), "currency": self.currency}
        signature = self.key.sign(enc.open_account(body)).hex()
        return self.node.call("POST", "/v1/issuer/accounts", {"body": body, "signature": signature})

    def view(self):
        """The account's view, balance included, by a signed read (§7.18)."""
        path = f"/v1/issuer/accounts/{self.account}"
        return self.node.signed_read(path, "account", self.account, self.key)

    def denominations(self, at=None):
        """The served set, checked; the denominations withdrawable at `at`, in the account's currency."""
        at = now_ms() if at is None else at
        body = checks.denomination_set(self.node.denominations(), self.master_key)
        revoked = set(body["revoked"])
        return [d for d in body["denominations"]
                if d["id"] not in revoked and d["valid_from"] <= at < d["withdraw_until"]
                and d["value"].startswith(self.currency + ":")]

    def withdraw(self, value, count):
        """Withdraws `count` coins of `value` (e.g. `"EUR:1.00"`): blinds, signs, unblinds and
        verifies each (§10.2). Answers the new coins, which the wallet also keeps."""
        denomination = next((d for d in self.denominations() if d["value"] == value), None)
        if denomination is None:
            raise checks.CheckError("wallet.no_denomination", value)
        key = blind_rsa.public_key(denomination["public_key"])
        pending = []
        for _ in range(count):
            coin_key = ed25519.Ed25519PrivateKey.generate()
            message = enc.coin_message(denomination["id"], public_hex(coin_key))
            blinded, r = blind_rsa.blind(key, message)
            pending.append((coin_key, message, blinded, r))
        body = {"account": self.account, "request_id": secrets.token_hex(16),
                "coins": [{"denomination": denomination["id"], "blinded": b.hex()} for _, _, b, _ in pending]}
        signed = {"body": body, "signature": self.key.sign(enc.withdraw_request(body)).hex()}
        answer = self.node.call("POST", "/v1/issuer/withdraw", signed)
        if answer["request_id"] != body["request_id"] or len(answer["blind_signatures"]) != count:
            raise checks.CheckError("withdraw.wrong_answer")
        coins = [Coin(denomination, coin_key, blind_rsa.finalize(key, message, bytes.fromhex(blind_sig), r))
                 for (coin_key, message, _, r), blind_sig in zip(pending, answer["blind_signatures"])]
        self.coins.extend(coins)
        return coins

    def pay(self, price, merchant, acquirer, contract):
        """Signed permissions for coins whose values add up to `price` exactly (coins are
        indivisible: §10.3); the paid coins leave the wallet."""
        code, wanted = enc.parse_amount(price)
        chosen, total = [], 0
        for coin in sorted(self.coins, key=lambda c: -enc.parse_amount(c.value)[1]):
            coin_code, minor = enc.parse_amount(coin.value)
            if coin_code == code and total + minor <= wanted:
                chosen.append(coin)
                total += minor
        if total != wanted:
            raise checks.CheckError("wallet.no_exact_coins", price)
        for coin in chosen:
            self.coins.remove(coin)
        return [coin.pay(merchant, acquirer, contract) for coin in chosen]
