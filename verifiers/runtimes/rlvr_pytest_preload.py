"""Imported by rlvr_pytest.pth while rlvr takes the Wizer snapshot of CPython with pytest mounted, so a
pytest run starts with pytest and the plugins `pytest.main` loads already imported (the guest's
site-packages is read-only and holds no .pyc: importing them per run would cost ~1 s of Wasm)."""
import importlib

import pytest
import _pytest.config

for _name in _pytest.config.default_plugins:
    try:
        importlib.import_module("_pytest." + _name)
    except Exception:  # a plugin that needs what WASI lacks (faulthandler) is disabled per run
        pass
for _name in ("_pytest.assertion.rewrite", "_pytest.assertion.util", "_pytest.python_api", "_pytest.raises",
              "_pytest._code", "_pytest._io.saferepr", "_pytest._py.path", "xml.etree.ElementTree", "inspect",
              "ast", "dataclasses", "decimal", "fractions", "typing", "string", "copy", "operator"):
    try:
        importlib.import_module(_name)
    except Exception:
        pass
del _name
# `random` is left out on purpose: imported here, its seed would be frozen into the snapshot.
