"""CPython's standard library (PSF-2.0, on disk with the interpreter) -> documents.

    python training/extract_cpython.py STDLIB_DIR

Source code in chunks of 40 lines (what a file-reading tool returns) and the pydoc topic
pages (reference documentation). ``module`` records the first path component so the
build step can hold whole modules out.
"""

from __future__ import annotations

import argparse
import ast
from pathlib import Path

from _common import DOC, SOURCES, record, take, write_jsonl_gz


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("stdlib")
    args = ap.parse_args()
    root = Path(args.stdlib)
    code = []
    for path in sorted(root.glob("*.py")) + sorted(root.glob("*/*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(("test", "idlelib", "lib2to3", "site-packages")) or "/test" in rel:
            continue
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        module = rel.split("/")[0].removesuffix(".py")
        for i in range(0, len(lines), 40):
            chunk = "\n".join(lines[i : i + 40])
            if len(chunk.split()) >= 30:
                code.append(record(chunk, DOC, "cpython-source", module=module))
    topics_src = (root / "pydoc_data" / "topics.py").read_text(encoding="utf-8")
    tree = ast.parse(topics_src)
    topics = next(ast.literal_eval(n.value) for n in tree.body if isinstance(n, ast.Assign))
    pages = []
    for name, text in sorted(topics.items()):
        paras = [p.strip() for p in text.split("\n\n") if len(p.split()) >= 25]
        pages += [record(p, DOC, "cpython-docs", module=name) for p in paras]
    write_jsonl_gz(SOURCES / "cpython.jsonl.gz", take(code, 1200) + take(pages, 500))


if __name__ == "__main__":
    main()
