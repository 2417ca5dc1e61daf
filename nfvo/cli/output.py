"""Terminal output shared by CLI groups (rich tables, plain when not a terminal)."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

_console = Console()


def print_table(title: str, columns: list[str], rows: list[list[str]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    _console.print(table)
