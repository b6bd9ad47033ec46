"""Every public name of bprop has a docstring, so the API reference (docs/api/) documents it.

Public: a module whose dotted name has no part starting with ``_``; a class or function
defined there (not imported, not an alias) whose name has no leading ``_``; and a method or
property a public class defines, likewise. A method that overrides a documented one of a base
class inherits its docstring (``inspect.getdoc``), as the reference shows it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import bprop


def public_modules():
    yield bprop
    for m in pkgutil.walk_packages(bprop.__path__, "bprop."):
        if not any(part.startswith("_") for part in m.name.split(".")):
            yield importlib.import_module(m.name)


def _own_doc(obj) -> bool:
    return bool((getattr(obj, "__doc__", None) or "").strip())


def _member_documented(cls: type, name: str) -> bool:
    for klass in cls.__mro__:
        member = vars(klass).get(name)
        if member is None:
            continue
        if isinstance(member, (classmethod, staticmethod)):
            member = member.__func__
        if _own_doc(member.fget if isinstance(member, property) else member):
            return True
    return False


def undocumented() -> list[str]:
    missing = []
    for mod in public_modules():
        for name, obj in vars(mod).items():
            if name.startswith("_") or not (inspect.isclass(obj) or inspect.isfunction(obj)):
                continue
            if obj.__module__ != mod.__name__ or obj.__name__ != name:
                continue  # imported here, or an alias of another name
            if not _own_doc(obj):
                missing.append(f"{mod.__name__}.{name}")
            if not inspect.isclass(obj):
                continue
            for attr, member in vars(obj).items():
                func = (
                    member.__func__ if isinstance(member, (classmethod, staticmethod)) else member
                )
                if attr.startswith("_") or not (
                    inspect.isfunction(func) or isinstance(member, property)
                ):
                    continue
                if not _member_documented(obj, attr):
                    missing.append(f"{mod.__name__}.{name}.{attr}")
    return missing


def test_every_public_name_has_a_docstring():
    missing = undocumented()
    assert not missing, f"{len(missing)} public names without a docstring:\n" + "\n".join(missing)
