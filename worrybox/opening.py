"""Open what was sealed: private keys, unwrapping, and keys wrapped under a password or recovery code.

Only the staff console and the command line load this module; the kiosk never does (a test checks).
"""

import base64
import os
import secrets

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .sealing import FORMAT_VERSION, MLKEM_SEED_LEN, PRIVATE_KEY_LEN, SUITE, content_key_info

# Argon2id for keys wrapped under a password or recovery code (OWASP: >= 46 MiB).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1


class OpenError(Exception):
    """A sealed value did not open: wrong key, wrong place, or tampered with."""


def generate_private_key() -> bytes:
    """Return a new private key (ML-KEM-768 seed followed by an X25519 scalar)."""
    mlkem_seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
    x_raw = x25519.X25519PrivateKey.generate().private_bytes_raw()
    return mlkem_seed + x_raw


def _private(raw: bytes) -> hpke.MLKEM768X25519PrivateKey:
    if len(raw) != PRIVATE_KEY_LEN:
        raise OpenError("not a private key")
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:MLKEM_SEED_LEN]),
        x25519.X25519PrivateKey.from_private_bytes(raw[MLKEM_SEED_LEN:]),
    )


def public_key_of(private_raw: bytes) -> bytes:
    """Return the public key that belongs to a private key."""
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_raw[:MLKEM_SEED_LEN])
    x_key = x25519.X25519PrivateKey.from_private_bytes(private_raw[MLKEM_SEED_LEN:])
    return mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()


def open_sealed(body: bytes, key_id: str, sealed_key: bytes, private_raw: bytes, aad: bytes) -> bytes:
    """Open a sealed body with one recipient's private key; raise OpenError if it will not open."""
    try:
        if sealed_key[:1] != bytes([FORMAT_VERSION]) or body[:1] != bytes([FORMAT_VERSION]):
            raise OpenError("unknown format version")
        content_key = SUITE.decrypt(sealed_key[1:], _private(private_raw), content_key_info(key_id, aad))
        nonce, ciphertext = body[1:13], body[13:]
        return ChaCha20Poly1305(content_key).decrypt(nonce, ciphertext, body[:1] + aad)
    except OpenError:
        raise
    except (InvalidTag, ValueError, TypeError) as exc:
        raise OpenError("sealed value did not open") from exc
    except Exception as exc:  # the Rust bindings raise their own error types on a bad ciphertext
        raise OpenError("sealed value did not open") from exc


def unwrap_with_private(private_raw: bytes, wrapped: bytes, context: bytes) -> bytes:
    """Unwrap a secret wrapped with wrap_to_public; raise OpenError if it will not open."""
    try:
        if wrapped[:1] != bytes([FORMAT_VERSION]):
            raise OpenError("unknown format version")
        return SUITE.decrypt(wrapped[1:], _private(private_raw), b"worrybox/v1 wrap|" + context)
    except OpenError:
        raise
    except Exception as exc:
        raise OpenError("wrapped key did not open") from exc


def _derive(passphrase: str, salt: bytes, time_cost: int, memory_kib: int, parallelism: int) -> bytes:
    return hash_secret_raw(
        passphrase.encode("utf-8"), salt, time_cost=time_cost, memory_cost=memory_kib,
        parallelism=parallelism, hash_len=32, type=Type.ID,
    )


def wrap_with_passphrase(passphrase: str, secret: bytes, context: bytes) -> bytes:
    """Wrap a secret under a key derived from a password or recovery code (Argon2id)."""
    salt = os.urandom(16)
    nonce = os.urandom(12)
    header = bytes([FORMAT_VERSION]) + ARGON2_TIME_COST.to_bytes(1, "big") + ARGON2_MEMORY_KIB.to_bytes(4, "big") \
        + ARGON2_PARALLELISM.to_bytes(1, "big") + salt + nonce
    key = _derive(passphrase, salt, ARGON2_TIME_COST, ARGON2_MEMORY_KIB, ARGON2_PARALLELISM)
    return header + ChaCha20Poly1305(key).encrypt(nonce, secret, header + context)


def unwrap_with_passphrase(passphrase: str, wrapped: bytes, context: bytes) -> bytes:
    """Unwrap a secret wrapped with wrap_with_passphrase; raise OpenError on a wrong passphrase."""
    if len(wrapped) < 35 or wrapped[0] != FORMAT_VERSION:
        raise OpenError("unknown format version")
    time_cost, memory_kib, parallelism = wrapped[1], int.from_bytes(wrapped[2:6], "big"), wrapped[6]
    if memory_kib < 8 * 1024 or time_cost < 1:
        raise OpenError("refusing weak key-derivation parameters")
    salt, nonce, header = wrapped[7:23], wrapped[23:35], wrapped[:35]
    key = _derive(passphrase, salt, time_cost, memory_kib, parallelism)
    try:
        return ChaCha20Poly1305(key).decrypt(nonce, wrapped[35:], header + context)
    except InvalidTag as exc:
        raise OpenError("wrong password or recovery code") from exc


def new_recovery_code() -> str:
    """Return a new recovery code: 160 random bits as eight groups of base32 letters."""
    raw = base64.b32encode(secrets.token_bytes(20)).decode()
    return "-".join(raw[i:i + 4] for i in range(0, len(raw), 4))


def normalise_recovery_code(code: str) -> str:
    """Return a recovery code as typed, without spaces, dashes or case differences."""
    return "".join(ch for ch in code.upper() if ch.isalnum())
