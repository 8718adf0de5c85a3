"""Optional dependencies (the ``pip install -e '.[extra]'`` groups): checked before work starts.

A command that needs an extra (``tune`` needs optuna, the benchmark's HTML page matplotlib)
checks for it first, so that a missing package is one line naming what to install, not a
traceback after an hour of tagging.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping


class MissingExtra(ImportError, ValueError):
    """An optional package is not installed; the message names the extra that brings it.

    An ``ImportError`` for Python callers, and a ``ValueError`` so that the CLI reports it as
    bad input: one line, exit status 2.
    """


def installed(module: str) -> bool:
    """Whether ``module`` can be imported (without importing it: matplotlib takes a second)."""
    if module in sys.modules:
        return sys.modules[module] is not None  # None: import blocked (tests do this)
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def require(packages: Mapping[str, str], what: str, hint: str = "") -> None:
    """Raise :class:`MissingExtra` naming every missing package and its extra at once.

    ``packages`` maps an importable module to the extra of ``pyproject.toml`` that installs it
    (``{"optuna": "tune"}``); ``what`` says what needs them; ``hint`` is another way out
    (``"or set html = false"``).
    """
    missing = {m: extra for m, extra in packages.items() if not installed(m)}
    if not missing:
        return
    extras = ",".join(dict.fromkeys(missing.values()))
    more = f" ({hint})" if hint else ""
    raise MissingExtra(
        f"{what} needs {' and '.join(missing)}, which {'is' if len(missing) == 1 else 'are'} not "
        f"installed: pip install -e '.[{extras}]'{more}",
        name=next(iter(missing)),
    )
