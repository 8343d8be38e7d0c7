"""AgentDojo (MIT, PyPI) wheel -> agent documents with injection slots, goals, user prompts.

    python training/extract_agentdojo.py agentdojo-0.1.35-py3-none-any.whl

Documents are the suites' environment records (emails, calendar entries, files, Slack
messages, web pages, reviews, transactions), rendered as "key: value" lines. Where a record
has an injection slot, the clean text fills it with the suite's benign default, and
``template`` keeps the slot (marked ``{ATTACK}``) for the build step to plant into.
Attack texts are the attack classes' templates with each injection task's goal; nothing is
imported or run (ast and YAML only).
"""

from __future__ import annotations

import argparse
import ast
import re
import zipfile
from typing import Any

from _common import DOC, PLANT, PROMPT, SOURCES, record, take, write_jsonl_gz
from ruamel.yaml import YAML

SLOT = re.compile(r"\{(\w+)\}")
USER, MODEL = "Emma Johnson", "the AI assistant"


def class_strings(source: str, attr: str) -> list[str]:
    """Values of ``attr`` in each class body, f-strings resolved against earlier attributes."""
    out = []
    for cls in (n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.ClassDef)):
        ns: dict[str, Any] = {}
        for stmt in cls.body:
            target = (
                stmt.targets[0] if isinstance(stmt, ast.Assign) else getattr(stmt, "target", None)
            )
            value = getattr(stmt, "value", None)
            if not isinstance(target, ast.Name) or value is None:
                continue
            try:
                ns[target.id] = evaluate(value, ns)
            except (KeyError, TypeError, ValueError):
                continue
        if isinstance(ns.get(attr), str):
            out.append(ns[attr])
    return out


def evaluate(node: ast.AST, ns: dict[str, Any]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        return ns[node.id]
    if isinstance(node, ast.JoinedStr):
        parts = []
        for v in node.values:
            if isinstance(v, ast.FormattedValue):
                parts.append(str(evaluate(v.value, ns)))
            else:
                parts.append(str(evaluate(v, ns)))
        return "".join(parts)
    if isinstance(node, ast.List | ast.Tuple):
        return [evaluate(e, ns) for e in node.elts]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return evaluate(node.left, ns) + evaluate(node.right, ns)
    raise ValueError(type(node).__name__)


def documents(node: Any) -> list[str]:
    """Records (mappings) that carry some prose, rendered as key: value lines."""
    out: list[str] = []
    if isinstance(node, dict):
        scalars = {k: v for k, v in node.items() if isinstance(v, str | int | float)}
        if any(isinstance(v, str) and len(v.split()) >= 8 for v in scalars.values()):
            out.append("\n".join(f"{k}: {v}" for k, v in scalars.items()))
        for v in node.values():
            if isinstance(v, dict | list):
                out += documents(v)
    elif isinstance(node, list):
        for v in node:
            if isinstance(v, str) and len(v.split()) >= 8:
                out.append(v)
            else:
                out += documents(v)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("wheel")
    args = ap.parse_args()
    z = zipfile.ZipFile(args.wheel)
    yaml = YAML(typ="safe")
    yaml.constructor.add_constructor("!include", lambda loader, node: None)
    names = sorted(z.namelist())
    out = []
    defaults: dict[str, str] = {}
    for name in names:
        if name.endswith("injection_vectors.yaml"):
            for key, spec in yaml.load(z.read(name).decode()).items():
                defaults[key] = str(spec["default"])
    docs = []
    for name in names:
        if not name.startswith("agentdojo/data/suites/") or not name.endswith(".yaml"):
            continue
        if name.endswith("injection_vectors.yaml"):
            continue
        suite = name.split("/")[3]
        for text in documents(yaml.load(z.read(name).decode())):
            slots = [m for m in SLOT.findall(text) if m in defaults]
            clean = SLOT.sub(lambda m: defaults.get(m.group(1), m.group(0)), text)
            extra = {"suite": suite}
            if slots:
                first = slots[0]
                marked = text.replace("{" + first + "}", "\0", 1)
                marked = SLOT.sub(lambda m: defaults.get(m.group(1), m.group(0)), marked)
                extra["template"] = marked.replace("\0", "{ATTACK}")
            docs.append(record(clean, DOC, "agentdojo-env", **extra))
    out += take(docs, 2000)
    templates = []
    for name in names:
        if name.startswith("agentdojo/attacks/") and name.endswith(".py"):
            tree = ast.parse(z.read(name).decode())
            templates += [
                n.value
                for n in ast.walk(tree)
                if isinstance(n, ast.Constant)
                and isinstance(n.value, str)
                and "{goal}" in n.value
                and not n.value.startswith("Attack which")
            ]
    templates = sorted(set(templates))
    for name in names:
        if not name.startswith("agentdojo/default_suites/v1/"):
            continue
        source = z.read(name).decode()
        if name.endswith("injection_tasks.py"):
            for goal in class_strings(source, "GOAL"):
                for template in templates:
                    text = template.replace("{goal}", goal).replace("{user}", USER)
                    text = text.replace("{model}", MODEL).replace("{tools}", "")
                    out.append(record(text, PLANT, "agentdojo-attacks"))
        elif name.endswith("user_tasks.py"):
            out += [
                record(p, PROMPT, "agentdojo-user-tasks") for p in class_strings(source, "PROMPT")
            ]
    write_jsonl_gz(SOURCES / "agentdojo.jsonl.gz", out)


if __name__ == "__main__":
    main()
