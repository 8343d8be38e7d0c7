"""leolee99/PIGuard (MIT) snapshot -> NotInject: benign prompts full of injection trigger words.

    python training/extract_notinject.py GIT_DIR [--rev COMMIT]

``datasets/NotInject_{one,two,three}.json`` (339 benign requests built around one, two or
three words common in injections — "ignore", "bypass", "override", "roleplay"...; in English
and other languages) -> ``security`` records: the hard negatives that keep a trigger word
from deciding alone. The repository's other data files are not used (``valid.json`` mixes in
PINT and BIPIA samples, ``wildguard.json`` is WildGuardMix's test set, BIPIA copies).
"""

from __future__ import annotations

import argparse
import json

from _common import SECURITY, SOURCES, git_show, record, write_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="1b5751e88bf7475acbedfc8eda795ce060307c84")
    args = ap.parse_args()
    out = []
    for part in ("one", "two", "three"):
        for item in json.loads(git_show(args.gitdir, args.rev, f"datasets/NotInject_{part}.json")):
            out.append(record(item["prompt"], SECURITY, "notinject"))
    write_jsonl_gz(SOURCES / "notinject.jsonl.gz", out)


if __name__ == "__main__":
    main()
