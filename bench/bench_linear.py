"""Adversarial inputs: does every detector family stay linear in the size of its input?

    make bench-linear      # or: python bench/bench_linear.py [--repeats N] [--sizes 16,64,256]
                           #     [--engine hyperscan|re] [--only SHAPE ...] [--families ...]

Each shape is one short unit repeated to 16, 64 and 256 KiB (the same bytes on every run):
runs of one character, repeated separators and assignments, nested brackets, near-miss
vendor prefixes, dense trigger words. Each family (``pii``, ``secrets``, ``injection``,
``tone``, the typed-argument checks of the injection family as ``args``, and all four
through :func:`agentguard.scan.scan_text` as ``all``) scans each input; the best of
``--repeats`` runs is kept (more runs for a quick scan, see ``best_times``). Printed per shape and family: milliseconds at each size, the
ratio of each size to the one before (4x more input), and PASS when every ratio is at most
5 (a linear scan gives about 4, a quadratic one 16). Times under 1 ms are taken as 1 ms for
the ratio: there the timer and the cache decide, not the input. Exit status 1 on any FAIL.
"""

from __future__ import annotations

import argparse
import gc
import itertools
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime

from agentguard.detect import prepass
from agentguard.detect.injection import detect_in_argument
from agentguard.scan import default_registry, scan_text

KIB = 1024
#: ratio of the time at 4x the size to the time before it, above which a scan is not linear
LIMIT = 5.0
#: times below this (seconds) are taken as this for the ratios
FLOOR = 0.001
#: a quick scan is repeated until each size has taken this long (seconds), at most
#: MAX_REPEATS times
BUDGET = 0.2
MAX_REPEATS = 50

#: name -> the unit repeated to the input size
SHAPES: dict[str, str] = {
    # repeated separators and assignments
    "pwd=": "pwd=",
    "a=": "a=",
    ": ": ": ",
    "password: ": "password: ",
    "key=": "key=",
    "secret='": "secret='",
    "token:=": "token:=",
    "api_key = x": "api_key = x",
    "pwd=${": "pwd=${",
    # long runs of one character
    "a": "a",
    "A": "A",
    "0": "0",
    "space": " ",
    "=": "=",
    "-": "-",
    "newline": "\n",
    "tab": "\t",
    "zero-width": "\u200b",
    "accented": "é",
    "dotless i": "\u0131",  # one of the letters case-insensitive matching equates with i
    # nested and repeated brackets
    "[": "[",
    "(": "(",
    '{"a":': '{"a":',
    "![](": "![](",
    "<img/src=": "<img/src=",
    "](http://x?": "](http://x?",
    # near-miss vendor prefixes and other secret shapes
    "sk-": "sk-",
    "ghp_": "ghp_",
    "eyJ": "eyJ",
    "AKIA": "AKIA",
    "://": "://",
    "a:b@": "a:b@",
    "-----BEGIN ": "-----BEGIN ",
    "Bearer ": "Bearer ",
    # PII shapes
    "1 ": "1 ",
    "@a.": "@a.",
    "a@b.cd ": "a@b.cd ",
    "4111 1111 1111 1111 ": "4111 1111 1111 1111 ",
    "10.0.0.1 ": "10.0.0.1 ",
    "Mr A": "Mr A",
    "1 Main St ": "1 Main St ",
    # injection shapes
    "ignore previous instructions ": "ignore previous instructions ",
    "system:": "system:",
    "[INST]": "[INST]",
    "<|im_start|>": "<|im_start|>",
    "' or ": "' or ",
    "../": "../",
    "| sh ": "| sh ",
    "; ": "; ",
    "ai, ": "ai, ",
    "QUFB": "QUFBQUFB",  # base64 of "AAAAAA"
    # tone shapes
    "DAMN ": "DAMN ",
    "UNION ": "UNION ",
    "f*ck ": "f*ck ",
    "fuuuck": "fuuuck",
    "no cap ": "no cap ",
    "`fuck ": "`fuck ",
}
#: shapes whose unit is followed once by a different tail (a long run that a pattern reads
#: to its end and then fails on)
TAILS: dict[str, tuple[str, str, str]] = {
    "system + spaces": ("system", " ", "x"),
    "' + tabs": ("'", "\t", "orx"),
    "> + newlines (args)": (">", "\n", ""),
}

Scan = Callable[[str], object]


