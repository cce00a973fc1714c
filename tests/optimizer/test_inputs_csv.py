"""IN.csv reading: good files parse; bad ones name the file, row and column."""

from __future__ import annotations

import pytest

from microgrid.errors import InputError
from optimizer.inputs_csv import read_inputs_csv

GOOD = """time,load_kw,pv_available_kw
2026-01-01T00:00:00Z,300,0
2026-01-01T00:15:00Z,310.5,0
2026-01-01T00:30:00+00:00,320,12.5
"""


def _write(tmp_path, text, name="IN.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_good_file(tmp_path):
    inp = read_inputs_csv(_write(tmp_path, GOOD))
    assert inp.load_kw.tolist() == [300, 310.5, 320]
    assert inp.pv_available_kw.tolist() == [0, 0, 12.5]
    assert inp.dt_h.tolist() == [0.25] * 3
    assert inp.time[2].isoformat() == "2026-01-01T00:30:00+00:00"


@pytest.mark.parametrize("text, row, column, words", [
    (GOOD.replace("00:30:00+00:00", "00:45:00Z"), 4, "time", "gap"),
    (GOOD.replace("310.5", "-5"), 3, "load_kw", "negative"),
    (GOOD.replace("pv_available_kw", "pv_kw"), 1, "pv_kw", "did you mean 'pv_available_kw'"),
    (GOOD.replace(",pv_available_kw", "").replace(",0\n", "\n").replace(",12.5", ""), 1, "pv_available_kw",
     "missing column"),
    (GOOD.replace("00:15:00Z", "02:15:00+02:00"), 3, "time", "not UTC"),
    (GOOD.replace("2026-01-01T00:15:00Z", "2026-01-01T00:15:00"), 3, "time", "no UTC offset"),
    (GOOD.replace("310.5", "nan"), 3, "load_kw", "missing"),
    (GOOD.replace("310.5", "abc"), 3, "load_kw", "not a number"),
    (GOOD.replace("2026-01-01T00:15:00Z", "yesterday"), 3, "time", "ISO 8601"),
])
def test_bad_file_names_row_and_column(tmp_path, text, row, column, words):
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as err:
        read_inputs_csv(path)
    e = err.value
    assert (e.path, e.row, e.column) == (str(path), row, column)
    assert words in str(e) and f"row {row}" in str(e) and str(path) in str(e)


def test_missing_file(tmp_path):
    with pytest.raises(InputError, match="cannot read"):
        read_inputs_csv(tmp_path / "nope.csv")
