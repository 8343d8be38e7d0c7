"""sierra-research/tau-bench (MIT) snapshot -> benign tool outputs and customer requests.

    python training/extract_taubench.py GIT_DIR [--rev COMMIT]

Documents: records of the retail and airline environments (``tau_bench/envs/*/data/*.json``:
orders, users, products, reservations, flights), rendered as the environment's tools return
them (``json.dumps``), a fixed number per file (PER_FILE, the smallest text digests); every
other record (by digest parity) gets a ``template`` with ``{ATTACK}`` in place of its first
free-text value (a name, address line or cabin), as if an attacker controlled that field;
the tool outputs in the few-shot conversations (``few_shot_data/*.jsonl``, ``tool:`` turns
longer than 40 characters, 150 taken by digest); the paragraphs (12+ words) of both
domains' ``wiki.md`` policies (agent rules: benign text full of imperatives). Prompts: the
customers' ``user:`` turns of the same conversations (the simulator's ``###STOP###``
removed). Task definitions and historical trajectories are not used.
"""

from __future__ import annotations

import argparse
import json
import re

from _common import DOC, PROMPT, SOURCES, digest, git_show, record, take, write_jsonl_gz

PER_FILE = {
    "retail": {"orders": 150, "users": 60, "products": 30},
    "airline": {"reservations": 150, "users": 60, "flights": 20},
}
TOOL_OUTPUTS = 150
SLOT_KEYS = ("address1", "address2", "first_name", "last_name", "city", "name", "cabin")
TURN = re.compile(r"^(user|assistant|tool): ", re.M)


def slot_template(obj: object) -> str | None:
    """The record's JSON with the first free-text field's value replaced by {ATTACK}."""
    marker = "\0ATTACK\0"

    def walk(node: object) -> bool:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in SLOT_KEYS and isinstance(value, str):
                    node[key] = marker
                    return True
                if walk(value):
                    return True
        elif isinstance(node, list):
            return any(walk(v) for v in node)
        return False

    copy = json.loads(json.dumps(obj))
    if not walk(copy):
        return None
    return json.dumps(copy).replace(json.dumps(marker)[1:-1], "{ATTACK}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="59a200c6d575d595120f1cb70fea53cef0632f6b")
    args = ap.parse_args()
    g, rev = args.gitdir, args.rev
    out, outputs = [], []
    for domain in ("retail", "airline"):
        for name, limit in PER_FILE[domain].items():
            data = json.loads(git_show(g, rev, f"tau_bench/envs/{domain}/data/{name}.json"))
            docs = []
            for obj in data.values():
                text = json.dumps(obj)
                template = slot_template(obj) if int(digest(text), 16) % 2 else None
                extra = {"template": template} if template else {}
                docs.append(record(text, DOC, "taubench-records", **extra))
            out += take(docs, limit)
        wiki = git_show(g, rev, f"tau_bench/envs/{domain}/wiki.md")
        for block in re.split(r"\n\s*\n", wiki):
            if len(block.split()) >= 12:
                out.append(record(block.strip(), DOC, "taubench-wiki"))
        shots = git_show(g, rev, f"few_shot_data/Mock{domain.title()}DomainEnv-few_shot.jsonl")
        for line in shots.splitlines():
            convo = json.loads(line)["messages_display"]
            parts = TURN.split(convo)
            for role, text in zip(parts[1::2], parts[2::2], strict=True):
                text = text.strip()
                if role == "user":
                    text = text.replace("###STOP###", "").strip()
                    out.append(record(text, PROMPT, "taubench-users"))
                elif role == "tool" and len(text) > 40:
                    outputs.append(record(text, DOC, "taubench-tool-outputs"))
    out += take(outputs, TOOL_OUTPUTS)
    write_jsonl_gz(SOURCES / "taubench.jsonl.gz", out)


if __name__ == "__main__":
    main()
