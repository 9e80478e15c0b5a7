# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Encryption at rest for etcd snapshots: AES-256-GCM in fixed-size chunks (the STREAM
construction that age and Tink use), from the `cryptography` package.

One GCM message per chunk keeps memory flat and lets the snapshot be encrypted while etcdctl is
still writing it. Each chunk's nonce is a random 7-byte prefix, a 4-byte chunk counter and a
1-byte "last chunk" flag, and the header is authenticated with every chunk, so reordered,
dropped, truncated or appended chunks and an edited header all fail to decrypt.

File layout: MAGIC(8) | kdf(1)=1 scrypt | log2 N(1) | r(1) | p(1) | salt(16) | nonce prefix(7) |
chunk size(4, big endian) | chunks, each ciphertext+16-byte tag, the last one flagged (maybe empty).
The key is scrypt(secret, salt); the secret is the passphrase or the content of a key file.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import struct
import traceback

try:
    from cryptography.exceptions import InvalidTag
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # the modules report missing_required_lib when encryption is asked for
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

    class InvalidTag(Exception):  # pylint: disable=function-redefined
        pass

MAGIC = b"CKUETCD1"
KDF_SCRYPT = 1
SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P = 15, 8, 1  # about 0.1 s and 32 MiB, once per file
CHUNK = 64 * 1024
TAG = 16
_HEADER = struct.Struct(">8sBBBB16s7sI")
HEADER_LEN = _HEADER.size


class CryptoError(Exception):
    pass


def read_secret(passphrase=None, key_file=None):
    """The secret bytes from exactly one of a passphrase or a key file."""
    if passphrase and key_file:
        raise CryptoError("give either a passphrase or a key file, not both")
    if passphrase:
        return passphrase.encode("utf-8")
    if key_file:
        try:
            with open(key_file, "rb") as f:
                data = f.read()
        except (IOError, OSError) as exc:
            raise CryptoError("cannot read the key file %s: %s" % (key_file, exc))
        if not data.strip():
            raise CryptoError("the key file %s is empty" % key_file)
        return data
    return None


def _derive(secret, salt, log2n, r, p):
    if not HAS_CRYPTOGRAPHY:
        raise CryptoError("the cryptography Python library is needed for encrypted snapshots")
    return Scrypt(salt=salt, length=32, n=2 ** log2n, r=r, p=p).derive(secret)


def _nonce(prefix, counter, last):
    if counter >= 2 ** 32:
        raise CryptoError("snapshot too large for one encrypted stream")
    return prefix + struct.pack(">IB", counter, 1 if last else 0)


def is_encrypted(path):
    """True when the file starts with this format's magic bytes."""
    with open(path, "rb") as f:
        return f.read(len(MAGIC)) == MAGIC


class Encryptor:
    """Encrypts a stream given in arbitrary pieces into `out` (a binary file object).

    `on_write(bytes)` sees every byte written, so the caller can hash the file at rest without
    reading it again.
    """

    def __init__(self, secret, out, on_write=None):
        salt = os.urandom(16)
        self._prefix = os.urandom(7)
        self._header = _HEADER.pack(MAGIC, KDF_SCRYPT, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P, salt, self._prefix, CHUNK)
        self._aead = AESGCM(_derive(secret, salt, SCRYPT_LOG2N, SCRYPT_R, SCRYPT_P))
        self._out = out
        self._on_write = on_write
        self._buf = bytearray()
        self._counter = 0
        self._write(self._header)

    def _write(self, data):
        self._out.write(data)
        if self._on_write:
            self._on_write(data)

    def _seal(self, data, last):
        self._write(self._aead.encrypt(_nonce(self._prefix, self._counter, last), bytes(data), self._header))
        self._counter += 1

    def update(self, data):
        self._buf += data
        # Keep at least one byte back: the last chunk must be sealed with the "last" flag.
        while len(self._buf) > CHUNK:
            self._seal(self._buf[:CHUNK], False)
            del self._buf[:CHUNK]

    def finish(self):
        self._seal(self._buf, True)
        self._buf = bytearray()


def decrypt_stream(secret, src, write):
    """Decrypts the binary file object `src`, passing each verified plaintext chunk to `write`.

    Plaintext is released chunk by chunk, each one authenticated; a stream cut short is detected
    at the end, so the caller must discard what it wrote when this raises.
    """
    header = src.read(HEADER_LEN)
    if len(header) < HEADER_LEN or header[: len(MAGIC)] != MAGIC:
        raise CryptoError("not an encrypted snapshot of this collection (bad header)")
    magic, kdf, log2n, r, p, salt, prefix, chunk = _HEADER.unpack(header)
    if kdf != KDF_SCRYPT or not 10 <= log2n <= 22 or chunk != CHUNK:
        raise CryptoError("unsupported encryption parameters in the snapshot header")
    aead = AESGCM(_derive(secret, salt, log2n, r, p))
    size = chunk + TAG
    counter = 0
    current = src.read(size)
    while True:
        following = src.read(size) if len(current) == size else b""
        last = not following
        if len(current) < TAG:
            raise CryptoError("encrypted snapshot is truncated")
        try:
            plain = aead.decrypt(_nonce(prefix, counter, last), current, header)
        except InvalidTag:
            if counter == 0:
                raise CryptoError("cannot decrypt the snapshot: wrong passphrase or key file, or the file is corrupted")
            raise CryptoError("encrypted snapshot is corrupted or truncated (chunk %d failed authentication)" % counter)
        write(plain)
        if last:
            return
        counter += 1
        current = following
