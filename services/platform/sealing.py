"""Encryption with keys kept outside the database: `cryptography`'s AES-256-GCM, nothing made by hand.

Two envelopes:
- a stream (a backup): a header (magic, a random salt, a key check), then chunks of `CHUNK` bytes, each sealed
  with a key derived for this file (HKDF over the salt) and a nonce made of the chunk's index and a flag set on
  the last chunk only, the header as associated data (the STREAM construction). A reordered, dropped, altered
  or cut-off chunk fails to open; so does a file missing its last chunk.
- a file at rest (a scanned paper): magic, a random nonce, the content sealed with the sha256 it is stored
  under as associated data, so one file cannot stand in for another.
"""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

STREAM_MAGIC = b"HOSOBAK\x01"
FILE_MAGIC = b"HOSOENC\x01"
CHUNK = 1024 * 1024
TAG = 16
SALT = 16
CHECK = 32
HEADER = len(STREAM_MAGIC) + SALT + CHECK
NONCE = 12


class NotSealed(Exception):
    """The bytes do not start as this envelope does."""


class WrongKey(Exception):
    """The key check in the header does not match the key given."""


class Damaged(Exception):
    """A chunk or file does not open: altered, reordered, or cut off."""


def derive(key: bytes, purpose: bytes, salt: bytes | None = None) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"hoso " + purpose).derive(key)


def _nonce(index: int, final: bool) -> bytes:
    return index.to_bytes(NONCE - 1, "big") + (b"\x01" if final else b"\x00")


class SealedWriter:
    """Seals what is written to `out` chunk by chunk; `close` seals the last one (possibly empty)."""

    def __init__(self, out: BinaryIO, key: bytes) -> None:
        salt = os.urandom(SALT)
        self.header = STREAM_MAGIC + salt + derive(key, b"backup check", salt)
        self.aead = AESGCM(derive(key, b"backup data", salt))
        self.out, self.buffer, self.index = out, bytearray(), 0
        out.write(self.header)

    def write(self, data: bytes) -> None:
        self.buffer += data
        while len(self.buffer) > CHUNK:  # keep one back: the last chunk is sealed as the last by `close`
            self._seal(bytes(self.buffer[:CHUNK]), final=False)
            del self.buffer[:CHUNK]

    def close(self) -> None:
        self._seal(bytes(self.buffer), final=True)
        self.buffer.clear()

    def _seal(self, chunk: bytes, final: bool) -> None:
        self.out.write(self.aead.encrypt(_nonce(self.index, final), chunk, self.header))
        self.index += 1


def open_stream(source: BinaryIO, key: bytes) -> Iterator[bytes]:
    """The plaintext chunks of a sealed stream, each checked before it is handed out. Raises NotSealed,
    WrongKey or Damaged (also for a stream that ends before its last chunk)."""
    header = source.read(HEADER)
    if len(header) < HEADER or not header.startswith(STREAM_MAGIC):
        raise NotSealed()
    salt = header[len(STREAM_MAGIC):len(STREAM_MAGIC) + SALT]
    if not hmac.compare_digest(header[-CHECK:], derive(key, b"backup check", salt)):
        raise WrongKey()
    aead = AESGCM(derive(key, b"backup data", salt))
    index, block = 0, source.read(CHUNK + TAG)
    while True:
        following = source.read(CHUNK + TAG) if len(block) == CHUNK + TAG else b""
        final = not following
        try:
            yield aead.decrypt(_nonce(index, final), block, header)
        except InvalidTag:
            raise Damaged() from None
        if final:
            return
        index, block = index + 1, following


def file_cipher(key: bytes) -> AESGCM:
    """The cipher of the attachments at rest, derived once from HOSO_STORAGE_KEY."""
    return AESGCM(derive(key, b"attachments"))


def seal_file(cipher: AESGCM, digest: str, content: bytes) -> bytes:
    nonce = os.urandom(NONCE)
    return FILE_MAGIC + nonce + cipher.encrypt(nonce, content, FILE_MAGIC + digest.encode())


def is_sealed_file(data: bytes) -> bool:
    return data.startswith(FILE_MAGIC)


def open_file(cipher: AESGCM, digest: str, data: bytes) -> bytes:
    if not is_sealed_file(data):
        raise NotSealed()
    nonce, body = data[len(FILE_MAGIC):len(FILE_MAGIC) + NONCE], data[len(FILE_MAGIC) + NONCE:]
    try:
        return cipher.decrypt(nonce, body, FILE_MAGIC + digest.encode())
    except InvalidTag:
        raise Damaged() from None
