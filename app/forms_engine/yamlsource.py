"""Read a definition file as bounded, strict YAML, every problem located by line and column.

`yaml.safe_load` alone lets the second of two equal keys win silently, expands aliases
without limit (ten lines can stand for a billion values), recurses once per nesting level
until Python gives up, raises bare ValueErrors for dates such as 2020-13-45, and reports
undecodable bytes by offset. This reader refuses each of these as a `YamlProblem` with its
line, and keeps the line of every value so the loader's errors can name it too.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from .limits import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, MAX_WHOLE
from .messages import N_, Message, shown
from .spec import join_path


class YamlProblem(Exception):
    """Bytes that are not a readable definition, with the 1-based line and column when known."""

    def __init__(self, message: Message, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message.render())
        self.message = message
        self.line = line
        self.column = column


@dataclass(frozen=True)
class Document:
    """A file's data, and the line of each of its values by the loader's path ("fields[3].type")."""

    data: Any
    lines: dict[str, int]


# UTF-32's byte order marks begin like UTF-16's: they are tried first.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
    (codecs.BOM_UTF8, "utf-8-sig", "UTF-8"),
    (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
    (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
)
_MERGE = "tag:yaml.org,2002:merge"
_INT = "tag:yaml.org,2002:int"


def read_yaml(raw: bytes) -> Document:
    """Parse a definition file's bytes (UTF-8, or UTF-16/32 with a byte order mark); raise YamlProblem.

    Read files with `read_bounded`: one byte over the limit is enough to refuse them.
    """
    if len(raw) > MAX_FILE_BYTES:
        raise YamlProblem(
            Message(N_("is larger than %(max)s bytes, the most a definition file may have"), {"max": MAX_FILE_BYTES})
        )
    text = _decode(raw)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:
        raise _unreadable(text, exc) from None
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.reader.ReaderError as exc:
        raise _unreadable(text, exc) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = "; ".join(part for part in (exc.context, exc.problem) if part) or str(exc)
        raise YamlProblem(
            Message(N_("invalid YAML: %(error)s"), {"error": problem}),
            mark.line + 1 if mark else None,
            mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Message(N_("invalid YAML: %(error)s"), {"error": str(exc)})) from None
    finally:
        loader.dispose()
    return Document(data, _lines(node))


def read_bounded(path: Path) -> bytes:
    """A file's bytes, but no more than one over the limit (a path may name /dev/zero)."""
    with path.open("rb") as handle:
        return handle.read(MAX_FILE_BYTES + 1)


def _position(text: str) -> tuple[int, int]:
    """Line and column (1-based) just after `text`."""
    return text.count("\n") + 1, len(text) - (text.rfind("\n") + 1) + 1


def _decode(raw: bytes) -> str:
    encoding, name = next(((enc, name) for bom, enc, name in _BOMS if raw.startswith(bom)), ("utf-8", "UTF-8"))
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line, column = _position(raw[: exc.start].decode(encoding, errors="replace"))
        raise YamlProblem(
            Message(
                N_("is not %(encoding)s text: byte %(byte)s cannot be read; save the file as UTF-8"),
                {"encoding": name, "byte": f"0x{raw[exc.start]:02X}"},
            ),
            line,
            column,
        ) from None


def _unreadable(text: str, exc: yaml.reader.ReaderError) -> YamlProblem:
    line, column = _position(text[: exc.position])
    return YamlProblem(
        Message(
            N_("contains the character %(char)s, which YAML does not allow; remove it"),
            {"char": f"U+{exc.character:04X}" if isinstance(exc.character, int) else shown(exc.character)},
        ),
        line,
        column,
    )


def _refused(mark: yaml.Mark, text: str, **params: Any) -> YamlProblem:
    return YamlProblem(Message(text, params), mark.line + 1, mark.column + 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, runaway aliases and deep nesting, and fails located."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self._depth = 0
        # id(node) -> (node, values it stands for once aliases are expanded, levels it nests)
        self._measured: dict[int, tuple[Node, int, int]] = {}
        self._checked: set[int] = set()

    def compose_node(self, parent: Node | None, index: Any) -> Node:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                measured = self._measured.get(id(target))
                if measured is None:  # the anchor is still open: the alias is inside it
                    raise _refused(
                        event.start_mark,
                        N_("the alias *%(anchor)s is used inside its own anchor"),
                        anchor=shown(event.anchor),
                    )
                if self._depth + measured[2] > MAX_DEPTH:
                    raise _refused(event.start_mark, N_("is nested more than %(max)s levels deep"), max=MAX_DEPTH)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise _refused(self.peek_event().start_mark, N_("is nested more than %(max)s levels deep"), max=MAX_DEPTH)
        try:
            node = super().compose_node(parent, index)
        finally:
            self._depth -= 1
        self._measure(node)
        return node

    def _measure(self, node: Node) -> None:
        if isinstance(node, SequenceNode):
            children = node.value
        elif isinstance(node, MappingNode):
            children = [part for pair in node.value for part in pair]
        else:
            children = []
        values = 1 + sum(self._measured[id(child)][1] for child in children)
        levels = 1 + max((self._measured[id(child)][2] for child in children), default=0)
        if values > MAX_VALUES:
            raise _refused(
                node.start_mark,
                N_("stands for more than %(max)s values once its aliases are expanded"),
                max=MAX_VALUES,
            )
        self._measured[id(node)] = (node, values, levels)

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, OverflowError) as exc:  # a date such as 2020-13-45, an integer of 5,000 digits
            if node.tag == _INT:
                raise _refused(
                    node.start_mark, N_("is too large; numbers here may be at most %(max)s"), max=MAX_WHOLE
                ) from None
            value = shown(node.value) if isinstance(node, ScalarNode) else ""
            raise _refused(
                node.start_mark, N_("'%(value)s' cannot be read: %(error)s"), value=value, error=str(exc)
            ) from None

    def flatten_mapping(self, node: MappingNode) -> None:
        # Checked before merge keys (<<) are flattened in: a key given there may be overridden.
        if id(node) not in self._checked:
            self._checked.add(id(node))
            first: dict[Any, yaml.Mark] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE:
                    continue
                key = self.construct_object(key_node, deep=True)
                try:
                    earlier = first.get(key)
                except TypeError:  # an unhashable key: PyYAML refuses it itself
                    continue
                if earlier is not None:
                    raise _refused(
                        key_node.start_mark,
                        N_("the key '%(key)s' appears twice (first on line %(line)s); remove one"),
                        key=shown(key),
                        line=earlier.line + 1,
                    )
                first[key] = key_node.start_mark
        super().flatten_mapping(node)


def _lines(root: Node | None) -> dict[str, int]:
    """The line of every path; an alias's contents are located at its anchor's path only."""
    lines: dict[str, int] = {}
    seen: set[int] = set()
    stack: list[tuple[str, Node]] = [("", root)] if root is not None else []
    while stack:
        path, node = stack.pop()
        lines.setdefault(path, node.start_mark.line + 1)
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, SequenceNode):
            stack.extend((f"{path}[{index}]", child) for index, child in enumerate(node.value))
        elif isinstance(node, MappingNode):
            stack.extend(
                (join_path(path, key.value), value) for key, value in node.value if isinstance(key, ScalarNode)
            )
    return lines
