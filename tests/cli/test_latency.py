"""`orbemu latency` end to end, run as a user runs it (a subprocess), and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from tests.cli.conftest import orbemu_process, read_csv

# Hypatia's shell, written as TLEs (a designed shell: +Grid from its planes) — small and fast
HYPATIA = ["hypatia-starlink-550"]


@pytest.fixture(scope="module")
def shell_tle(tmp_path_factory):
    from orbemu.io.tle import write_tle
    from orbemu.orbits.presets import walker_preset

    path = tmp_path_factory.mktemp("latency") / "shell.tle"
    write_tle(walker_preset("hypatia-starlink-550"), path)
    return path


def test_csv_columns_and_summary(shell_tle, tmp_path):
    out = tmp_path / "rtt.csv"
    res = orbemu_process("latency", shell_tle, "--stations", "cities-top100",
                         "--pair", "Paris:Luanda", "--pair", "london:Tokyo",
                         "--start", "2000-01-01T00:00:00Z", "--duration", "20s", "--step", "2s",
                         "--max-gsl-range", "1089.686km", "--max-isl-range", "5016591m",
                         "--output", out)
    assert res.returncode == 0, res.stderr
    # the defaults and choices are printed at the start (stderr), the summary at the end
    assert "maximum range 1,089.686 km" in res.stderr
    assert "+Grid over" in res.stderr and "grazing altitude 80 km" in res.stderr
    assert "Paris → Luanda" in res.stdout and "wrote" in res.stdout
    header, rows = read_csv(out)
    assert header == ["time_utc", "src", "dst", "rtt_ms", "hops", "path"]
    assert len(rows) == 11 * 2
    assert rows[0][0] == "2000-01-01T00:00:00.000Z" and rows[0][1:3] == ["Paris", "Luanda"]
    assert rows[1][1:3] == ["London", "Tokyo"]
    for row in rows:
        if row[3]:
            path = row[5].split(">")
            assert path[0] == row[1] and path[-1] == row[2]
            assert all(p.isdigit() and int(p) < 1584 for p in path[1:-1])
            assert int(row[4]) == len(path) - 1
            assert 10.0 < float(row[3]) < 400.0
        else:
            assert row[4] == "" and row[5] == ""


def test_parquet_and_isl_file_and_workers(shell_tle, tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    # an ISL file: the intra-plane rings only
    isl = tmp_path / "rings.txt"
    isl.write_text("\n".join(f"{p * 22 + s} {p * 22 + (s + 1) % 22}"
                             for p in range(72) for s in range(22)))
    out = tmp_path / "rtt.parquet"
    res = orbemu_process("latency", shell_tle, "--stations", "cities-top100",
                         "--pair", "Paris:Luanda", "--isl", isl, "--min-elevation", "10",
                         "--start", "2000-01-01T00:00:00Z", "--duration", "60s", "--step", "1s",
                         "--workers", "2", "--output", out)
    assert res.returncode == 0, res.stderr
    assert "1,584 user-given pairs" in res.stderr and "2 worker processes" in res.stderr
    table = pq.read_table(out)
    assert table.column_names == ["time_utc", "src", "dst", "rtt_ms", "hops", "path"]
    assert table.num_rows == 61
    rtt = table.column("rtt_ms").to_numpy(zero_copy_only=False)
    reach = ~np.isnan(rtt)
    assert table.column("rtt_ms").null_count == int((~reach).sum())


@pytest.mark.parametrize(("args", "words"), [
    (["--pair", "Paris:Atlantis"], "no station named 'Atlantis'"),
    (["--pair", "Paris"], "not two station names"),
    (["--pair", "Paris:paris"], "to itself"),
    (["--pair", "Paris:Luanda", "--max-gsl-range", "1000"], "a number and a unit"),
    (["--pair", "Paris:Luanda", "--max-isl-range", "far"], "cannot read distance"),
    (["--pair", "Paris:Luanda", "--min-elevation", "25", "--max-gsl-range", "1000km"],
     "not both"),
    (["--pair", "Paris:Luanda", "--isl", "nonsense"], "neither plus-grid"),
    (["--pair", "Paris:Luanda", "--step", "0s"], "step must be positive"),
    (["--pair", "Paris:Luanda", "--output", "x.txt"], "unknown output format"),
])
def test_bad_input_exits_2_with_a_message(shell_tle, args, words):
    res = orbemu_process("latency", shell_tle, "--stations", "cities-top100", *args)
    assert res.returncode == 2, res.stderr
    assert words in res.stderr
    assert "Traceback" not in res.stderr


def test_unknown_stations_file_exits_2(shell_tle):
    res = orbemu_process("latency", shell_tle, "--stations", "no-such-list",
                         "--pair", "A:B")
    assert res.returncode == 2 and "Traceback" not in res.stderr
