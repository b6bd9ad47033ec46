"""Griffe extension for the API reference: bprop's docstrings are written for reading in the
source and in ``help()``, with Sphinx cross-reference roles and reST literal blocks; this shows
them in Markdown as what they are — code.

- ``:class:`~bprop.x.Name``` (any role, with or without ``~``) becomes ```Name``` (``~``: the
  last part only) or ```bprop.x.Name```;
- a paragraph ending in ``::`` ends in ``:`` (the indented block after it is already a Markdown
  code block).
"""

from __future__ import annotations

import re

import griffe

_ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`]+)`")
_LITERAL = re.compile(r"(\S)::[ \t]*$", re.M)


def _role(match: re.Match) -> str:
    tilde, target = match.groups()
    return f"`{target.rsplit('.', 1)[-1] if tilde else target}`"


def plain(text: str) -> str:
    """Docstring text with Sphinx roles as code spans and ``::`` literal markers as ``:``."""
    return _LITERAL.sub(r"\1:", _ROLE.sub(_role, text))


class SphinxRolesAsCode(griffe.Extension):
    """Rewrite every loaded object's docstring with :func:`plain`."""

    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = plain(obj.docstring.value)
