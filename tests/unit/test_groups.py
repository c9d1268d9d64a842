"""services.groups against hand-computed values: mean, sample std, Student t intervals, step alignment."""
from __future__ import annotations

import math

import pytest

from services import groups
from services.groups import GroupKey, Stat

# t(0.975, df) from printed tables: df 1 → 12.7062, df 2 → 4.3027, df 3 → 3.1824
T975 = {1: 12.7062047, 2: 4.30265273, 3: 3.18244631}


def test_describe_is_mean_sample_std_and_n() -> None:
    stat = groups.describe([1, 2, 3, 4])
    assert stat.mean == 2.5 and stat.n == 4
    assert stat.std == pytest.approx(math.sqrt(5 / 3))  # squares 2.25 + .25 + .25 + 2.25 = 5, over n − 1 = 3
    assert groups.describe([7.0]) == Stat(7.0, None, 1)  # one run: no spread
    assert groups.describe([]) == Stat(None, None, 0)
    assert groups.describe([1.0, None, math.nan, True, "x", 3.0]) == Stat(2.0, math.sqrt(2), 2)


def test_t_interval_matches_the_table() -> None:
    low, high = groups.t_interval(groups.describe([1, 2, 3, 4]))
    half = T975[3] * math.sqrt(5 / 3) / 2  # t · s / √n = 2.05426
    assert (low, high) == (pytest.approx(2.5 - half, abs=1e-6), pytest.approx(2.5 + half, abs=1e-6))
    assert low == pytest.approx(0.44574, abs=1e-5)
    two = groups.t_interval(groups.describe([2, 4]))  # s = √2, √n = √2: half width is t itself
    assert two == (pytest.approx(3 - T975[1], abs=1e-6), pytest.approx(3 + T975[1], abs=1e-6))
    assert groups.t_interval(groups.describe([5])) is None and groups.t_interval(groups.describe([])) is None


def test_mean_band_aligns_runs_by_step() -> None:
    band = groups.mean_band([[(0, 1.0), (1, 2.0), (2, 3.0)], [(0, 3.0), (1, 4.0)], [(0, 5.0), (1, 6.0)]])
    assert [p.step for p in band] == [0, 1, 2] and [p.n for p in band] == [3, 3, 1]
    assert band[0].mean == 3.0 and band[1].mean == 4.0 and band[2].mean == 3.0
    half = T975[2] * 2 / math.sqrt(3)  # values 1, 3, 5: s = 2
    assert band[0].low == pytest.approx(3 - half) and band[0].high == pytest.approx(3 + half)
    assert band[2].low is None and band[2].high is None  # only one run reached step 2: no band there
    assert groups.bucket_points({"buckets": [{"step_end": 9, "last": 0.5}]}) == [(9, 0.5)]


def test_keys_partition_and_summaries() -> None:
    runs = [{"params": {"lr": 0.1, "algo": "NB"}, "tags": {"team": "a"}, "metrics": {"acc": {"last": 0.8}},
             "gate": "failed"},
            {"params": {"lr": 0.1, "algo": "SVM"}, "tags": {}, "metrics": {"acc": {"last": 0.9}}, "gate": "passed"},
            {"params": {"lr": 1.0}, "tags": {"team": "a"}, "metrics": {}}]
    assert [k.text for k in groups.key_options(runs)] == ["param:algo", "param:lr", "tag:team"]
    assert groups.parse_key("param:lr") == GroupKey("param", "lr") and groups.parse_key("tag:a:b").name == "a:b"
    assert groups.parse_key("run:x") is None and groups.parse_key("param:") is None and groups.parse_key(3) is None
    by_lr = groups.partition(runs, GroupKey("param", "lr"))
    assert list(by_lr) == ["0.1", "1"] and len(by_lr["0.1"]) == 2
    assert list(groups.partition(runs, GroupKey("tag", "team"))) == ["a", groups.NOT_SET]
    first, second = groups.summarize(by_lr, ["acc"], ["last"])
    assert first["value"] == "0.1" and first["runs"] == 2 and first["failed"] == 1
    assert first["stats"][("acc", "last")].mean == pytest.approx(0.85)
    assert first["stats"][("acc", "last")].std == pytest.approx(math.sqrt(0.005))  # (0.05² · 2) / 1
    assert second["stats"][("acc", "last")] == Stat(None, None, 0)
