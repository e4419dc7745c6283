"""YAML for files people edit (parameters, methodologies, ``--set`` values), read within bounds.

PyYAML's safe loader already refuses Python object tags, but it expands aliases freely: a 1.2 KB file of
nested aliases ("billion laughs") builds a graph of shared lists that any later walk — validation, an
error message quoting the input — expands into hundreds of megabytes. :func:`load_yaml` therefore

* refuses a file larger than ``max_bytes`` before parsing it;
* refuses text that is not UTF-8;
* counts aliases while composing (at most ``max_aliases``) and, before anything is constructed, refuses a
  document whose tree, with every alias expanded, has more than ``max_nodes`` nodes, or that refers to
  itself (a recursive alias);
* turns every parser error (broken YAML, unknown tags, impossible dates such as 2023-02-30) into a
  :class:`YamlError` whose message is bilingual and quotes at most :data:`QUOTE_CHARS` characters.
"""

from __future__ import annotations

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

#: at most this many characters of the user's input are quoted in an error message
QUOTE_CHARS = 200
MAX_ALIASES = 100
MAX_NODES = 50_000


class YamlError(ValueError):
    """A YAML text that cannot be read safely; the message says why (Vietnamese, English in brackets)."""


def clip(text: object, limit: int = QUOTE_CHARS) -> str:
    """``text`` as a string of at most ``limit`` characters (an ellipsis and the size when cut)."""
    s = str(text)
    if len(s) <= limit:
        return s
    return f"{s[:limit]}… (+{len(s) - limit} ký tự / characters)"


def quote(value: object, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters — for quoting input in a message. Containers are not
    walked beyond what the cut needs (a huge list costs no more than a short one)."""
    if isinstance(value, (list, tuple, dict, set)):
        if len(value) > 20:
            return f"<{type(value).__name__} với {len(value)} phần tử / of {len(value)} items>"
    try:
        r = repr(value)
    except RecursionError:  # pragma: no cover - refused before construction
        r = f"<{type(value).__name__}>"
    return clip(r, limit)


class _BudgetLoader(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing and checks the expanded size before constructing."""

    max_aliases = MAX_ALIASES
    max_nodes = MAX_NODES

    def __init__(self, stream):
        super().__init__(stream)
        self._aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self._aliases += 1
            if self._aliases > self.max_aliases:
                mark = self.peek_event().start_mark
                raise YamlError(f"quá nhiều bí danh YAML (dòng {mark.line + 1}: hơn {self.max_aliases}) "
                                f"[too many YAML aliases: more than {self.max_aliases}]")
        return super().compose_node(parent, index)

    def get_single_node(self):
        node = super().get_single_node()
        if node is not None:
            _check_size(node, self.max_nodes)
        return node


def _check_size(root: Node, max_nodes: int) -> None:
    """Refuse a node graph that refers to itself or whose expanded tree exceeds ``max_nodes`` nodes
    (linear in the graph's size: each distinct node is visited once, its expanded size memoised)."""
    size: dict[int, int] = {}
    state: dict[int, int] = {}  # 1 = being visited, 2 = done
    stack: list[tuple[Node, int]] = [(root, 0)]
    while stack:
        node, i = stack.pop()
        nid = id(node)
        children = _children(node)
        if i == 0:
            if state.get(nid) == 2:
                continue
            if state.get(nid) == 1:
                raise YamlError("tệp YAML tự tham chiếu đến chính nó (bí danh đệ quy) [recursive YAML alias]")
            state[nid] = 1
        if i < len(children):
            stack.append((node, i + 1))
            child = children[i]
            if state.get(id(child)) == 1:
                raise YamlError("tệp YAML tự tham chiếu đến chính nó (bí danh đệ quy) [recursive YAML alias]")
            if state.get(id(child)) != 2:
                stack.append((child, 0))
            continue
        total = 1 + sum(size[id(c)] for c in children)
        if total > max_nodes:
            raise YamlError(f"tệp YAML quá lớn khi mở rộng các bí danh (hơn {max_nodes:,} phần tử) "
                            f"[YAML document too large once aliases are expanded: more than {max_nodes:,} nodes]")
        size[nid] = total
        state[nid] = 2


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [x for kv in node.value for x in kv]
    return []


def load_yaml(data: bytes | str, origin: str, *, max_bytes: int = 1 << 20, max_aliases: int = MAX_ALIASES,
              max_nodes: int = MAX_NODES, what: tuple[str, str] = ("tệp YAML", "YAML file")):
    """Parse one YAML document safely (see the module docstring); raise :class:`YamlError` naming ``origin``.
    ``what`` names the text in messages (Vietnamese, English)."""
    vi, en = what
    size = len(data.encode("utf-8", "surrogatepass")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise YamlError(f"{origin}: {vi} quá lớn ({size:,} byte, tối đa {max_bytes:,}) "
                        f"[{en} too large: {size:,} bytes, at most {max_bytes:,}]")
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise YamlError(f"{origin}: {vi} không phải văn bản UTF-8 (byte lỗi ở vị trí {e.start}); hãy lưu lại "
                            f"với mã hóa UTF-8 [{en} is not UTF-8 text: invalid byte at offset {e.start}]") from None
    if "\x00" in data:
        raise YamlError(f"{origin}: {vi} chứa ký tự NUL, không phải văn bản [{en} holds a NUL character]")
    loader_cls = type("_Loader", (_BudgetLoader,), {"max_aliases": max_aliases, "max_nodes": max_nodes})
    loader = loader_cls(data)
    try:
        return loader.get_single_data()
    except YamlError as e:
        raise YamlError(f"{origin}: {e}") from None
    except yaml.YAMLError as e:
        raise YamlError(f"{origin}: {vi} không đúng cú pháp YAML [{en} is not valid YAML]: {clip(e, 400)}") from None
    except (ValueError, TypeError, OverflowError) as e:  # e.g. a date that does not exist: 2023-02-30
        raise YamlError(f"{origin}: giá trị không hợp lệ, chẳng hạn một ngày không có thật ({clip(e)}) "
                        f"[invalid value, e.g. a date that does not exist: {clip(e)}]") from None
    except RecursionError:
        raise YamlError(f"{origin}: {vi} lồng nhau quá sâu [{en} nested too deeply]") from None
    finally:
        loader.dispose()
