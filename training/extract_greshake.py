"""greshake/llm-security (MIT) snapshot -> indirect injection payloads from the demos.

    python training/extract_greshake.py GIT_DIR [--rev COMMIT]

The payloads of Greshake et al.'s indirect prompt-injection demonstrations ("Not what you've
signed up for", 2023): the string attributes named ``*injection*``, ``*payload*`` or
``malicious*`` of ``scenarios/**.py`` (and the self-spreading e-mail of
``scenarios/gpt3langchain/spread.py``), read with ast (nothing run); the web-page puzzles
``scenarios/puzzle/puzzles/*``; the docstring of the poisoned ``leftpad`` helper in
``scenarios/code-completion/``. All are ``plant`` records (text planted in a page, e-mail or
package). The benign page texts, descriptions and the Wikipedia article are not used.
"""

from __future__ import annotations

import argparse
import ast
import re
import textwrap

from _common import PLANT, SOURCES, git_ls, git_show, record, write_jsonl_gz

NAMES = re.compile(r"injection|payload|^malicious")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="87f4b7ffa568b7261a79b31573068d8113319212")
    args = ap.parse_args()
    out = []
    for path in git_ls(args.gitdir, args.rev, "scenarios"):
        text = git_show(args.gitdir, args.rev, path)
        if path.startswith("scenarios/puzzle/puzzles/"):
            out.append(record(text, PLANT, "greshake-demos"))
            continue
        if not path.endswith(".py"):
            continue
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                wanted = any(NAMES.search(n) for n in names) or (
                    path.endswith("gpt3langchain/spread.py") and names == ["text"]
                )
                if wanted and isinstance(node.value.value, str):
                    out.append(record(textwrap.dedent(node.value.value), PLANT, "greshake-demos"))
            if isinstance(node, ast.FunctionDef) and node.name == "leftpad":
                doc = ast.get_docstring(node)
                if doc:
                    out.append(record(doc, PLANT, "greshake-demos"))
    write_jsonl_gz(SOURCES / "greshake.jsonl.gz", out)


if __name__ == "__main__":
    main()
