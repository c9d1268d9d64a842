"""How queued log calls become request bodies (pure: no server)."""
from __future__ import annotations

from experiment_tracker.batching import Batch, Item, build_batches


def test_batches_hold_at_most_1000_points_and_never_one_key_twice_at_a_step() -> None:
    items = [Item("r1", step, 1000 + step, {f"k{i}": float(i) for i in range(7)}) for step in range(500)]
    items += [Item("r1", 3, 9999, {"k0": 1.0})]  # the same key and step again, later
    items += [Item("r2", 0, 5, {"x": 1.0})]
    batches = build_batches(items)
    assert sum(b.points for b in batches) == 500 * 7 + 2
    assert all(b.points <= 1000 for b in batches)
    for batch in batches:
        pairs = [(key, s["step"]) for s in batch.steps for key in s["metrics"]]
        assert len(pairs) == len(set(pairs)) == batch.points
    assert [b.run_id for b in batches].count("r2") == 1


def test_a_huge_single_call_is_split_across_batches() -> None:
    batches = build_batches([Item("r", 0, 1, {f"k{i}": 0.0 for i in range(2500)})])
    assert [b.points for b in batches] == [1000, 1000, 500]


def test_halves_split_by_steps_then_by_keys() -> None:
    batch = Batch("r", [{"metrics": {"a": 1.0, "b": 2.0}, "step": 0, "timestamp": 1},
                        {"metrics": {"a": 3.0}, "step": 1, "timestamp": 1}], 3)
    left, right = batch.halves()
    assert (left.points, right.points) == (2, 1)
    one, two = left.halves()
    assert one.steps == [{"metrics": {"a": 1.0}, "step": 0, "timestamp": 1}]
    assert two.steps == [{"metrics": {"b": 2.0}, "step": 0, "timestamp": 1}]
