"""The layer contracts of docs/architecture.md §1 hold, and a violation fails them.

``scripts/test.sh`` runs ``lint-imports`` on the tree before the tests; here the same contracts
run on a copy of the packages with one deliberate violation (a telemetry module importing the
virtual camp), which must break them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import ROOT

PACKAGES = ("microgrid", "telemetry", "forecasts", "optimizer", "dashboards")
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def tree_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = tmp_path_factory.mktemp("tree")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_every_contract(tree_copy: Path) -> None:
    done = _lint(tree_copy)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "broken" in done.stdout and "0 broken" in done.stdout


def test_a_telemetry_module_importing_the_virtual_camp_breaks_the_layers(tree_copy: Path) -> None:
    bad = tree_copy / "telemetry" / "sneaky.py"
    bad.write_text('"""A capability reaching up into the virtual camp."""\n\n'
                   "from microgrid.simulator.camp import VirtualCamp\n\n__all__ = [\"VirtualCamp\"]\n")
    try:
        done = _lint(tree_copy)
    finally:
        bad.unlink()
    assert done.returncode != 0
    assert "Capabilities never import the application BROKEN" in done.stdout
    assert "telemetry.sneaky -> microgrid.simulator.camp" in done.stdout
