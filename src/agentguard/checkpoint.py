"""Signed checkpoints of the audit log's head: what a hash chain alone cannot show.

The hash chain (:func:`agentguard.audit.verify_chain`) finds a record edited, inserted or
removed between others. A log cut at its end is still a perfect chain, though: delete the
newest records and wind SQLite's sequence back, or delete every record, and what is left
verifies. A checkpoint is one line of JSON saying "log L had reached record S, whose hash
is H, at time T", signed with an Ed25519 key kept outside the database::

    {"v":1,"log":"<hash of record 1>","seq":1042,"hash":"<hash of record 1042>",
     "time":"2026-03-15T14:00:00.000000Z","key":"<key id>","sig":"<base64 signature>"}

Kept where whoever can write the store cannot rewrite it (a file on another machine, an
HTTP endpoint), checkpoints make ``agentguard audit verify --checkpoint FILE`` fail when the
log no longer reaches one of their heads. Since every record's hash seals all the records
before it, one checkpoint vouches for the whole log up to its head.

This module makes, signs and checks checkpoints. Make a key with ``agentguard audit keygen
--key audit.key``; then write checkpoints by hand (``agentguard audit checkpoint``) or let
the guard write them as it appends (:class:`agentguard.checkpointer.Checkpointer`, set up by
a policy's ``audit_checkpoints:``).

Example::

    signer = Signer.from_file(Path("audit.key"))
    checkpoint = signer.sign(log=log_identity(store), seq=head.seq, hash=head.hash, time=now)
    report = verify_checkpoints(lines, store.search(AuditQuery()), signer.public_key)
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agentguard.audit import AuditRecord, canonical_json
from agentguard.errors import AgentGuardError
from agentguard.store.base import AuditQuery, AuditStore

VERSION = 1


class CheckpointError(AgentGuardError):
    """A checkpoint cannot be made, written, read or trusted; the message says why."""

    code = "audit.checkpoint"


# ----------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """A signed statement that the log ``log`` had reached record ``seq`` with ``hash``.

    ``log`` names the log by the hash of its first record; ``key`` is the id of the signing
    key (:func:`key_id`); ``sig`` is the Ed25519 signature of :meth:`payload`.
    """

    log: str
    seq: int
    hash: str
    time: str
    key: str
    sig: str

    def payload(self) -> bytes:
        """The exact bytes the signature covers: canonical JSON of every field but ``sig``."""
        return _payload(self.log, self.seq, self.hash, self.time, self.key)

    def to_json(self) -> str:
        """One line of JSON (no newline)."""
        return canonical_json(
            {
                "v": VERSION,
                "log": self.log,
                "seq": self.seq,
                "hash": self.hash,
                "time": self.time,
                "key": self.key,
                "sig": self.sig,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Checkpoint:
        """Parse one line written by :meth:`to_json`; raises :class:`CheckpointError`."""
        try:
            data = json.loads(text)
        except ValueError:
            raise CheckpointError("not JSON") from None
        if not isinstance(data, dict):
            raise CheckpointError("not a JSON object")
        if data.get("v") != VERSION:
            raise CheckpointError(f"unknown checkpoint version {data.get('v')!r}")
        seq = data.get("seq")
        if type(seq) is not int or seq < 1:
            raise CheckpointError("its seq is not a record number")
        texts: dict[str, str] = {}
        for name in ("log", "hash", "time", "key", "sig"):
            value = data.get(name)
            if not isinstance(value, str) or not value:
                raise CheckpointError(f"its {name!r} is missing")
            texts[name] = value
        return cls(texts["log"], seq, texts["hash"], texts["time"], texts["key"], texts["sig"])

    def signed_by(self, public_key: Ed25519PublicKey) -> bool:
        """Whether ``public_key`` made this checkpoint's signature over its fields."""
        try:
            signature = base64.b64decode(self.sig, validate=True)
            public_key.verify(signature, self.payload())
        except (InvalidSignature, binascii.Error, ValueError):
            return False
        return True


def _payload(log: str, seq: int, digest: str, time: str, key: str) -> bytes:
    document = {"v": VERSION, "log": log, "seq": seq, "hash": digest, "time": time, "key": key}
    return canonical_json(document).encode()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


# ------------------------------------------------------------------------------- keys


