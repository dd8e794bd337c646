"""The wallet and the merchant against a running embedded default (docs/protocol.md §10): withdraw,
pay, deposit, a double spend, settle; and change (a swap, §10.7).

Starts `$SEMPER_BIN run` itself (scripts/test.sh builds it and sets SEMPER_BIN). Or, against a
node already running (`semper run`, the embedded default): SEMPER_BASE (e.g.
http://127.0.0.1:8080), SEMPER_DATA (its data directory, whose cards stand in for the keys pinned
out of band) and SEMPER_TOKEN (its operator token). With neither, these tests are skipped, and
`SEMPER_WALLET_LIVE=required` makes that a failure.
"""

import os
import time
import unittest

from semper_wallet import ApiError, Merchant, Node, Wallet, checks
from semper_wallet import encoding as enc

from .node_process import NodeProcess, RunningNode

NODE = None


def setUpModule():
    global NODE
    binary = os.environ.get("SEMPER_BIN")
    if os.environ.get("SEMPER_BASE"):
        NODE = RunningNode(os.environ["SEMPER_BASE"], os.environ.get("SEMPER_DATA", "data"),
                           os.environ.get("SEMPER_TOKEN"))
        return
    if not binary:
        if os.environ.get("SEMPER_WALLET_LIVE") == "required":
            raise RuntimeError("SEMPER_BIN is not set")
        raise unittest.SkipTest("SEMPER_BIN is not set: no node to run against")
    NODE = NodeProcess(binary)


def tearDownModule():
    if NODE is not None:
        NODE.stop()


