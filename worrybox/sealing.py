"""Seal and open worries: HPKE (ML-KEM-768 + X25519) to each recipient, an AEAD for the content.

Formats carry a leading version byte so they can change. Every sealed value is bound to
the place it belongs (row id, record kind, key id) through associated data, so a value
copied to another row, or a flipped byte, fails to open.
"""

import base64
import hashlib
import os
import secrets
from dataclasses import dataclass

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hpke
from cryptography.hazmat.primitives.asymmetric import mlkem, x25519
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

FORMAT_VERSION = 1
SUITE = hpke.Suite(hpke.KEM.MLKEM768_X25519, hpke.KDF.HKDF_SHA256, hpke.AEAD.CHACHA20_POLY1305)
_MLKEM_SEED_LEN = 64
_MLKEM_PUBLIC_LEN = 1184
_X25519_LEN = 32
PRIVATE_KEY_LEN = _MLKEM_SEED_LEN + _X25519_LEN
PUBLIC_KEY_LEN = _MLKEM_PUBLIC_LEN + _X25519_LEN

# Argon2id for keys wrapped under a password or recovery code (OWASP: >= 46 MiB).
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 64 * 1024
ARGON2_PARALLELISM = 1


class OpenError(Exception):
    """A sealed value did not open: wrong key, wrong place, or tampered with."""


@dataclass(frozen=True)
class Sealed:
    """A sealed value: the encrypted body and its content key sealed to each recipient."""

    body: bytes
    keys: dict[str, bytes]


def generate_private_key() -> bytes:
    """Return a new private key (ML-KEM-768 seed followed by an X25519 scalar)."""
    mlkem_seed = mlkem.MLKEM768PrivateKey.generate().private_bytes_raw()
    x_raw = x25519.X25519PrivateKey.generate().private_bytes_raw()
    return mlkem_seed + x_raw


def _private(raw: bytes) -> hpke.MLKEM768X25519PrivateKey:
    if len(raw) != PRIVATE_KEY_LEN:
        raise OpenError("not a private key")
    return hpke.MLKEM768X25519PrivateKey(
        mlkem.MLKEM768PrivateKey.from_seed_bytes(raw[:_MLKEM_SEED_LEN]),
        x25519.X25519PrivateKey.from_private_bytes(raw[_MLKEM_SEED_LEN:]),
    )


def public_key_of(private_raw: bytes) -> bytes:
    """Return the public key that belongs to a private key."""
    mlkem_key = mlkem.MLKEM768PrivateKey.from_seed_bytes(private_raw[:_MLKEM_SEED_LEN])
    x_key = x25519.X25519PrivateKey.from_private_bytes(private_raw[_MLKEM_SEED_LEN:])
    return mlkem_key.public_key().public_bytes_raw() + x_key.public_key().public_bytes_raw()


def fingerprint(public_raw: bytes) -> str:
    """A public key's SHA-256 fingerprint, stored beside it so that a damaged key is noticed, never used."""
    return hashlib.sha256(b"worrybox public key|" + public_raw).hexdigest()


def load_public_key(raw: bytes) -> hpke.MLKEM768X25519PublicKey:
    """Parse a public key, raising ValueError if it is not a valid one."""
    if not isinstance(raw, bytes) or len(raw) != PUBLIC_KEY_LEN:
        raise ValueError("a public key is %d bytes" % PUBLIC_KEY_LEN)
    return hpke.MLKEM768X25519PublicKey(
        mlkem.MLKEM768PublicKey.from_public_bytes(raw[:_MLKEM_PUBLIC_LEN]),
        x25519.X25519PublicKey.from_public_bytes(raw[_MLKEM_PUBLIC_LEN:]),
    )


def _key_info(key_id: str, aad: bytes) -> bytes:
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
        key_id: version + SUITE.encrypt(content_key, load_public_key(public_raw), _key_info(key_id, aad))
        for key_id, public_raw in recipients.items()
    }
    return Sealed(body=body, keys=keys)


def open_sealed(body: bytes, key_id: str, sealed_key: bytes, private_raw: bytes, aad: bytes) -> bytes:
    """Open a sealed body with one recipient's private key; raise OpenError if it will not open."""
    try:
        if sealed_key[:1] != bytes([FORMAT_VERSION]) or body[:1] != bytes([FORMAT_VERSION]):
            raise OpenError("unknown format version")
        content_key = SUITE.decrypt(sealed_key[1:], _private(private_raw), _key_info(key_id, aad))
        nonce, ciphertext = body[1:13], body[13:]
        return ChaCha20Poly1305(content_key).decrypt(nonce, ciphertext, body[:1] + aad)
    except OpenError:
        raise
    except (InvalidTag, ValueError, TypeError) as exc:
        raise OpenError("sealed value did not open") from exc
    except Exception as exc:  # the Rust bindings raise their own error types on a bad ciphertext
        raise OpenError("sealed value did not open") from exc


def wrap_to_public(public_raw: bytes, secret: bytes, context: bytes) -> bytes:
    """Wrap a secret (such as a team private key) to one holder's public key."""
    return bytes([FORMAT_VERSION]) + SUITE.encrypt(secret, load_public_key(public_raw), b"worrybox/v1 wrap|" + context)


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


def new_key_id(prefix: str) -> str:
    """Return a new random key id such as 'team-3f9a1c2b'."""
    return "%s-%s" % (prefix, secrets.token_hex(4))
