"""Typing and documentation: py.typed and the hand-written _core.pyi ship in the
installed package, the stub's names match the compiled module, and every
public function and method has a docstring."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

import pytest

import tfjs_infer
from tfjs_infer import _core, cli, images, postprocess

PACKAGE = Path(tfjs_infer.__file__).parent
STUB = PACKAGE / "_core.pyi"


def test_markers_ship_in_the_installed_package() -> None:
    # The tests import the installed wheel, so these prove the wheel holds them.
    assert (PACKAGE / "py.typed").is_file()
    assert STUB.is_file()


def _stub() -> ast.Module:
    return ast.parse(STUB.read_text(encoding="utf-8"))


def _stub_top_level(tree: ast.Module) -> dict[str, ast.AST]:
    out: dict[str, ast.AST] = {}
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            out[node.name] = node
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and (not node.target.id.startswith("_") or node.target.id == "_testing")
        ):
            out[node.target.id] = node
    return out


def _compiled_names(obj: object) -> set[str]:
    names = set(vars(obj)) if inspect.isclass(obj) else set(dir(obj))
    return {n for n in names if not n.startswith("__") and not n.startswith("_pybind11")} | (
        {"__init__"} if inspect.isclass(obj) else set()
    )


def test_stub_names_match_the_compiled_module() -> None:
    stub = _stub_top_level(_stub())
    compiled = _compiled_names(_core)
    assert set(stub) == compiled, (
        "python/tfjs_infer/_core.pyi is out of date: only in the module "
        f"{sorted(compiled - set(stub))}, only in the stub {sorted(set(stub) - compiled)}"
    )


@pytest.mark.parametrize("cls", ["Graph", "CompiledModel"])
def test_stub_class_members_match(cls: str) -> None:
    node = _stub_top_level(_stub())[cls]
    assert isinstance(node, ast.ClassDef)
    members = {n.name for n in node.body if isinstance(n, ast.FunctionDef)}
    compiled = _compiled_names(getattr(_core, cls))
    assert members == compiled, (
        f"_core.pyi class {cls} is out of date: only compiled {sorted(compiled - members)}, "
        f"only in the stub {sorted(members - compiled)}"
    )


def _pybind_params(func: object) -> list[str]:
    """Parameter names from pybind11's signature line; argN (positional-only) as '/'."""
    first = (func.__doc__ or "").splitlines()[0]
    inner = first[first.index("(") + 1 : first.rindex(") ->")]
    names = [m.group(1) for m in re.finditer(r"(?:^|, )(\w+):", inner)]
    return ["/" if re.fullmatch(r"arg\d+", n) else n for n in names if n != "self"]


def _stub_params(fn: ast.FunctionDef) -> list[str]:
    """Parameter names of a stub function; positional-only ones (before `/`) as '/'."""
    posonly = [a for a in fn.args.posonlyargs if a.arg != "self"]
    names = ["/"] * len(posonly) + [a.arg for a in fn.args.args]
    return [n for n in names if n != "self"]


def test_stub_signatures_match() -> None:
    stub = _stub_top_level(_stub())
    checked = 0
    for name, node in stub.items():
        targets: list[tuple[str, ast.FunctionDef, object]] = []
        if isinstance(node, ast.FunctionDef):
            targets.append((name, node, getattr(_core, name)))
        elif isinstance(node, ast.ClassDef):
            for fn in node.body:
                if isinstance(fn, ast.FunctionDef) and not any(
                    isinstance(d, (ast.Name, ast.Attribute)) for d in fn.decorator_list
                ):
                    targets.append(
                        (f"{name}.{fn.name}", fn, getattr(getattr(_core, name), fn.name))
                    )
        for qual, fn, obj in targets:
            assert _stub_params(fn) == _pybind_params(obj), f"_core.pyi: {qual} parameters differ"
            checked += 1
    assert checked >= 10


def _public_callables() -> list[tuple[str, object]]:
    out: list[tuple[str, object]] = []
    for name in tfjs_infer.__all__:
        obj = getattr(tfjs_infer, name)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            out.append((name, obj))
    for mod in (postprocess, images, tfjs_infer.io, cli):
        for name in getattr(mod, "__all__", []) or [n for n in vars(mod) if not n.startswith("_")]:
            obj = getattr(mod, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__.startswith(
                "tfjs_infer"
            ):
                out.append((f"{mod.__name__}.{name}", obj))
    for cls in (tfjs_infer.Model, postprocess.Denormalize):
        # Model's methods live in its parts (_predict.py, _presentation.py...): walk them all.
        own = [k for k in cls.__mro__ if k.__module__.startswith("tfjs_infer")]
        members = {n: m for k in reversed(own) for n, m in vars(k).items()}
        for name, member in members.items():
            if name.startswith("_"):
                continue
            target = member.fget if isinstance(member, property) else member
            if callable(target) or isinstance(member, (classmethod, staticmethod)):
                out.append((f"{cls.__name__}.{name}", getattr(target, "__func__", target)))
    return out


@pytest.mark.parametrize(
    "name,obj", _public_callables(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_every_public_function_is_documented(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc and len(doc.strip()) >= 20, f"{name} has no docstring"


def test_public_signatures_are_annotated() -> None:
    for name, obj in _public_callables():
        if not inspect.isfunction(obj):
            continue
        sig = inspect.signature(obj)
        missing = [
            p
            for p, v in sig.parameters.items()
            if p not in ("self", "cls") and v.annotation is inspect.Parameter.empty
        ]
        assert not missing, f"{name}: parameters {missing} have no type hints"
        assert sig.return_annotation is not inspect.Signature.empty, f"{name}: no return type"
