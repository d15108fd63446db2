"""Tables that fit the terminal: columns chosen by priority for the width at hand.

Every listing describes its columns once (:class:`Col`) and hands over plain-text rows;
:func:`fit` keeps the most important columns that fit the console's width and sizes them so
that nothing is squeezed:

* ``id`` and ``num`` columns are never wrapped or cut (a model id or a price is whole or the
  column is not shown at all);
* ``text`` columns (a goal, an error) shrink down to ``min_width`` and end with an ellipsis;
* ``prose`` columns (a reason) shrink down to ``min_width`` and wrap at words.

When columns had to be left out, the caller prints :func:`hidden_note` once. Imported only for
human output: it pulls in rich.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rich import box
from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from rich.console import Console

__all__ = ["Cell", "Col", "Fitted", "fit", "hidden_note", "print_tables"]

Cell = str | Text
Kind = Literal["id", "num", "text", "prose"]

#: Characters between two columns: one padding space, the (blank) separator, one padding space.
GAP = 3


@dataclass(frozen=True, slots=True)
class Col:
    """One column: its header, how it may shrink, and how soon it is dropped.

    ``priority`` 0 columns are always shown; higher numbers are dropped first when the
    terminal is narrow (ties: the rightmost first). ``max_width`` caps ``text``/``prose``.
    """

    header: str
    kind: Kind = "id"
    priority: int = 0
    justify: Literal["left", "right"] = "left"
    min_width: int = 12
    max_width: int | None = None
    style: str | None = None


@dataclass(frozen=True, slots=True)
class Fitted:
    """A table sized for a width, and the headers of the columns left out."""

    table: Table
    hidden: tuple[str, ...]


def fit(
    cols: Sequence[Col],
    rows: Sequence[Sequence[Cell]],
    *,
    width: int,
    title: str | None = None,
) -> Fitted:
    """A rich table of ``rows`` showing the columns of ``cols`` that fit in ``width`` cells.

    Empty columns (no row has a value) are left out silently.
    """
    texts = [[c if isinstance(c, Text) else Text(str(c)) for c in row] for row in rows]
    natural = [_natural(col, [r[i] for r in texts]) for i, col in enumerate(cols)]
    floor = [_floor(col, natural[i]) for i, col in enumerate(cols)]
    shown = [i for i in range(len(cols)) if not _empty([r[i] for r in texts])]
    candidates = list(shown)

    def need(keep: list[int]) -> int:
        return sum(floor[i] for i in keep) + GAP * max(0, len(keep) - 1)

    while need(shown) > width:
        droppable = [i for i in shown if cols[i].priority > 0]
        if not droppable:
            break
        shown.remove(max(droppable, key=lambda i: (cols[i].priority, i)))
    room = width - GAP * max(0, len(shown) - 1)
    if need(shown) > width:  # only must-have columns are left: cut the longest ids
        _shrink_ids(cols, shown, floor, excess=need(shown) - width)
    widths = _widths(cols, shown, natural, floor, room)

    table = Table(
        title=None if title is None else Text(title),
        title_justify="left",
        title_style="bold",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        header_style="bold",
        expand=False,
    )
    for i in shown:
        col = cols[i]
        fixed = col.kind in ("id", "num")
        table.add_column(
            col.header,
            justify="right" if col.kind == "num" and col.justify == "left" else col.justify,
            no_wrap=col.kind != "prose",
            overflow="fold" if col.kind == "prose" else "ellipsis",
            width=widths[i],
            min_width=widths[i] if fixed else None,
            style=col.style,
        )
    for row in texts:
        table.add_row(*(row[i] for i in shown))
    return Fitted(table, tuple(cols[i].header for i in candidates if i not in shown))


def _natural(col: Col, cells: list[Text]) -> int:
    width = max([cell_len(col.header), *(_cell_width(c) for c in cells)])
    if col.kind in ("text", "prose") and col.max_width is not None:
        width = min(width, max(col.max_width, cell_len(col.header)))
    return width


def _cell_width(text: Text) -> int:
    return max((cell_len(line) for line in text.plain.split("\n")), default=0)


def _floor(col: Col, natural: int) -> int:
    if col.kind in ("id", "num"):
        return natural
    return min(natural, max(col.min_width, cell_len(col.header)))


def _empty(cells: list[Text]) -> bool:
    return all(not c.plain.strip() or c.plain.strip() == "-" for c in cells) and bool(cells)


def _shrink_ids(cols: Sequence[Col], shown: list[int], floor: list[int], *, excess: int) -> None:
    """Narrow the widest ``id`` columns (not below ``min_width``) until ``excess`` is gone:
    the last resort when even the must-have columns do not fit; numbers are never cut."""
    while excess > 0:
        ids = [i for i in shown if cols[i].kind == "id" and floor[i] > max(cols[i].min_width, 1)]
        if not ids:
            return
        widest = max(ids, key=lambda i: floor[i])
        floor[widest] -= 1
        excess -= 1


def _widths(
    cols: Sequence[Col], shown: list[int], natural: list[int], floor: list[int], room: int
) -> dict[int, int]:
    """Fixed columns at their natural width; the rest share what is left (water-filling)."""
    widths = {i: floor[i] for i in shown}
    flexible = sorted(
        (i for i in shown if cols[i].kind in ("text", "prose")),
        key=lambda i: natural[i] - floor[i],
    )
    spare = room - sum(widths.values())
    for n, i in enumerate(flexible):
        share = max(0, spare) // (len(flexible) - n)
        grow = min(natural[i] - floor[i], share)
        widths[i] += grow
        spare -= grow
    return widths


def hidden_note(hidden: Sequence[str]) -> str | None:
    """``(2 columns hidden: ms, error - widen the terminal or use --json)``, or ``None``."""
    if not hidden:
        return None
    names = list(dict.fromkeys(hidden))
    noun = "column" if len(names) == 1 else "columns"
    return f"({len(names)} {noun} hidden: {', '.join(names)} - widen the terminal or use --json)"


def print_tables(console: Console, *fitted: Fitted) -> None:
    """Print tables, then one note naming every column any of them left out."""
    hidden: list[str] = []
    for f in fitted:
        console.print(f.table)
        hidden += f.hidden
    note = hidden_note(hidden)
    if note is not None:
        console.print(note, style="dim", markup=False, highlight=False)
