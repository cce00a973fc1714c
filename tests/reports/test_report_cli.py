"""`microgrid report` on bad input: a clear message and exit 2."""

from __future__ import annotations

import pytest
from testkit import EXAMPLE_SITE

from microgrid.cli import main

SITE = str(EXAMPLE_SITE)


def run(capsys, *args: str) -> tuple[int, str]:
    code = main(["report", "--site", SITE, *args])
    return code, capsys.readouterr().err


def test_unknown_period(capsys, tmp_path):
    code, err = run(capsys, "--period", "Oct-2026", "--out", str(tmp_path / "r.csv"),
                    "--store", f"sqlite:///{tmp_path / 'none.sqlite'}")
    assert code == 2
    assert "unknown period 'Oct-2026'" in err and "FY2026" in err


def test_missing_store(capsys, tmp_path):
    store = tmp_path / "missing.sqlite"
    code, err = run(capsys, "--period", "2026-10", "--out", str(tmp_path / "r.pdf"),
                    "--store", f"sqlite:///{store}")
    assert code == 2 and "not found" in err and str(store) in err
    assert not store.exists()  # a report never creates an empty store


def test_default_store_is_the_demo_file_in_the_cwd(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, err = run(capsys, "--period", "2026-10", "--out", "r.html")
    assert code == 2 and "sqlite:///microgrid.sqlite" in err


def test_format_needed(capsys, tmp_path):
    code, err = run(capsys, "--period", "2026-10", "--out", str(tmp_path / "report.txt"))
    assert code == 2 and "--format" in err


def test_output_folder_must_exist(capsys, tmp_path):
    from microgrid.errors import ReportError
    from microgrid.reports.export import write_report

    with pytest.raises(ReportError, match="does not exist"):
        write_report(None, "csv", tmp_path / "nope" / "r.csv")  # type: ignore[arg-type]
