"""RFC 9474 RSABSSA-SHA384-PSS-Deterministic, the wallet's side (docs/protocol.md §6.2).

EMSA-PSS encoding and the blinding are integer math; the final check is `cryptography`'s own
RSASSA-PSS verification, so a coin is kept only if a standard verifier accepts it.
"""

import hashlib
import math
import secrets

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

HASH_LEN = 48  # SHA-384
SALT_LEN = 48  # §6.2: the salt is as long as the hash
PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA384()), salt_length=SALT_LEN)


class BlindRsaError(ValueError):
    """A denomination key or a signature the wallet refuses."""


def public_key(der_hex):
    """A denomination's RSA key from its served PKCS#1 `RSAPublicKey` DER (hex)."""
    try:
        key = serialization.load_der_public_key(bytes.fromhex(der_hex))
    except ValueError as error:
        raise BlindRsaError(f"denomination key: {error}") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise BlindRsaError("denomination key: not RSA")
    return key


def modulus_len(key):
    """Every blinded message, blind signature and signature is exactly this many bytes (§6.2)."""
    return (key.public_numbers().n.bit_length() + 7) // 8


def mgf1(seed, length):
    out = b""
    counter = 0
    while len(out) < length:
        out += hashlib.sha384(seed + counter.to_bytes(4, "big")).digest()
        counter += 1
    return out[:length]


def pss_encode(message, salt, mod_bits):
    """EMSA-PSS-ENCODE (RFC 8017 §9.1.1) with SHA-384, MGF1-SHA-384, emBits = modBits − 1."""
    em_bits = mod_bits - 1
    em_len = (em_bits + 7) // 8
    if em_len < HASH_LEN + len(salt) + 2:
        raise BlindRsaError("modulus too small")
    m_hash = hashlib.sha384(message).digest()
    h = hashlib.sha384(b"\0" * 8 + m_hash + salt).digest()
    db = b"\0" * (em_len - len(salt) - HASH_LEN - 2) + b"\x01" + salt
    masked = bytearray(a ^ b for a, b in zip(db, mgf1(h, len(db))))
    masked[0] &= 0xFF >> (8 * em_len - em_bits)
    return bytes(masked) + h + b"\xbc"


def blind(key, message, salt=None, r=None):
    """Steps 1-2: returns `(blinded bytes, r)`. `salt` and `r` are drawn when not given (tests give them)."""
    numbers = key.public_numbers()
    n, e = numbers.n, numbers.e
    salt = secrets.token_bytes(SALT_LEN) if salt is None else salt
    em = int.from_bytes(pss_encode(message, salt, n.bit_length()), "big")
    while r is None:
        candidate = secrets.randbelow(n - 1) + 1
        if math.gcd(candidate, n) == 1:
            r = candidate
    blinded = em * pow(r, e, n) % n
    return blinded.to_bytes(modulus_len(key), "big"), r


def finalize(key, message, blind_signature, r):
    """Step 4: unblinds, and verifies the result as an RSASSA-PSS signature of `message`."""
    n = key.public_numbers().n
    size = modulus_len(key)
    if len(blind_signature) != size or int.from_bytes(blind_signature, "big") >= n:
        raise BlindRsaError("blind signature of the wrong size")
    signature = (int.from_bytes(blind_signature, "big") * pow(r, -1, n) % n).to_bytes(size, "big")
    verify(key, message, signature)
    return signature


def verify(key, message, signature):
    """A coin's check (§6.3): RSASSA-PSS, SHA-384, MGF1-SHA-384, 48-byte salt."""
    try:
        key.verify(signature, message, PSS, hashes.SHA384())
    except InvalidSignature as error:
        raise BlindRsaError("the issuer's signature does not verify") from error
