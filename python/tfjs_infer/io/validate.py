"""Checks of a model config's shape before the frontend walks it.

The readers parse JSON from untrusted files; the frontend then walks the
config recursively and expects objects where Keras writes objects. These
checks refuse, with the file, the layer and the field named, what would
otherwise surface as a RecursionError, an AttributeError or a TypeError:

- nesting deeper than MAX_DEPTH levels (real models: 15 at most among the
  fixtures; a Functional model nested in another adds about 4);
- a model config whose ``class_name`` is not a string, a container whose
  ``layers`` is not a list of objects, a layer whose ``class_name``, ``name``,
  ``config`` or ``inbound_nodes`` has the wrong JSON type.

The walk uses an explicit stack: no recursion on untrusted depth.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidModelError

MAX_DEPTH = 100
CONTAINERS = ("Sequential", "Functional", "Model")


def loads_json(data: bytes | str, source: str, what: str) -> Any:
    """json.loads with a named error for invalid or too deeply nested text."""
    try:
        doc = json.loads(data)
    except RecursionError:
        raise InvalidModelError(
            f"{source}: {what} nests JSON arrays or objects too deeply to parse (expected at "
            f"most {MAX_DEPTH} levels)"
        ) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidModelError(f"{source}: {what} is not valid JSON ({exc})") from None
    check_depth(doc, source, what)
    return doc


def check_depth(doc: Any, source: str, what: str, limit: int = MAX_DEPTH) -> None:
    """Refuse JSON nested more than `limit` levels (the frontend recurses on it)."""
    stack = [(doc, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise InvalidModelError(
                f"{source}: {what} nests arrays or objects {depth} levels deep or more; "
                f"expected at most {limit}"
            )
        if isinstance(node, dict):
            stack.extend((v, depth + 1) for v in node.values())
        elif isinstance(node, list):
            stack.extend((v, depth + 1) for v in node)


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
    if value is None:
        return "null"
    for t, name in names.items():
        if type(value) is t:
            return f"{name} {_short(value)}"
    return f"a number {_short(value)}" if isinstance(value, (int, float)) else type(value).__name__


def _short(value: Any) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def check_topology(topology: Any, source: str) -> None:
    """Check the JSON types the frontend relies on (see the module docstring)."""
    if not isinstance(topology, dict):
        raise InvalidModelError(
            f"{source}: the model config must be an object, found {_kind(topology)}"
        )
    stack: list[tuple[dict[str, Any], str]] = [(topology, "the model")]
    while stack:
        entry, where = stack.pop()
        cls = entry.get("class_name")
        if not isinstance(cls, str):
            raise InvalidModelError(
                f"{source}: {where}: 'class_name' must be a string, found {_kind(cls)}"
            )
        if "name" in entry and entry["name"] is not None and not isinstance(entry["name"], str):
            raise InvalidModelError(
                f"{source}: {where}: 'name' must be a string, found {_kind(entry['name'])}"
            )
        config = entry.get("config")
        if cls not in CONTAINERS:
            if config is not None and not isinstance(config, dict):
                raise InvalidModelError(
                    f"{source}: {where} ({cls}): 'config' must be an object, found {_kind(config)}"
                )
            continue
        stack.extend(_container_children(cls, config, source, where))


def _container_children(
    cls: str, config: Any, source: str, where: str
) -> list[tuple[dict[str, Any], str]]:
    if isinstance(config, list) and cls == "Sequential":
        layers: Any = config  # Keras 2.0's Sequential config: the layer list itself
    elif isinstance(config, dict):
        layers = config.get("layers", [])
        for key in ("input_layers", "output_layers"):
            value = config.get(key)
            if value is not None and not isinstance(value, (list, dict)):  # Keras 3: dict
                raise InvalidModelError(
                    f"{source}: {where} ({cls}): '{key}' must be an array or an object, "
                    f"found {_kind(value)}"
                )
    else:
        raise InvalidModelError(
            f"{source}: {where} ({cls}): 'config' must be an object, found {_kind(config)}"
        )
    if not isinstance(layers, list):
        raise InvalidModelError(
            f"{source}: {where} ({cls}): 'layers' must be an array, found {_kind(layers)}"
        )
    children = []
    for i, layer in enumerate(layers):
        if not isinstance(layer, dict):
            raise InvalidModelError(
                f"{source}: {where} ({cls}): layer {i} must be an object, found {_kind(layer)}"
            )
        name = layer.get("name")
        if name is None and isinstance(layer.get("config"), dict):
            name = layer["config"].get("name")
        label = f"layer '{name}'" if isinstance(name, str) else f"layer {i}"
        nodes = layer.get("inbound_nodes")
        if nodes is not None and (
            not isinstance(nodes, list) or not all(isinstance(n, (list, dict)) for n in nodes)
        ):
            raise InvalidModelError(
                f"{source}: {label}: 'inbound_nodes' must be an array of arrays or objects, "
                f"found {_kind(nodes)}"
            )
        children.append((layer, label))
    return children


__all__ = ["MAX_DEPTH", "check_depth", "check_topology", "loads_json"]
