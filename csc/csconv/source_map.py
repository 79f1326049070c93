"""Map raw business areas to the 8 classes of the released data (csc-method §3), from a YAML
file the user keeps: `raw area: class`, the class in either spelling. A bad file is one
SourceMapError line, never a half-mapped export."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from csc.errors import UserError
from csc.settings import current

# The 8 business-area classes of the released data, (zh, en) spellings; the last is the
# catch-all that unmapped areas fall into.
SOURCE_CLASSES: tuple[tuple[str, str], ...] = (
    ("账户与交易", "account & transactions"),
    ("产品咨询", "product consultation"),
    ("技术问题", "technical issues"),
    ("投诉", "complaints"),
    ("营销", "marketing"),
    ("风险与安全", "risk & security"),
    ("理财规划", "financial planning"),
    ("其他", "other"),
)
OTHER = len(SOURCE_CLASSES) - 1
SOURCE_MAP_ENV = "CSC_SOURCE_MAP"


def _fold(text: str) -> str:
    """Match business areas loosely: width, case and runs of spaces do not matter."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip().casefold()


_CLASS_BY_NAME = {_fold(name): i for i, pair in enumerate(SOURCE_CLASSES) for name in pair}


class SourceMapError(UserError, ValueError):
    """A source map that cannot be used; the message is one line, for the CLI to print."""


@dataclass(frozen=True)
class SourceMap:
    """Raw business area -> index into SOURCE_CLASSES, and where the mapping came from."""

    path: Path
    sha256: str
    classes: dict[str, int] = field(default_factory=dict)  # keyed by _fold(raw area)

    def lookup(self, area: str | None) -> int | None:
        """The class of `area`; a value that already names a class is that class."""
        if not area:
            return None
        key = _fold(area)
        hit = self.classes.get(key)
        return hit if hit is not None else _CLASS_BY_NAME.get(key)

    def lineage(self) -> dict:
        return {"path": str(self.path), "sha256": self.sha256}


def load_source_map(path: Path | str) -> SourceMap:
    """Read a YAML mapping `raw business area: class`, the class in either spelling. Every
    problem is a SourceMapError, so a bad file never becomes a half-mapped export."""
    path = Path(path)
    if not path.is_file():
        raise SourceMapError(f"source map {path} does not exist or is not a file")
    data = path.read_bytes()
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise SourceMapError(f"source map {path} is not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "unreadable"
        raise SourceMapError(f"source map {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(doc, dict) or not doc:
        raise SourceMapError(f"source map {path} must be a non-empty YAML mapping of "
                             "'business area: class'")
    classes: dict[str, int] = {}
    for raw, target in doc.items():
        if not isinstance(raw, str) or not raw.strip():
            raise SourceMapError(f"source map {path}: key {raw!r} is not a business-area name")
        index = _CLASS_BY_NAME.get(_fold(target)) if isinstance(target, str) else None
        if index is None:
            names = ", ".join(f"{zh}/{en}" for zh, en in SOURCE_CLASSES)
            raise SourceMapError(f"source map {path}: '{raw}' maps to {target!r}, which is "
                                 f"not one of the 8 classes ({names})")
        if classes.get(_fold(raw), index) != index:
            raise SourceMapError(f"source map {path}: '{raw}' is mapped twice, to different "
                                 "classes")
        classes[_fold(raw)] = index
    return SourceMap(path.resolve(), hashlib.sha256(data).hexdigest(), classes)


def resolve_source_map(option: str | None) -> SourceMap | None:
    """The map named by --source-map, else by $CSC_SOURCE_MAP, else none (raw areas)."""
    if option:
        return load_source_map(option)
    env = current().source_map
    if env is None:
        return None
    try:
        return load_source_map(env)
    except SourceMapError as exc:
        raise SourceMapError(f"{exc} (from ${SOURCE_MAP_ENV})") from None
