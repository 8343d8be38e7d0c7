"""microsoft/TaskTracker (MIT) snapshot -> injected instructions to plant, benign task prompts.

    python training/extract_tasktracker.py GIT_DIR [--rev COMMIT]

TaskTracker builds its poisoned paragraphs from a *trigger* sentence followed by a
*secondary task*. Plants: every line of ``dataset_creation/datasets/saved_injections.txt``
and ``saved_injections_test.txt`` (the trigger/"ignore the rest" sentences), each followed by
one secondary task chosen by text digest from ``trivia_pairs.txt`` (as "Please answer the
following question: ...", answers dropped) or ``translated_secondary_tasks.txt``.
Prompts: the ``generic_task_prompts`` of ``dataset_creation/task_prompts.py`` (ordinary
"translate/summarise/extract ... the given text" requests; read with ast, nothing run).
Not taken: the BIPIA attack copies in ``task_prompts.py`` (BIPIA is its own source) and
``jailbreaks_pair_attack.txt`` / ``llm_adaptive_attacks.txt`` (harmful requests, not
injections).
"""

from __future__ import annotations

import argparse
import ast

from _common import PLANT, PROMPT, SOURCES, digest, git_show, record, write_jsonl_gz

DATA = "task_tracker/dataset_creation/datasets/"


def lines(gitdir: str, rev: str, path: str) -> list[str]:
    return [ln.strip() for ln in git_show(gitdir, rev, path).splitlines() if ln.strip()]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("gitdir")
    ap.add_argument("--rev", default="b4fabe25504dc1d3f7c6fdf5e50d4bb209a152b0")
    args = ap.parse_args()
    g, rev = args.gitdir, args.rev
    tasks = []
    for ln in lines(g, rev, DATA + "trivia_pairs.txt"):
        question = ln.split(" Answer:")[0].removeprefix("Question:").strip()
        tasks.append(f"Please answer the following question: {question}")
    tasks += lines(g, rev, DATA + "translated_secondary_tasks.txt")
    tasks = sorted(set(tasks))
    out = []
    for name in ("saved_injections.txt", "saved_injections_test.txt"):
        for trigger in lines(g, rev, DATA + name):
            task = tasks[int(digest(trigger), 16) % len(tasks)]
            out.append(record(f"{trigger} {task}", PLANT, "tasktracker-injections"))
    source = git_show(g, rev, "task_tracker/dataset_creation/task_prompts.py")
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == "generic_task_prompts"
        ):
            for prompts in ast.literal_eval(node.value).values():
                out += [record(p, PROMPT, "tasktracker-tasks") for p in prompts]
    write_jsonl_gz(SOURCES / "tasktracker.jsonl.gz", out)


if __name__ == "__main__":
    main()