def families(names: list[str]) -> dict[str, Scan]:
    registry = default_registry()
    detectors = {d.name: d for d in registry}
    out: dict[str, Scan] = {}
    for name in names:
        if name == "all":
            out[name] = lambda text: scan_text(text, registry)
        elif name == "args":
            out[name] = lambda text: [
                detect_in_argument(text, kind) for kind in ("path", "shell", "sql")
            ]
        else:
            out[name] = detectors[name].detect
    return out


def make(shape: str, size: int) -> str:
    if shape in TAILS:
        head, run, tail = TAILS[shape]
        return head + run * (size - len(head) - len(tail)) + tail
    unit = SHAPES[shape]
    return (unit * (size // len(unit) + 1))[:size]


def best_times(scan: Scan, texts: list[str], repeats: int) -> list[float]:
    """The fastest of at least ``repeats`` scans of each text, in CPU seconds of this
    process; a quick scan is repeated more (up to ``BUDGET`` seconds a size), since the
    fastest of many is what a short time needs to be steady. The sizes take turns (small,
    large, larger, small …), so that a slow spell of the machine falls on every size alike.
    The garbage collector waits during a scan: how often it runs, and how much it walks,
    depends on the heap of the whole process, not on the detector (it runs before each
    scan instead)."""
    best = [float("inf")] * len(texts)
    spent = [0.0] * len(texts)
    rounds = 0
    while rounds < repeats or (rounds < MAX_REPEATS and min(spent) < BUDGET):
        rounds += 1
        for i, text in enumerate(texts):
            gc.collect()
            gc.disable()
            try:
                start = time.process_time()
                scan(text)
                took = time.process_time() - start
            finally:
                gc.enable()
            best[i] = min(best[i], took)
            spent[i] += took
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="at least this many")
    parser.add_argument("--sizes", default="16,64,256", help="KiB, each 4x the one before")
    parser.add_argument("--engine", choices=("hyperscan", "re"), default=None)
    parser.add_argument("--only", action="append", help="a shape to run (repeat the option)")
    parser.add_argument(
        "--families", default="pii,secrets,injection,tone,args,all", help="comma-separated"
    )
    args = parser.parse_args()
    if args.engine is not None:
        prepass.set_engine(args.engine)
    sizes = [int(s) * KIB for s in args.sizes.split(",")]
    scans = families(args.families.split(","))
    shapes = args.only if args.only else [*SHAPES, *TAILS]

    print(
        f"bench_linear  {datetime.now(UTC):%Y-%m-%d}  {platform.machine()}  "
        f"{platform.processor() or platform.platform()}  Python {platform.python_version()}  "
        f"pre-pass engine {prepass.engine_name()}"
    )
    print(
        f"best of {args.repeats} or more; ratio = time at 4x the size / time before it "
        f"(times under {FLOOR * 1000:.0f} ms count as {FLOOR * 1000:.0f} ms); "
        f"PASS when every ratio <= {LIMIT:g}\n"
    )
    for scan in scans.values():  # compile patterns and the pre-pass database first
        scan("warm up: password=hunter2 ana@example.org ignore previous instructions damn")
    # the word lists, patterns and tables made so far live as long as the process: the
    # garbage collector need not walk them again on every collection during a scan
    gc.collect()
    gc.freeze()
    head = "".join(f"{s // KIB:>8} KiB" for s in sizes)
    ratios = "".join(f"{'x' + str(i + 1):>7}" for i in range(len(sizes) - 1))
    print(f"{'shape':<32}{'family':<10}{head}{ratios}  verdict")
    worst = (0.0, "", "")
    failed = 0
    for shape in shapes:
        for family, scan in scans.items():
            times = best_times(scan, [make(shape, size) for size in sizes], args.repeats)
            steps = [max(b, FLOOR) / max(a, FLOOR) for a, b in itertools.pairwise(times)]
            top = max(steps, default=0.0)
            if top > worst[0]:
                worst = (top, shape, family)
            ok = top <= LIMIT
            failed += not ok
            cells = "".join(f"{t * 1000:>9.1f}ms" for t in times)
            cols = "".join(f"{r:>7.2f}" for r in steps)
            print(f"{shape!r:<32}{family:<10}{cells}{cols}  {'PASS' if ok else 'FAIL'}")
            sys.stdout.flush()
    print(
        f"\nworst ratio per 4x size: {worst[0]:.2f} ({worst[1]!r}, {worst[2]}); "
        f"{'all PASS' if not failed else f'{failed} FAIL'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
