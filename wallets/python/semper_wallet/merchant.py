"""A merchant (docs/protocol.md §10.4): deposits the permissions a wallet signed, and checks the
acquirer's signed answer and any double-spend proof."""

import secrets
import time

from cryptography.hazmat.primitives.asymmetric import ed25519

from . import checks
from . import encoding as enc
from .wallet import public_hex

#: How long after paying a deposit may be refunded, in ms: 14 days, as the Rust client's.
REFUND_WINDOW_MS = 14 * 24 * 60 * 60 * 1000


class Deposit:
    """A deposit's signed request, the acquirer's checked answer, and what it credited."""

    def __init__(self, request, answer, credited):
        self.request, self.answer, self.credited = request, answer, credited

    @property
    def results(self):
        """Each permission's result kind, in the request's order."""
        return [r["result"] for r in self.answer["body"]["results"]]

    def proofs(self):
        """The double-spend proofs of the `conflict` results, each checked (§10.4 step 4)."""
        proofs = []
        for result, permission in zip(self.answer["body"]["results"], self.request["body"]["permissions"]):
            if result["result"] == "conflict":
                checks.double_spend_proof(result["earlier"], permission)
                proofs.append(result["earlier"])
        return proofs


class Merchant:
    """A merchant at the acquirer of `node`; `acquirer` and `acquirer_key` are pinned at setup."""

    def __init__(self, node, merchant, key, acquirer, acquirer_key):
        self.node, self.merchant, self.key = node, merchant, key
        self.acquirer, self.acquirer_key = acquirer, acquirer_key

    @classmethod
    def register(cls, node):
        """Makes a key, has the operator register it, and pins the acquirer's id and key from the
        merchant's own view, read with a signed read (§10.4 step 0). Needs `node.operator_token`."""
        key = ed25519.Ed25519PrivateKey.generate()
        merchant = secrets.token_hex(16)
        node.call("POST", "/v1/acquirer/merchants", {"merchant": merchant, "public_key": public_hex(key)},
                  operator=True)
        view = node.signed_read(f"/v1/acquirer/merchants/{merchant}", "merchant", merchant, key)
        return cls(node, merchant, key, view["acquirer"], view["acquirer_key"])

    def view(self):
        """The merchant's view, balances included, by a signed read."""
        return self.node.signed_read(f"/v1/acquirer/merchants/{self.merchant}", "merchant", self.merchant, self.key)

    def deposit(self, permissions, refund_deadline=None):
        """Deposits signed permissions, refundable until `refund_deadline` (ms since the epoch;
        by default 14 days from now), and checks the signed answer against the request (§7.19)."""
        if refund_deadline is None:
            refund_deadline = int(time.time() * 1000) + REFUND_WINDOW_MS
        body = {"merchant": self.merchant, "deposit_id": secrets.token_hex(16), "permissions": permissions,
                "refund_deadline": refund_deadline}
        request = {"body": body, "signature": self.key.sign(enc.deposit_request(body)).hex()}
        answer = self.node.call("POST", "/v1/acquirer/deposits", request)
        return Deposit(request, answer, checks.deposit_answer(answer, self.acquirer, self.acquirer_key, request))

    def status(self, deposit):
        """A deposit's status by a signed read; a `done` one's answer is checked again."""
        path = f"/v1/acquirer/merchants/{self.merchant}/deposits/{deposit.request['body']['deposit_id']}"
        view = self.node.signed_read(path, "merchant", self.merchant, self.key)
        if view["status"] == "done":
            checks.deposit_answer(view["answer"], self.acquirer, self.acquirer_key, deposit.request)
        return view