class Live(unittest.TestCase):
    def setUp(self):
        self.node = Node(NODE.base, NODE.token)
        # Pinned out of band: the banks' cards, which `semper run` wrote beside its data.
        issuer, acquirer, clearing = NODE.card("issuer"), NODE.card("acquirer"), NODE.card("clearing")
        self.master_key = issuer["issuer"]["master_key"]
        self.acquirer = (acquirer["id"], acquirer["acquirer_key"])
        self.report_key = clearing["clearing_key"]

    def test_keys_are_the_cards(self):
        keys = self.node.keys()
        self.assertEqual(keys["issuer"]["master_key"], self.master_key)
        self.assertEqual((keys["acquirer"]["bank"], keys["acquirer"]["bank_key"]), self.acquirer)
        self.assertEqual(keys["clearing"]["report_key"], self.report_key)

    def test_withdraw_pay_deposit_double_spend_settle(self):
        wallet = Wallet(self.node, self.master_key)
        self.assertEqual(wallet.open()["balance"], "EUR:0.00")
        self.node.call("POST", f"/v1/issuer/accounts/{wallet.account}/credit",
                       {"reference": "wallet-test-" + wallet.account, "amount": "EUR:10.00"}, operator=True)
        with self.assertRaises(ApiError) as refused:
            self.node.call("GET", f"/v1/issuer/accounts/{wallet.account}")
        self.assertEqual((refused.exception.status, refused.exception.code), (401, "auth.required"))
        self.assertEqual(wallet.view()["balance"], "EUR:10.00")

        coins = wallet.withdraw("EUR:1.00", 3)
        self.assertEqual(len(coins), 3)
        self.assertEqual(wallet.view()["balance"], "EUR:7.00")

        merchant = Merchant.register(self.node)
        self.assertEqual((merchant.acquirer, merchant.acquirer_key), self.acquirer)
        permissions = wallet.pay("EUR:2.00", merchant.merchant, merchant.acquirer, b"order 1")
        deposit = merchant.deposit(permissions)
        self.assertEqual(deposit.results, ["accepted", "accepted"])
        self.assertEqual(deposit.credited, {"EUR": 200})
        self.assertEqual(merchant.status(deposit)["status"], "done")
        self.assertEqual(merchant.view()["balances"], ["EUR:2.00"])
        self.assertEqual(len(wallet.coins), 1)

        # A wallet that cheats: a coin already paid, paid again for another order.
        spent = next(c for c in coins if c not in wallet.coins)
        again = merchant.deposit([spent.pay(merchant.merchant, merchant.acquirer, b"order 2")])
        self.assertEqual(again.results, ["conflict"])
        self.assertEqual(again.credited, {})
        proofs = again.proofs()
        self.assertEqual(len(proofs), 1)
        self.assertIn(proofs[0], permissions)
        # The same request again is the same answer (idempotent), not a new spend.
        replayed = self.node.call("POST", "/v1/acquirer/deposits", deposit.request)
        self.assertEqual(replayed, deposit.answer)

        self.node.call("POST", "/v1/acquirer/outbox/flush", operator=True)
        cut = self.node.call("POST", "/v1/clearing/cycle/cut", operator=True)
        checks.settlement_report(cut, self.report_key)
        after = cut["body"]["sequence"] - 1
        reports = self.node.call("GET", f"/v1/clearing/reports?after={after}", operator=True)
        self.assertEqual(reports[:1], [cut])
        report_key = self.node.keys()["clearing"]["report_key"]
        for report in reports:
            checks.settlement_report(report, report_key)
        issuer = self.node.keys()["issuer"]["bank"]
        owed = [enc.parse_amount(o["amount"]) for o in cut["body"]["obligations"]
                if (o["issuer"], o["acquirer"]) == (issuer, merchant.acquirer)]
        if NODE.fresh:
            self.assertEqual(owed, [("EUR", 200)])
        else:  # others' payments may be settled in the same cycle
            self.assertTrue(owed and owed[0][1] >= 200, owed)
        tampered = dict(cut, body=dict(cut["body"], sequence=cut["body"]["sequence"] + 1))
        with self.assertRaises(checks.CheckError):
            checks.settlement_report(tampered, report_key)

    def test_swap_for_change_then_a_double_spend_of_the_swapped_coin(self):
        wallet = Wallet(self.node, self.master_key)
        wallet.open()
        self.node.call("POST", f"/v1/issuer/accounts/{wallet.account}/credit",
                       {"reference": "swap-test-" + wallet.account, "amount": "EUR:5.00"}, operator=True)
        [coin] = wallet.withdraw("EUR:1.00", 1)
        tenths = wallet.swap_value([coin]) // 10
        fresh = wallet.swap([coin], ["EUR:0.10"] * tenths)
        self.assertEqual((len(fresh), wallet.coins), (tenths, fresh))
        self.assertEqual(wallet.view()["balance"], "EUR:4.00")

        merchant = Merchant.register(self.node)
        permissions = wallet.pay("EUR:0.30", merchant.merchant, merchant.acquirer, b"order 3")
        self.assertEqual(merchant.deposit(permissions).results, ["accepted"] * 3)

        # The swapped coin given in again: 409 with its index and the proof, checked by the wallet.
        wallet.coins.append(coin)
        with self.assertRaises(ApiError) as refused:
            wallet.swap([fresh[-1], coin], ["EUR:0.10"] * (wallet.swap_value([fresh[-1], coin]) // 10))
        error = refused.exception
        self.assertEqual((error.status, error.code, error.body["index"]), (409, "swap.conflict", 1))
        self.assertIn("outputs", error.body["earlier"]["body"])
        # Paid with it: the deposit is answered `swapped`, with the swap's permission.
        again = merchant.deposit([coin.pay(merchant.merchant, merchant.acquirer, b"order 4")])
        self.assertEqual(again.results, ["swapped"])
        self.assertEqual(again.credited, {})
        # Settled in a cycle of its own, apart from the other tests' payments.
        self.node.call("POST", "/v1/acquirer/outbox/flush", operator=True)
        self.node.call("POST", "/v1/clearing/cycle/cut", operator=True)


if __name__ == "__main__":
    unittest.main()
