"""The summary's peak-memory table shows, per method and store size, what writing and reading held."""

from __future__ import annotations

import pandas as pd

from imagestores.summary import memory_table

MiB = 2**20


def peaks(*rows: tuple[str, int, str, float]) -> pd.DataFrame:
    """Summary rows: (method, cutoff, operation, peak MiB)."""
    return pd.DataFrame(
        [
            {"method": method, "cutoff": cutoff, "operation": operation, "peak_anon_bytes": mib * MiB}
            for method, cutoff, operation, mib in rows
        ]
    )


def test_each_cell_is_the_largest_peak_of_writing_or_of_reading_at_that_size():
    table = memory_table(
        peaks(
            ("npy", 10, "store_many", 1.0),
            ("npy", 10, "store_one", 2.0),
            ("npy", 10, "read_many", 12.0),
            ("npy", 10, "read_random", 3.0),
            ("npy", 1000, "store_many", 1.5),
            ("npy", 1000, "read_many", 12.5),
            ("lmdb", 10, "store_many", 40.0),
            ("lmdb", 10, "read_one", 0.3),
            ("lmdb", 1000, "store_many", 400.0),
            ("lmdb", 1000, "read_one", 0.5),
        )
    )
    assert table[0] == "| method | write at 10 | read at 10 | write at 1,000 | read at 1,000 |"
    assert table[2:] == ["| npy | 2.0 | 12.0 | 1.5 | 12.5 |", "| lmdb | 40.0 | 0.3 | 400.0 | 0.5 |"]


def test_a_size_a_method_was_not_measured_at_stays_empty():
    table = memory_table(
        peaks(
            ("npy", 10, "read_many", 12.0), ("npy", 100, "read_many", 12.0), ("sqlite", 10, "store_many", 3.0)
        )
    )
    assert table[3] == "| sqlite | 3.0 |  |  |  |"