def key_id(public_key: Ed25519PublicKey) -> str:
    """A short id of a public key: the first 16 hex digits of SHA-256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> str:
    """The public key as PEM text, for ``audit verify --public-key``."""
    return public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def generate_key(path: Path) -> Ed25519PublicKey:
    """Write a new Ed25519 private key to ``path`` (PEM, mode 0600) and return its public key.

    An existing file is never overwritten: checkpoints signed with the key it holds could no
    longer be checked.
    """
    private_key = Ed25519PrivateKey.generate()
    pem = private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CheckpointError(
            f"{str(path)!r} exists; a key file is never overwritten (the checkpoints it "
            "signed could no longer be checked)"
        ) from None
    except OSError as exc:
        raise CheckpointError(f"cannot create the key file {str(path)!r}: {exc.strerror}") from None
    with os.fdopen(fd, "wb") as stream:
        stream.write(pem)
    return private_key.public_key()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        hint = "; create one with: agentguard audit keygen --key FILE" if "private" in what else ""
        raise CheckpointError(f"no {what} at {str(path)!r}{hint}") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read the {what} {str(path)!r}: {exc.strerror}") from None


class Signer:
    """Signs checkpoints with an Ed25519 private key."""

    def __init__(self, private_key: Ed25519PrivateKey) -> None:
        self._private_key = private_key
        self.public_key = private_key.public_key()
        self.key_id = key_id(self.public_key)

    @classmethod
    def from_file(cls, path: Path) -> Signer:
        """Load a key written by :func:`generate_key` (or any unencrypted Ed25519 PEM key).

        Like ssh, refuses a key file that other users may read: whoever reads it can forge
        checkpoints.
        """
        data = _read(path, "private key file")
        if os.name == "posix":
            try:
                mode = path.stat().st_mode & 0o777
            except OSError as exc:
                raise CheckpointError(f"cannot read {str(path)!r}: {exc.strerror}") from None
            if mode & 0o077:
                raise CheckpointError(
                    f"the key file {str(path)!r} can be read by other users (mode {mode:o}); "
                    f"make it private with: chmod 600 {path}"
                )
        return cls(_private_key(data, path))

    def sign(self, *, log: str, seq: int, hash: str, time: datetime) -> Checkpoint:
        """A checkpoint of record ``seq`` (with ``hash``) of the log ``log``."""
        if seq < 1:
            raise CheckpointError("an empty log has no head to checkpoint")
        stamp = _iso(time)
        signature = self._private_key.sign(_payload(log, seq, hash, stamp, self.key_id))
        return Checkpoint(
            log, seq, hash, stamp, self.key_id, base64.b64encode(signature).decode("ascii")
        )


def _private_key(data: bytes, path: Path) -> Ed25519PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PrivateKey):
        raise CheckpointError(
            f"{str(path)!r} is not an unencrypted Ed25519 private key in PEM "
            "(make one with: agentguard audit keygen --key FILE)"
        )
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """The public key in ``path``: a PEM public key, or a private key file's public half."""
    data = _read(path, "public key file")
    if b"PRIVATE KEY" in data:
        return Signer.from_file(path).public_key
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        key = None
    if not isinstance(key, Ed25519PublicKey):
        raise CheckpointError(
            f"{str(path)!r} is not an Ed25519 public key in PEM "
            "(print one with: agentguard audit public-key --key FILE)"
        )
    return key


# ----------------------------------------------------------------------- verification


@dataclass(frozen=True, slots=True)
class CheckpointReport:
    """The result of :func:`verify_checkpoints`: how many checkpoints held, and each
    problem found (a bad signature, a head the log no longer reaches) as a sentence."""

    checked: int
    problems: tuple[str, ...]
    newest: int | None = None  # the highest record a good checkpoint vouches for

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_checkpoints(
    lines: Iterable[str], records: Iterable[AuditRecord], public_key: Ed25519PublicKey
) -> CheckpointReport:
    """Check checkpoint lines (a checkpoint file's) against the log's records, ascending.

    Every checkpoint must carry a good signature by ``public_key``, and the log must still
    reach its head: hold a record at its ``seq`` with its ``hash``. Run it beside
    :func:`~agentguard.audit.verify_chain`, which shows the records up to there unaltered.
    """
    problems: list[str] = []
    good: list[tuple[int, Checkpoint]] = []
    expected_key = key_id(public_key)
    seen = 0
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        seen += 1
        try:
            checkpoint = Checkpoint.from_json(line)
        except CheckpointError as exc:
            problems.append(f"line {number} is not a checkpoint: {exc.message}")
            continue
        name = f"checkpoint of record {checkpoint.seq} (line {number}, {checkpoint.time})"
        if checkpoint.key != expected_key:
            problems.append(
                f"{name} was signed by key {checkpoint.key}, not by the public key given "
                f"({expected_key})"
            )
        elif not checkpoint.signed_by(public_key):
            problems.append(f"{name} has a bad signature: it was forged or altered")
        else:
            good.append((number, checkpoint))
    if seen == 0:
        return CheckpointReport(0, ("there is no checkpoint to check the log against",))

    wanted = {checkpoint.seq for _, checkpoint in good}
    found: dict[int, str] = {}
    first: str | None = None
    last = 0
    for record in records:
        if first is None:
            first = record.hash
        last = max(last, record.seq)
        if record.seq in wanted:
            found[record.seq] = record.hash

    checked = 0
    newest: int | None = None
    for number, checkpoint in good:
        seq = checkpoint.seq
        name = f"checkpoint of record {seq} (line {number}, {checkpoint.time})"
        if seq not in found:
            if last == 0:
                where = "the log is empty"
            elif last < seq:
                where = f"the log ends at record {last}"
            else:
                where = f"record {seq} is missing"
            problems.append(
                f"{name}: {where}, but the checkpoint shows the log reached record {seq}: "
                "records were deleted"
            )
        elif found[seq] != checkpoint.hash:
            problems.append(
                f"{name}: record {seq} is not the record the checkpoint signed: the log was "
                "rewritten (or it is another log)"
            )
        elif checkpoint.log != first:
            problems.append(f"{name} is of another log (its first record differs)")
        else:
            checked += 1
            newest = seq if newest is None else max(newest, seq)
    return CheckpointReport(checked, tuple(problems), newest)


def log_identity(store: AuditStore) -> str | None:
    """The hash of the log's first record, which names the log; None while it is empty."""
    first = next(iter(store.search(AuditQuery(limit=1))), None)
    return None if first is None else first.hash
