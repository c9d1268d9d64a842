"""The run page's feature-usage card on a real core: hidden until feature usage is logged, then sets and bars."""
from __future__ import annotations

from typing import Any

import pytest

from callbacks import run_features
from components import ids
from services import feature_usage
from tests.browser.seed import Seed, seed_dashboard
from tests.unit.dash_tree import find, signed_in, text


@pytest.fixture
def seed(core: Any) -> Seed:
    return seed_dashboard(core, run_count=1)


def test_feature_card_shows_sets_and_importance_largest_first(backend: Any, core: Any, seed: Seed) -> None:
    run_id = seed.run_ids[0]
    with signed_in(backend, seed.alice):
        assert run_features.features(0, run_id) is None  # nothing logged: no card at all
    feature_usage.log_feature_usage(core, seed.alice, run_id, ["demographics", "vitals"],
                               {"age": 0.12, "heart_rate": 0.55, "bmi": -0.3})
    with signed_in(backend, seed.alice):
        card = run_features.features(1, run_id)
    assert "demographics" in text(find(card, ids.RUN_FEATURE_SETS)) and "vitals" in text(card)
    bars = find(card, ids.RUN_FEATURE_CHART).figure.data[0]
    assert list(bars.y) == ["age", "bmi", "heart_rate"]  # drawn bottom-up: largest |importance| at the top
    assert list(bars.x) == [0.12, -0.3, 0.55]
