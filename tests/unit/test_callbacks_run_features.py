"""The run page's feature-usage card on a real core: hidden until feature usage is logged, then sets and bars."""
from __future__ import annotations

import json
from typing import Any

import pytest
from dash.exceptions import PreventUpdate
from plotly.utils import PlotlyJSONEncoder

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
        with pytest.raises(PreventUpdate):  # nothing logged and nothing shown: no card, no work
            run_features.features(0, run_id)
    feature_usage.log_feature_usage(core, seed.alice, run_id, ["demographics", "vitals"],
                               {"age": 0.12, "heart_rate": 0.55, "bmi": -0.3})
    with signed_in(backend, seed.alice):
        card = run_features.features(1, run_id)
    assert "demographics" in text(find(card, ids.RUN_FEATURE_SETS)) and "vitals" in text(card)
    bars = find(card, ids.RUN_FEATURE_CHART).figure.data[0]
    assert list(bars.y) == ["age", "bmi", "heart_rate"]  # drawn bottom-up: largest |importance| at the top
    assert list(bars.x) == [0.12, -0.3, 0.55]
    shown = json.loads(json.dumps(card, cls=PlotlyJSONEncoder))  # as the browser sends it back
    with signed_in(backend, seed.alice):
        with pytest.raises(PreventUpdate):  # a later version move with the same record re-reads nothing
            run_features.features(2, run_id, shown)
    feature_usage.log_feature_usage(core, seed.alice, run_id, ["labs"], {"age": 0.9})
    with signed_in(backend, seed.alice):
        again = run_features.features(3, run_id, shown)
    assert "labs" in text(again) and list(find(again, ids.RUN_FEATURE_CHART).figure.data[0].y)[-1] == "age"
