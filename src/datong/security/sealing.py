"""Secrets the hub must use again later (webhook signing keys) are kept encrypted at rest.

Fernet (AES-128-CBC with HMAC-SHA256, from ``cryptography``) with a key derived by HKDF-SHA256 from
the deployment secret (DATONG_SECRET_KEY), with its own label, so that a copy of the database alone
reveals none of them. Values written before encryption was introduced are read as they are and
sealed again when next written.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "fernet:"


class SecretBox:
    def __init__(self, deployment_secret: str, purpose: bytes = b"datong webhook secrets") -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(deployment_secret.encode())
        self.fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, plain: str) -> str:
        return PREFIX + self.fernet.encrypt(plain.encode()).decode()

    def open(self, stored: str) -> str:
        """The plain secret; a value stored before sealing existed comes back unchanged."""
        if not stored.startswith(PREFIX):
            return stored
        return self.fernet.decrypt(stored[len(PREFIX):].encode()).decode()
