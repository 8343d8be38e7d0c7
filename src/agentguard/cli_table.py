"""Tables for the command line that never cut an id or a name.

A person copies a key id, an agent or a tool name from a table into the next command
(``agentguard keys revoke 2284c8c57abc``), so those values are never shortened with ``…``
nor split across lines:

* output that is not a terminal (a pipe, a file, a test) is not fitted to any window:
  :func:`unbounded_when_piped` lets tables take their natural width;
* on a terminal, id columns keep their full width, lists of names wrap between names only,
  and free text folds; when the table still does not fit, each row is printed as
  ``column  value`` lines instead, every value whole.

Example::

    print_table(console, [("key id", "id"), ("tools", "words"), ("label", "text")], rows)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

#: how a column may be laid out: an ``id`` (or name) is never split; ``words`` wrap between
#: words only (a list of names); ``text`` folds anywhere once narrower than a few letters
ColumnKind = Literal["id", "words", "text"]

_UNBOUNDED = 100_000
_TEXT_MIN = 12


def unbounded_when_piped(console: Console) -> Console:
    """Give ``console`` no width limit unless it writes to a terminal; returns it.

    Rich fits output that is not a terminal to ``$COLUMNS`` or 80 columns, which would cut
    a wide table for whoever reads it from a pipe or a file.
    """
    if not console.is_terminal:
        console.width = _UNBOUNDED
    return console


def print_table(
    console: Console,
    columns: Sequence[tuple[str, ColumnKind]],
    rows: Sequence[Sequence[str]],
    *,
    title: str | None = None,
) -> None:
    """Print ``rows`` under ``columns`` (name and kind) without cutting any id or name.

    Cells are plain text, never rich markup: a name or a condition may contain ``[``.
    """
    table = Table(title=Text(title) if title else None)
    for index, (name, kind) in enumerate(columns):
        cells = [row[index] for row in rows]
        longest_word = max((cell_len(word) for cell in cells for word in cell.split()), default=0)
        if kind == "id":
            table.add_column(name, no_wrap=True, min_width=max(map(cell_len, cells), default=0))
        elif kind == "words":
            table.add_column(name, overflow="fold", min_width=longest_word)
        else:
            table.add_column(name, overflow="fold", min_width=min(longest_word, _TEXT_MIN))
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    needed = Measurement.get(console, console.options.update(max_width=_UNBOUNDED), table)
    if needed.minimum <= console.width:
        console.print(table)
        return
    if title:
        console.print(title, markup=False)
    label = max(cell_len(name) for name, _ in columns)
    for row in rows:
        console.print()
        for (name, _), cell in zip(columns, row, strict=True):
            # soft wrap: a terminal wraps a long value on screen; its text stays one line
            console.print(f"{name:<{label}}  {cell}", markup=False, highlight=False, soft_wrap=True)
