"""A semper node's HTTP API (docs/protocol.md §10), over the standard library's urllib."""

import json
import time
import urllib.error
import urllib.request

from . import encoding as enc

#: The longest a call waits for its answer, seconds.
TIMEOUT_S = 60


class ApiError(Exception):
    """A refusal: the HTTP status and the `{code, message}` body (§12.2); `body` is the whole
    refusal, for the codes that carry more (`swap.conflict`: `index` and `earlier`, §10.7)."""

    def __init__(self, status, code, message, body=None):
        super().__init__(f"{status} {code}: {message}")
        self.status, self.code, self.message = status, code, message
        self.body = body or {}


class Node:
    """One node's HTTP API at `base` (e.g. `http://127.0.0.1:8080`); `operator_token` for operator calls."""

    def __init__(self, base, operator_token=None):
        self.base = base.rstrip("/")
        self.operator_token = operator_token

    def call(self, method, path, body=None, authorization=None, operator=False):
        """Sends one request and answers its JSON; raises ApiError on a refusal."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, method=method, data=data)
        request.add_header("Content-Type", "application/json")
        if operator:
            authorization = "Bearer " + (self.operator_token or "")
        if authorization:
            request.add_header("Authorization", authorization)
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT_S) as answer:
                return json.loads(answer.read())
        except urllib.error.HTTPError as error:
            text = error.read()
            try:
                refusal = json.loads(text)
                raise ApiError(error.code, refusal["code"], refusal["message"], refusal) from None
            except (ValueError, KeyError, TypeError):
                raise ApiError(error.code, "", text.decode(errors="replace")) from None

    def signed_read(self, path, kind, subject, key):
        """`GET path` as its owner (§7.18): `Semper-Read <at>.<signature>` by the subject's key."""
        at = int(time.time() * 1000)
        body = {"subject": {"kind": kind, "id": subject}, "path": path, "at": at}
        signature = key.sign(enc.read_request(body)).hex()
        return self.call("GET", path, authorization=f"Semper-Read {at}.{signature}")

    def keys(self):
        """`GET /v1/keys`: each hosted role's bank id and public keys (discovery, not trust: §8)."""
        return self.call("GET", "/v1/keys")

    def denominations(self):
        """`GET /v1/issuer/denominations`: the signed set, each denomination with its (unsigned) id."""
        return self.call("GET", "/v1/issuer/denominations")
