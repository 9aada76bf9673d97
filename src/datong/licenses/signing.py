"""Seal keys: SM2 with SM3 (default, through Tongsuo), Ed25519 and ECDSA P-256 (``cryptography``).

One small surface for all three: generate a key, sign bytes, verify bytes, and move keys in and out
as PEM. Signatures are DER for SM2 and P-256 and the raw 64 bytes for Ed25519, as each standard
writes them. Public keys are parsed once per process (verifying is the hot path).
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import orjson
import rfc8785
from cryptography.exceptions import InvalidSignature as CryptoInvalid
from cryptography.hazmat.primitives import hashes as c_hashes
from cryptography.hazmat.primitives import serialization as c_ser
from cryptography.hazmat.primitives.asymmetric import ec as c_ec
from cryptography.hazmat.primitives.asymmetric import ed25519
from tongsuopy.crypto import hashes as t_hashes
from tongsuopy.crypto import serialization as t_ser
from tongsuopy.crypto.asymciphers import ec as t_ec
from tongsuopy.crypto.exceptions import InvalidSignature as TongsuoInvalid

SM2, ED25519, P256 = "sm2", "ed25519", "p256"
ALGORITHMS = (SM2, ED25519, P256)
#: What each algorithm is called in documents (JOSE names where there is one).
NAMES = {SM2: "SM2-with-SM3", ED25519: "Ed25519", P256: "ES256"}


def canonical(document: dict) -> bytes:
    """The bytes that are signed: RFC 8785 JSON canonicalisation.

    ``rfc8785`` is pure Python and costs as much per licence as an Ed25519 verification. For JSON
    made of strings, safe integers, booleans and null whose object keys lie in the Basic
    Multilingual Plane, ``orjson`` with sorted keys writes the same bytes (RFC 8785 escapes exactly
    what it escapes, and sorting by UTF-16 code units equals sorting by code points there) in a
    tenth of the time; anything else (floats, astral-plane keys, huge integers) goes to
    ``rfc8785``. The tests compare both on generated documents."""
    if _plain(document):
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)
    return rfc8785.dumps(document)


def presented_bytes(document: dict) -> tuple[bytes, bool]:
    """The bytes to check a presented document's signature over, without walking it first: any
    exact serialisation is sound for checking (a valid signature means these bytes are the signed
    ones, so the values are the signed values). Returns (bytes, whether they are surely RFC 8785):
    when they are not and the signature fails, the caller tries :func:`canonical`."""
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS), False
    except (TypeError, orjson.JSONEncodeError):
        return rfc8785.dumps(document), True


_SAFE = 2**53 - 1


def _plain(value) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is int:
            if -_SAFE <= item <= _SAFE:
                continue
            return False
        if kind is dict:
            for key, inner in item.items():
                if type(key) is not str or not (key.isascii() or max(key) < "\U00010000"):
                    return False
                stack.append(inner)
            continue
        if kind is list:
            stack.extend(item)
            continue
        return False
    return True


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def digest(data: bytes, algorithm: str) -> bytes:
    """SM3 for SM2 keys (the 国密 suite keeps together), SHA-256 otherwise."""
    if algorithm != SM2:
        return hashlib.sha256(data).digest()
    hasher = c_hashes.Hash(c_hashes.SM3())
    hasher.update(data)
    return hasher.finalize()


def generate(algorithm: str):
    if algorithm == SM2:
        return t_ec.generate_private_key(t_ec.SM2())
    if algorithm == ED25519:
        return ed25519.Ed25519PrivateKey.generate()
    if algorithm == P256:
        return c_ec.generate_private_key(c_ec.SECP256R1())
    raise ValueError(f"unknown algorithm {algorithm!r}")


def private_pem(key, algorithm: str) -> str:
    ser = t_ser if algorithm == SM2 else c_ser
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.PKCS8, ser.NoEncryption()).decode()


def public_pem(key, algorithm: str) -> str:
    ser = t_ser if algorithm == SM2 else c_ser
    return key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo).decode()


@lru_cache(maxsize=256)
def load_private(algorithm: str, pem: str):
    ser = t_ser if algorithm == SM2 else c_ser
    return ser.load_pem_private_key(pem.encode(), password=None)


@lru_cache(maxsize=4096)
def load_public(algorithm: str, pem: str):
    ser = t_ser if algorithm == SM2 else c_ser
    return ser.load_pem_public_key(pem.encode())


def sign(key, algorithm: str, data: bytes) -> bytes:
    if algorithm == SM2:
        return key.sign(data, t_ec.ECDSA(t_hashes.SM3()))
    if algorithm == ED25519:
        return key.sign(data)
    return key.sign(data, c_ec.ECDSA(c_hashes.SHA256()))


def verify(public_key, algorithm: str, signature: bytes, data: bytes) -> bool:
    try:
        if algorithm == SM2:
            public_key.verify(signature, data, t_ec.ECDSA(t_hashes.SM3()))
        elif algorithm == ED25519:
            public_key.verify(signature, data)
        else:
            public_key.verify(signature, data, c_ec.ECDSA(c_hashes.SHA256()))
    except (CryptoInvalid, TongsuoInvalid, ValueError):
        return False
    return True


def verify_pem(public: str, algorithm: str, signature: bytes, data: bytes) -> bool:
    try:
        key = load_public(algorithm, public)
    except ValueError:
        return False
    return verify(key, algorithm, signature, data)
