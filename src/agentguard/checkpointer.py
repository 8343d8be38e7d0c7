"""When and where signed checkpoints of the audit log are written (see
:mod:`agentguard.checkpoint` for what a checkpoint is and why).

A :class:`Checkpointer` sits behind the guard's audit appends and writes a checkpoint every
N records or T seconds to a sink: a file of JSON lines, or an http(s) URL that each
checkpoint is POSTed to (:func:`open_sink` picks one by the target's form, as stores are
picked by URL). It is set up from a policy's ``audit_checkpoints:`` section::

    audit_checkpoints:
      every: 100          # records
      interval: 60s       # at the first record once this much time has passed
      key: audit.key      # from `agentguard audit keygen`; relative to the policy's folder
      to: https://checkpoints.example.com/agentguard   # or a file: checkpoints.jsonl

Example::

    checkpointer = Checkpointer.from_settings(policy.model.audit_checkpoints, store, base=folder)
    record = store.append(entry)
    checkpointer.after_append(record.seq, record.hash)  # cheap; signs every 100th record
    ...
    checkpointer.flush()  # on shutdown: a checkpoint of the last record
"""

from __future__ import annotations

import logging
import os
import threading
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from agentguard.checkpoint import Checkpoint, CheckpointError, Signer, log_identity
from agentguard.clock import Clock, SystemClock
from agentguard.store.base import AuditStore

if TYPE_CHECKING:
    from agentguard.policy.models import AuditCheckpoints

_log = logging.getLogger("agentguard.checkpoint")


# ------------------------------------------------------------------------------ sinks


class CheckpointSink(Protocol):
    """Where checkpoints go. ``write`` either keeps the checkpoint or raises
    :class:`CheckpointError`; ``where`` names the place in messages (never a secret)."""

    where: str

    def write(self, checkpoint: Checkpoint) -> None: ...


