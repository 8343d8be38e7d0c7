"""One line per measured figure, so every evaluation script can hand its results to
``bench/eval_detectors.py``, which prints them side by side with the peers and the aims."""

from __future__ import annotations

import datetime as _dt
import os
import platform
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Figure:
    """One measured figure on one data set.

    ``ours`` and ``peer`` are already formatted (``"TPR 0.816 at FPR 0.016"``,
    ``"F1 0.123"``); ``peer`` names the peer and its version (``"detect-secrets 1.5.0:
    TPR 0.402 at FPR 0.079"``) or is empty when none detects this. ``data`` says which data,
    which split, and whether it was held out."""

    family: str  # injection, secrets, pii, tone
    measure: str  # what is measured, e.g. "PERSON span F1"
    data: str
    ours: str
    peer: str = ""
    aim: str = ""
    met: bool | None = None  # None: no aim, or not comparable


def prf(gold: int, found: int, predicted: int, correct: int) -> tuple[float, float, float]:
    """Precision, recall, F1 from (gold, gold found, predicted, predictions correct)."""
    p = correct / predicted if predicted else 0.0
    r = found / gold if gold else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def machine() -> str:
    """Where and when the figures were taken: the README quotes this line."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return (
        f"{_dt.date.today().isoformat()}, {cpu}, {os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}"
    )


def print_figures(figures: Iterable[Figure]) -> None:
    """A plain-text table, grouped by family, in the order given."""
    rows = list(figures)
    family = None
    for f in rows:
        if f.family != family:
            family = f.family
            print(f"\n[{family}]")
        mark = {True: "aim met", False: "aim MISSED", None: ""}[f.met]
        print(f"  {f.measure}")
        print(f"      data: {f.data}")
        print(f"      agentguard: {f.ours}")
        if f.peer:
            print(f"      {f.peer}")
        if f.aim:
            print(f"      aim: {f.aim}  {mark}".rstrip())
