"""Which files of a listing a Truss deployment is built from.

detect-secrets runs only on these (it scans about 1 MB/s, so running it over a whole
monorepo would dominate the scan): every ``config.yaml``, ``.env``-like files, ``.trussrc``,
and Python files under the ``model/`` folder of a directory that has a ``config.yaml``.
The Truss-policy stage refines this with the config's own ``model_module_dir``.
"""

from __future__ import annotations

import posixpath


def truss_files(paths: list[str]) -> frozenset[str]:
    roots = {posixpath.dirname(p) for p in paths if posixpath.basename(p) == "config.yaml"}
    selected = set()
    for p in paths:
        name = posixpath.basename(p)
        if name in ("config.yaml", ".trussrc") or name == ".env" or name.startswith(".env.") \
                or name.endswith(".env"):
            selected.add(p)
        elif name.endswith(".py") and _under_model_dir(p, roots):
            selected.add(p)
    return frozenset(selected)


def _under_model_dir(path: str, roots: set[str]) -> bool:
    parts = path.split("/")
    for i, part in enumerate(parts[:-1]):
        if part == "model" and "/".join(parts[:i]) in roots:
            return True
    return False
