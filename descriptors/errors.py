"""The one exception the loader raises, and the issues it carries.

Every problem found while onboarding a descriptor becomes an ``Issue`` naming the file, the
node template and the field, so an operator can fix a template without reading a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping


@dataclass(frozen=True)
class Issue:
    """One problem in one descriptor: where (file, node, field, line) and what."""

    file: str
    node: str | None
    field: str | None
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line is not None else "")
        what = ".".join(p for p in (self.node, self.field) if p)
        return f"{where}: {what + ': ' if what else ''}{self.message}"


class DescriptorError(Exception):
    """A descriptor failed to load or validate; ``issues`` lists every problem found."""

    def __init__(self, issues: Iterable[Issue]):
        self.issues: tuple[Issue, ...] = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid descriptor")


Path = tuple[str | int, ...]


@dataclass
class Collector:
    """Accumulates issues for one file; looks up source lines by YAML path.

    Kept mutable on purpose: validation walks the whole template and reports every problem
    at once rather than stopping at the first.
    """

    file: str
    lines: Mapping[Path, int] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)

    def line(self, path: Path) -> int | None:
        """Line of the deepest prefix of ``path`` that exists in the source (1-based)."""
        for end in range(len(path), -1, -1):
            found = self.lines.get(tuple(path[:end]))
            if found is not None:
                return found
        return None

    def add(self, node: str | None, field_: str | None, message: str, path: Path = ()) -> None:
        self.issues.append(Issue(self.file, node, field_, message, self.line(path)))

    def node_path(self, node: str, *rest: str | int) -> Path:
        return ("topology_template", "node_templates", node, *rest)

    def raise_if_any(self) -> None:
        if self.issues:
            raise DescriptorError(self.issues)
