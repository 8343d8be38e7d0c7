"""The :class:`Dispatcher`: sends each alert to every notifier, off the agent's path.

:meth:`Dispatcher.dispatch` decides at once, under a lock and by the injected clock, what
is sent where: a repeat of an alert's ``key`` within the ``dedupe`` window is suppressed
(the next one sent carries ``suppressed: <count>`` in its details), and a notifier past its
``rate_limit`` for the ``rate_window`` is skipped (the next one it gets carries
``rate_limited: <count>``). Delivery happens on one daemon worker thread, with retries and
exponential backoff; whatever still fails is logged on ``agentguard.alerts`` and handed to
``on_failure``. Nothing here raises into the caller.

    dispatcher = Dispatcher([notifier_from_config({"log": True})],
                            on_failure=lambda alert, name, error: audit(...))
    dispatcher.dispatch(alert)   # returns at once
    dispatcher.close()           # delivers what is queued (up to a timeout), then stops
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from agentguard.clock import Clock, SystemClock
from agentguard.monitor.alert import Alert
from agentguard.monitor.notify import (
    ALERT_LOGGER,
    Notifier,
    NotifyError,
    notifier_from_config,
)

logger = logging.getLogger(ALERT_LOGGER)

FailureCallback = Callable[[Alert, str, NotifyError], None]


@dataclass(frozen=True)
class DispatchStats:
    """What a dispatcher has done so far, by notifier name where it applies."""

    delivered: Mapping[str, int] = field(default_factory=dict)
    failed: Mapping[str, int] = field(default_factory=dict)
    rate_limited: Mapping[str, int] = field(default_factory=dict)
    #: repeats of a key within the dedupe window
    suppressed: int = 0
    #: alerts dropped because the queue was full or the dispatcher closed
    dropped: int = 0


@dataclass
class _Repeat:
    sent_at: datetime
    suppressed: int = 0


class Dispatcher:
    """Delivers alerts to ``notifiers`` on a background thread.

    ``retries`` more attempts follow a failed one, after ``backoff``, twice that, four
    times that … (by default 3 retries after 1s, 2s and 4s); an error that says it is not
    retryable (a 4xx answer, a redirect) is not retried. ``sleep`` waits between attempts
    (seconds; by default it returns early once :meth:`close` was called).
    """

    def __init__(
        self,
        notifiers: Sequence[Notifier],
        *,
        clock: Clock | None = None,
        dedupe: timedelta = timedelta(minutes=10),
        rate_limit: int = 30,
        rate_window: timedelta = timedelta(hours=1),
        retries: int = 3,
        backoff: timedelta = timedelta(seconds=1),
        sleep: Callable[[float], Any] | None = None,
        on_failure: FailureCallback | None = None,
        max_queue: int = 1000,
    ) -> None:
        names = [n.name for n in notifiers]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(
                f"two notifiers are called {duplicates[0]!r}; give one a different ``name``"
            )
        if rate_limit < 1 or retries < 0 or max_queue < 1:
            raise ValueError("rate_limit and max_queue must be at least 1, retries at least 0")
        self.notifiers = tuple(notifiers)
        self._clock = clock or SystemClock()
        self._dedupe = dedupe
        self._rate_limit = rate_limit
        self._rate_window = rate_window
        self._retries = retries
        self._backoff = backoff
        self._closing = threading.Event()
        self._sleep: Callable[[float], Any] = sleep or self._closing.wait
        self._on_failure = on_failure
        self._max_queue = max_queue

        # one condition guards all the state below: the queue, the counts, the windows
        self._cond = threading.Condition()
        self._queue: deque[tuple[Alert, Notifier]] = deque()
        self._busy = 0  # items taken off the queue and not finished yet
        self._closed = False
        self._repeats: dict[str, _Repeat] = {}
        self._sent_at: dict[str, deque[datetime]] = {n.name: deque() for n in notifiers}
        self._limited_since: dict[str, int] = {n.name: 0 for n in notifiers}
        self._delivered = dict.fromkeys(names, 0)
        self._failed = dict.fromkeys(names, 0)
        self._rate_limited = dict.fromkeys(names, 0)
        self._suppressed = 0
        self._dropped = 0
        self._worker = threading.Thread(target=self._run, name="agentguard-alerts", daemon=True)
        self._worker.start()

    @classmethod
    def from_config(cls, entries: Iterable[Mapping[str, Any]], **options: Any) -> Dispatcher:
        """A dispatcher for the entries of a policy's ``notify:`` list
        (see :func:`~agentguard.monitor.notify.notifier_from_config`); ``clock`` and
        ``environ`` reach the notifiers, every other option the dispatcher."""
        build = {k: options.pop(k) for k in ("environ",) if k in options}
        clock = options.get("clock")
        notifiers = [notifier_from_config(e, clock=clock, **build) for e in entries]
        return cls(notifiers, **options)

    def dispatch(self, alert: Alert) -> None:
        """Queue ``alert`` for every notifier that should get it; return at once."""
        now = self._clock.now()
        with self._cond:
            if self._closed:
                self._dropped += 1
                logger.warning("alert %r dropped: the dispatcher is closed", alert.rule)
                return
            repeat = self._repeats.get(alert.key)
            if repeat is not None and now - repeat.sent_at < self._dedupe:
                repeat.suppressed += 1
                self._suppressed += 1
                return
            if repeat is not None and repeat.suppressed:
                alert = alert.with_details(suppressed=repeat.suppressed)
            self._repeats[alert.key] = _Repeat(now)
            self._forget_old_repeats(now)
            for notifier in self.notifiers:
                item = self._admit(alert, notifier, now)
                if item is None:
                    continue
                if len(self._queue) >= self._max_queue:
                    self._dropped += 1
                    logger.warning(
                        "alert %r for %s dropped: %d alerts are waiting already",
                        alert.rule,
                        notifier.name,
                        len(self._queue),
                    )
                    continue
                self._queue.append(item)
            self._cond.notify_all()

    def _admit(
        self, alert: Alert, notifier: Notifier, now: datetime
    ) -> tuple[Alert, Notifier] | None:
        """The rate limit of one notifier: a sliding window of the times it was sent to."""
        name = notifier.name
        sent = self._sent_at[name]
        while sent and now - sent[0] >= self._rate_window:
            sent.popleft()
        if len(sent) >= self._rate_limit:
            self._rate_limited[name] += 1
            self._limited_since[name] += 1
            if self._limited_since[name] == 1:
                logger.warning(
                    "notifier %s reached its limit of %d alerts per %s; dropping more until "
                    "the window moves on",
                    name,
                    self._rate_limit,
                    self._rate_window,
                )
            return None
        sent.append(now)
        limited = self._limited_since[name]
        self._limited_since[name] = 0
        return (alert.with_details(rate_limited=limited) if limited else alert), notifier

    def _forget_old_repeats(self, now: datetime) -> None:
        # keys whose window has passed with nothing suppressed carry no information
        if len(self._repeats) < 1024:
            return
        for key in [
            k
            for k, r in self._repeats.items()
            if not r.suppressed and now - r.sent_at >= self._dedupe
        ]:
            del self._repeats[key]

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued alert was delivered or given up on; False on timeout."""
        with self._cond:
            return self._cond.wait_for(lambda: not self._queue and not self._busy, timeout)

    def close(self, timeout: float | None = 10.0) -> bool:
        """Stop taking alerts, deliver what is queued (retrying without waiting) and stop the
        worker. Returns False if the worker was still busy after ``timeout`` seconds."""
        self._closing.set()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._worker.join(timeout)
        return not self._worker.is_alive()

    def __enter__(self) -> Dispatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def stats(self) -> DispatchStats:
        with self._cond:
            return DispatchStats(
                delivered=dict(self._delivered),
                failed=dict(self._failed),
                rate_limited=dict(self._rate_limited),
                suppressed=self._suppressed,
                dropped=self._dropped,
            )

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed)
                if not self._queue:
                    return  # closed and drained
                alert, notifier = self._queue.popleft()
                self._busy += 1
            try:
                self._deliver(alert, notifier)
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _deliver(self, alert: Alert, notifier: Notifier) -> None:
        attempt = 0
        while True:
            attempt += 1
            try:
                notifier.send(alert)
            except NotifyError as exc:
                error = exc
            except Exception as exc:  # a notifier's bug must not stop the worker
                error = NotifyError(
                    f"{notifier.name}: unexpected {type(exc).__name__}", retryable=False
                )
            else:
                with self._cond:
                    self._delivered[notifier.name] += 1
                return
            if not error.retryable or attempt > self._retries:
                break
            self._sleep(self._backoff.total_seconds() * 2 ** (attempt - 1))
        with self._cond:
            self._failed[notifier.name] += 1
        # the message of a NotifyError names the destination by host only: no secrets
        logger.error(
            "alert %r not delivered by %s after %d attempt(s): %s: %s",
            alert.rule,
            notifier.name,
            attempt,
            type(error).__name__,
            error.message,
        )
        if self._on_failure is not None:
            try:
                self._on_failure(alert, notifier.name, error)
            except Exception:
                logger.exception("the on_failure callback of the alert dispatcher failed")
