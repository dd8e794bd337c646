"""A wallet (docs/protocol.md §10.1-§10.3, §10.7): an account at an issuer, coins withdrawn from
it, swapped for change, paid to merchants."""

import hashlib
import secrets
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from . import blind_rsa, checks
from . import encoding as enc
from .node import ApiError

RAW = (serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def now_ms():
    return int(time.time() * 1000)


def public_hex(key):
    """An Ed25519 private key's public key, 64 hex digits."""
    return key.public_key().public_bytes(*RAW).hex()


class _Pending:
    """A coin waiting for its blind signature: what unblinding it needs, and what is sent."""

    def __init__(self, denomination, key, coin_key, message, r, output):
        self.denomination, self.key, self.coin_key = denomination, key, coin_key
        self.message, self.r, self.output = message, r, output


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
        pending = self._blind([value] * count)
        body = {"account": self.account, "request_id": secrets.token_hex(16),
                "coins": [p.output for p in pending]}
        signed = {"body": body, "signature": self.key.sign(enc.withdraw_request(body)).hex()}
        answer = self.node.call("POST", "/v1/issuer/withdraw", signed)
        coins = self._unblind(pending, body["request_id"], answer, "withdraw.wrong_answer")
        self.coins.extend(coins)
        return coins

    def swap(self, given, values):
        """Swaps the coins `given` at the issuer for fresh coins of `values` (change, §10.7): the
        values must add up to the given coins' values less their swap fees, shown by
        `swap_value`. The given coins leave the wallet, the fresh ones join it. A coin spent
        before raises ApiError 409 `swap.conflict`, whose proof is checked first (CheckError if
        it does not hold)."""
        pending = self._blind(values)
        outputs = [p.output for p in pending]
        request_id = secrets.token_hex(16)
        digest = hashlib.sha256(enc.swap_outputs(outputs)).hexdigest()
        coins = []
        for coin in given:
            body = {"coin": coin.json(), "request_id": request_id, "outputs": digest}
            coins.append({"body": body, "signature": coin.key.sign(enc.swap_permission(body)).hex()})
        request = {"request_id": request_id, "coins": coins, "outputs": outputs}
        try:
            answer = self.node.call("POST", "/v1/issuer/swap", request)
        except ApiError as refusal:
            if refusal.code == "swap.conflict":
                checks.spent_proof(refusal.body["earlier"], given[refusal.body["index"]].json())
            raise
        fresh = self._unblind(pending, request_id, answer, "swap.wrong_answer")
        for coin in given:
            if coin in self.coins:
                self.coins.remove(coin)
        self.coins.extend(fresh)
        return fresh

    @staticmethod
    def swap_value(given):
        """What `given` swap for (§7.25): their values less their denominations' swap fees, in
        minor units of their one currency."""
        total = 0
        for coin in given:
            total += enc.parse_amount(coin.value)[1] - enc.parse_amount(coin.denomination["fees"]["swap"])[1]
        return total

    def _blind(self, values):
        """A fresh coin key per value, each coin blinded under its denomination's key (§10.2)."""
        available = self.denominations()
        pending = []
        for value in values:
            denomination = next((d for d in available if d["value"] == value), None)
            if denomination is None:
                raise checks.CheckError("wallet.no_denomination", value)
            key = blind_rsa.public_key(denomination["public_key"])
            coin_key = ed25519.Ed25519PrivateKey.generate()
            message = enc.coin_message(denomination["id"], public_hex(coin_key))
            blinded, r = blind_rsa.blind(key, message)
            pending.append(_Pending(denomination, key, coin_key, message, r,
                                    {"denomination": denomination["id"], "blinded": blinded.hex()}))
        return pending

    @staticmethod
    def _unblind(pending, request_id, answer, code):
        """The coins of an answer to a withdrawal or a swap: unblinded and verified (§10.2 step 4)."""
        if answer["request_id"] != request_id or len(answer["blind_signatures"]) != len(pending):
            raise checks.CheckError(code)
        return [Coin(p.denomination, p.coin_key, blind_rsa.finalize(p.key, p.message, bytes.fromhex(sig), p.r))
                for p, sig in zip(pending, answer["blind_signatures"])]

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
