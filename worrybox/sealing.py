"""Seal worries to public keys: HPKE (ML-KEM-768 + X25519) to each recipient, an AEAD for the content.

This side holds no private key and no code that uses one: the kiosk imports it. Opening, unwrapping
and passphrase wraps live in worrybox.opening, which the kiosk never loads.

Formats carry a leading version byte so they can change. Every sealed value is bound to
the place it belongs (row id, record kind, key id) through associated data, so a value
copied to another row, or a flipped byte, fails to open.
"""

import functools
import hashlib
import os
import secrets
from dataclasses import dataclass

from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

FORMAT_VERSION = 1
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
MLKEM_SEED_LEN = 64
MLKEM_PUBLIC_LEN = 1184
X25519_LEN = 32
PRIVATE_KEY_LEN = MLKEM_SEED_LEN + X25519_LEN
PUBLIC_KEY_LEN = MLKEM_PUBLIC_LEN + X25519_LEN


@dataclass(frozen=True)
class Sealed:
    """A sealed value: the encrypted body and its content key sealed to each recipient."""

    body: bytes
    keys: dict[str, bytes]


def fingerprint(public_raw: bytes) -> str:
    """A public key's SHA-256 fingerprint, stored beside it so that a damaged key is noticed, never used."""
    return hashlib.sha256(b"worrybox public key|" + public_raw).hexdigest()


def load_public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Parse a public key, raising ValueError if it is not a valid one."""
    if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_LEN:
        raise ValueError("a public key is %d bytes" % PUBLIC_KEY_LEN)
    return _parse_public_key(raw)


# Parsing an ML-KEM key costs about a fifth of sealing, and a kiosk post checked and used the same team key
# three times. Keyed by the exact bytes, so a changed or damaged key is parsed (and refused) afresh.
@functools.lru_cache(maxsize=64)
def _parse_public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:MLKEM_PUBLIC_LEN]),
        x25519.X25519PublicKey.from_public_bytes(raw[MLKEM_PUBLIC_LEN:]),
    )


def content_key_info(key_id: str, aad: bytes) -> bytes:
    return b"worrybox/v1 content-key|" + key_id.encode() + b"|" + aad


def seal(recipients: dict[str, bytes], plaintext: bytes, aad: bytes) -> Sealed:
    """Encrypt plaintext under a fresh content key sealed to every recipient public key."""
    if not recipients:
        raise ValueError("a worry must be sealed to at least one recipient")
    content_key = ChaCha20Poly1305.generate_key()
    nonce = os.urandom(12)
    version = bytes([FORMAT_VERSION])
    body = version + nonce + ChaCha20Poly1305(content_key).encrypt(nonce, plaintext, version + aad)
    keys = {
        key_id: version + SUITE.encrypt(content_key, load_public_key(public_raw), content_key_info(key_id, aad))
        for key_id, public_raw in recipients.items()
    }
    return Sealed(body=body, keys=keys)


def wrap_to_public(public_raw: bytes, secret: bytes, context: bytes) -> bytes:
    """Wrap a secret (such as a team private key) to one holder's public key."""
    return bytes([FORMAT_VERSION]) + SUITE.encrypt(secret, load_public_key(public_raw), b"worrybox/v1 wrap|" + context)


def new_key_id(prefix: str) -> str:
    """Return a new random key id such as 'team-3f9a1c2b'."""
    return "%s-%s" % (prefix, secrets.token_hex(4))