class FileSink:
    """Appends checkpoints to a file, one JSON line each, flushed to disk before returning."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.where = str(path)

    def write(self, checkpoint: Checkpoint) -> None:
        line = (checkpoint.to_json() + "\n").encode()
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                # One write to a file opened for appending: on a local file system, lines
                # that several processes append at once do not interleave.
                written = os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            raise CheckpointError(
                f"cannot append to the checkpoint file {self.where!r}: {exc.strerror}"
            ) from None
        if written != len(line):
            raise CheckpointError(f"the checkpoint file {self.where!r} took only part of a line")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET: report it instead of following it."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)


class WebhookSink:
    """POSTs each checkpoint as JSON to an http(s) URL; any answer but 2xx is a failure."""

    def __init__(self, url: str, *, timeout: float = 5.0) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise CheckpointError("a checkpoint URL must be http:// or https:// with a host")
        self.url = url
        self.timeout = timeout
        # Messages name the endpoint without credentials or query (a token may be there).
        host = parts.hostname + (f":{parts.port}" if parts.port else "")
        self.where = urlunsplit((parts.scheme, host, parts.path, "", ""))

    def write(self, checkpoint: Checkpoint) -> None:
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked: http(s) only
            self.url,
            data=checkpoint.to_json().encode(),
            headers={"Content-Type": "application/json", "User-Agent": "agentguard"},
            method="POST",
        )
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise CheckpointError(f"{self.where} refused the checkpoint: HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            raise CheckpointError(f"cannot POST the checkpoint to {self.where}: {reason}") from None
        if not 200 <= status < 300:
            raise CheckpointError(f"{self.where} refused the checkpoint: HTTP {status}")


def open_sink(target: str, *, base: Path | None = None, timeout: float = 5.0) -> CheckpointSink:
    """A sink for ``target``: an http(s) URL, else a file path (relative to ``base``)."""
    if "://" in target:
        scheme = urlsplit(target).scheme.lower()
        if scheme not in ("http", "https"):
            raise CheckpointError(
                f"cannot send checkpoints to a {scheme}:// URL; give a file or an http(s) URL"
            )
        return WebhookSink(target, timeout=timeout)
    path = Path(target).expanduser()
    if base is not None and not path.is_absolute():
        path = base / path
    if path.is_dir():
        raise CheckpointError(f"{str(path)!r} is a folder; give a file to append checkpoints to")
    if not path.parent.is_dir():
        raise CheckpointError(f"cannot append checkpoints to {str(path)!r}: no such folder")
    return FileSink(path)


# ---------------------------------------------------------------------- checkpointer


class Checkpointer:
    """Writes a checkpoint every ``every`` records and/or every ``interval``, as records are
    appended.

    Call :meth:`after_append` after each committed append: it counts, reads the clock, and
    only when a checkpoint is due signs one (about 50 µs) and hands it to the sink (a file
    append, or a POST bounded by the sink's timeout) on the calling thread, outside any
    lock. ``interval`` is checked at appends: an idle log needs no new checkpoint, its head
    has not moved; call :meth:`flush` on shutdown to cover the last records.

    A sink that fails never fails the append: the record is already committed. The failure
    is logged (logger ``agentguard.checkpoint``), counted in :attr:`failures` and kept for
    :meth:`check`; the next checkpoint is attempted after another ``every`` records or
    ``interval``, and covers every record the failed one would have.
    """

    def __init__(
        self,
        signer: Signer,
        sink: CheckpointSink,
        store: AuditStore,
        *,
        every: int | None = None,
        interval: timedelta | None = None,
        clock: Clock | None = None,
    ) -> None:
        if every is None and interval is None:
            raise ValueError("say when to write a checkpoint: give every, interval, or both")
        if every is not None and every < 1:
            raise ValueError("every must be 1 or more records")
        if interval is not None and interval <= timedelta(0):
            raise ValueError("interval must be longer than zero")
        self.signer = signer
        self.sink = sink
        self._store = store
        self._every = every
        self._interval = interval
        self._clock = clock or SystemClock()
        self._lock = threading.Lock()
        self._count = 0  # records appended since the last checkpoint was due
        self._last_due = self._clock.now()
        self._head: tuple[int, str] | None = None  # the newest record seen
        self._covered = 0  # the highest seq a written checkpoint covers
        self._log: str | None = None
        self._error: CheckpointError | None = None
        #: checkpoints written, and attempts that failed, since this checkpointer was made
        self.written = 0
        self.failures = 0

    @classmethod
    def from_settings(
        cls,
        settings: AuditCheckpoints,
        store: AuditStore,
        *,
        base: Path | None = None,
        clock: Clock | None = None,
    ) -> Checkpointer:
        """Build one from a policy's ``audit_checkpoints:``; ``key`` and a file ``to`` are
        relative to ``base`` (the policy file's folder). Raises :class:`CheckpointError`
        when the key cannot be loaded or the target cannot be used."""
        key_path = Path(settings.key).expanduser()
        if base is not None and not key_path.is_absolute():
            key_path = base / key_path
        sink = open_sink(settings.to, base=base, timeout=settings.timeout.total_seconds())
        return cls(
            Signer.from_file(key_path),
            sink,
            store,
            every=settings.every,
            interval=settings.interval,
            clock=clock,
        )

    def after_append(self, seq: int, hash: str) -> Checkpoint | None:
        """Note that record ``seq`` with ``hash`` was committed; write a checkpoint if one is
        due. Returns the checkpoint written, else None. Never raises."""
        with self._lock:
            self._count += 1
            if self._head is None or seq > self._head[0]:
                self._head = (seq, hash)
            now = self._clock.now()
            due = (self._every is not None and self._count >= self._every) or (
                self._interval is not None and now - self._last_due >= self._interval
            )
            if not due:
                return None
            self._count = 0
            self._last_due = now
            head = self._head
        return self._write(*head, now)

    def flush(self) -> Checkpoint | None:
        """Checkpoint the newest record seen, unless a checkpoint already covers it (call it
        when the guard closes). Returns the checkpoint written, else None; raises
        :class:`CheckpointError` when it cannot be written."""
        with self._lock:
            head = self._head
            if head is None or head[0] <= self._covered:
                return None
            self._count = 0
            self._last_due = now = self._clock.now()
        checkpoint = self._write(*head, now)
        if checkpoint is None:
            self.check()
        return checkpoint

    def check(self) -> None:
        """Raise the last failure to write a checkpoint since the previous call, if any."""
        with self._lock:
            error, self._error = self._error, None
        if error is not None:
            raise error

    def _write(self, seq: int, digest: str, now: datetime) -> Checkpoint | None:
        try:
            checkpoint = self.signer.sign(
                log=self._log_of(seq, digest), seq=seq, hash=digest, time=now
            )
            self.sink.write(checkpoint)
        except Exception as exc:
            # Whatever failed (the sink, the store read of the log's name), the record is
            # committed already: report, never raise into the append.
            error = (
                exc
                if isinstance(exc, CheckpointError)
                else CheckpointError(
                    f"checkpoint of record {seq} not written: {getattr(exc, 'message', exc)}"
                )
            )
            with self._lock:
                self._error = error
                self.failures += 1
            _log.warning("audit checkpoint of record %d not written: %s", seq, error.message)
            return None
        with self._lock:
            self.written += 1
            self._covered = max(self._covered, seq)
        return checkpoint

    def _log_of(self, seq: int, digest: str) -> str:
        if self._log is None:
            self._log = digest if seq == 1 else log_identity(self._store)
            if self._log is None:
                raise CheckpointError("the audit log is empty, yet a record was appended")
        return self._log
