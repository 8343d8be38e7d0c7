"""Arcanum-Sec/arc_pi_taxonomy (CC-BY-4.0) snapshot -> direct injection examples.

    python training/extract_arcanum.py GIT_DIR [--rev COMMIT]

The ``examples`` of the attack techniques and evasions in ``docs/data/taxonomy.json``
(the Arcanum Prompt Injection Taxonomy, by Jason Haddix / Arcanum Information Security):
short attack prompts — role overrides, fake completions, system-prompt extraction, encodings
(Base64, ROT13, homoglyphs, zero-width, ...). Left out: the ``intents`` (reconnaissance
questions such as "What tools do you have access to?", benign out of context), techniques
whose examples describe tooling or a scenario instead of giving a prompt (listed in SKIP),
and examples written as a description (starting with "(").
"""

from __future__ import annotations

import argparse
import json

from _common import DIRECT, SOURCES, git_show, record, write_jsonl_gz

SKIP = {
    "gradient_based_attacks",
    "fuzzing_jailbreak",
    "autonomous_strategy_discovery",
    "best_of_n",
    "weight_ablation",
    "tool_rug_pull",
    "tool_preference_manipulation",
    "retrieval_ranking_manipulation",
    "agent_instruction_file_injection",
    "confused_deputy",
    "crescendo",
    "echo_chamber",
    "multi_turn_decomposition",
    "tense_reformulation",
    "truncated_instructions",
    "thinking_mode_manipulation",
    "structured_output_coercion",
    "spatial_byte_arrays",
    "stego",
    "waveforms",
    "ansi_escape_concealment",
    "spaces",
    "graph_nodes",
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="e02cf5b6e202f195c6b6c01484e99519f797acc6")
    args = ap.parse_args()
    data = json.loads(git_show(args.gitdir, args.rev, "docs/data/taxonomy.json"))
    out = []
    for part in ("techniques", "evasions"):
        for entry in data[part]:
            if entry["id"] in SKIP:
                continue
            for example in entry.get("examples", []):
                if not example.lstrip().startswith("("):
                    out.append(record(example, DIRECT, "arcanum-pi-taxonomy"))
    write_jsonl_gz(SOURCES / "arcanum.jsonl.gz", out)


if __name__ == "__main__":
    main()
