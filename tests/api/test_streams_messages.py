"""WebSocket metric streams on a real threaded server (SQLite + memory bus, Postgres + Redis pub/sub): the messages
a run or experiment stream carries, and the resources a stream holds (the per-process bound, close, heartbeats)."""
from __future__ import annotations

from typing import Any

from simple_websocket import Client
from wsproto.events import Pong

from services import streams
from services.context import Core
from tests.api.streams_support import (  # noqa: F401 (live_url, ping_options, stream_slots, world are fixtures)
    QUIET, SEED, closing, connect, dead_client, live_url, ping_options, post_metrics, receive, refused, stream_slots,
    subscribers, wait_for, world)


# ---------------------------------------------------------------- messages


def test_run_stream_pushes_the_seed_message_for_each_batch(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        post_metrics(live_url, alice.token, run_id, SEED)
        assert receive(ws) == {"run_id": run_id, "metrics": {"step": 150, "accuracy": 0.954, "loss": 0.218},
                               "timestamp": "2024-01-15T10:35:00Z"}

        # a batch of steps: one message with the latest step and every value logged at it
        post_metrics(live_url, alice.token, run_id, {"steps": [
            {"metrics": {"loss": 0.2}, "step": 151, "timestamp": "2024-01-15T10:35:01Z"},
            {"metrics": {"loss": 0.19, "accuracy": 0.96}, "step": 152, "timestamp": "2024-01-15T10:35:02Z"}]})
        assert receive(ws) == {"run_id": run_id, "metrics": {"step": 152, "loss": 0.19, "accuracy": 0.96},
                               "timestamp": "2024-01-15T10:35:02Z"}

        # other runs' metrics and the run's other events (a rename, a note) are not sent
        post_metrics(live_url, alice.token, world["runs"][1], SEED)
        assert alice.patch(f"/api/v1/runs/{run_id}", json={"name": "renamed"}).status_code == 200
        assert alice.post(f"/api/v1/runs/{run_id}/notes", json={"body": "hi"}).status_code == 201
        assert ws.receive(timeout=QUIET) is None

        post_metrics(live_url, alice.token, run_id, {"metrics": {"loss": 0.1}, "step": 200})
        message = receive(ws)
        assert message["metrics"] == {"step": 200, "loss": 0.1} and message["run_id"] == run_id
        assert message["timestamp"].endswith("Z")


def test_experiment_stream_carries_every_run_of_the_experiment(live_url: str, world: dict, core: Core) -> None:
    alice, (first, second) = world["alice"], world["runs"]
    with closing(connect(live_url, f"/api/v1/experiments/{world['exp']}/metrics/live", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"exp:{world['exp']}") == 1)
        post_metrics(live_url, alice.token, first, SEED)
        post_metrics(live_url, alice.token, world["other_run"], SEED)  # another experiment: not on this stream
        post_metrics(live_url, alice.token, second, {"metrics": {"loss": 0.5}, "step": 3,
                                                     "timestamp": "2024-01-15T10:36:00Z"})
        got = [receive(ws), receive(ws)]
        assert got == [{"run_id": first, "metrics": {"step": 150, "accuracy": 0.954, "loss": 0.218},
                        "timestamp": "2024-01-15T10:35:00Z"},
                       {"run_id": second, "metrics": {"step": 3, "loss": 0.5}, "timestamp": "2024-01-15T10:36:00Z"}]
        assert ws.receive(timeout=QUIET) is None


def test_many_batches_arrive_in_order(live_url: str, world: dict, core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as ws:
        assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1)
        for step in range(30):
            post_metrics(live_url, alice.token, run_id, {"metrics": {"loss": 1.0 / (step + 1)}, "step": step})
        steps = [receive(ws)["metrics"]["step"] for _ in range(30)]
        assert steps == list(range(30))

# ---------------------------------------------------------------- resources: bound, close, heartbeats


def test_streams_per_process_are_bounded(live_url: str, world: dict, stream_slots: streams.StreamSlots,
                                         core: Core) -> None:
    alice, run_id = world["alice"], world["runs"][0]
    path = f"/api/v1/runs/{run_id}/metrics/stream"
    stream_slots.limit = 2
    first, second = connect(live_url, path, alice.token), connect(live_url, path, alice.token)
    try:
        assert wait_for(lambda: stream_slots.active == 2)
        with closing(connect(live_url, path, alice.token)) as third:
            error, code = refused(third)
            assert (code, error["code"]) == (4429, "busy")
        first.close()
        assert wait_for(lambda: stream_slots.active == 1)
        with closing(connect(live_url, path, alice.token)) as again:  # a freed slot is usable again
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
            post_metrics(live_url, alice.token, run_id, SEED)
            assert receive(again)["metrics"]["step"] == 150
            assert receive(second)["metrics"]["step"] == 150
    finally:
        second.close()
    assert wait_for(lambda: stream_slots.active == 0)


def test_closing_the_socket_closes_the_subscription(live_url: str, world: dict, core: Core,
                                                    stream_slots: streams.StreamSlots) -> None:
    alice, run_id, exp_id = world["alice"], world["runs"][0], world["exp"]
    ws = connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)
    live = connect(live_url, f"/api/v1/experiments/{exp_id}/metrics/live", alice.token)
    assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1 and subscribers(core, f"exp:{exp_id}") == 1)
    ws.close()
    live.close()
    assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 0 and subscribers(core, f"exp:{exp_id}") == 0)
    assert wait_for(lambda: stream_slots.active == 0)
    post_metrics(live_url, alice.token, run_id, SEED)  # publishing to nobody is fine


def test_a_client_that_stops_answering_pings_is_dropped(live_url: str, world: dict, core: Core,
                                                        ping_options: dict,
                                                        stream_slots: streams.StreamSlots) -> None:
    ping_options["ping_interval"] = 0.3
    alice, run_id = world["alice"], world["runs"][0]
    with closing(connect(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)) as healthy:
        pongs = count_pongs(healthy)
        dead = dead_client(live_url, f"/api/v1/runs/{run_id}/metrics/stream", alice.token)
        try:
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 2)
            # several ping intervals: the healthy client answers, the dead one does not
            assert wait_for(lambda: pongs[0] >= 3), f"the healthy client answered {pongs[0]} pings, not 3"
            assert wait_for(lambda: subscribers(core, f"run:{run_id}") == 1), "the dead client was not dropped"
            assert stream_slots.active == 1
            post_metrics(live_url, alice.token, run_id, SEED)
            assert receive(healthy)["run_id"] == run_id  # the healthy one kept streaming through the pings
        finally:
            dead.close()


def count_pongs(ws: Client) -> list[int]:
    """A one-item list counting the pongs the client sends (its answers to the server's pings) from now on."""
    sent = [0]
    send = ws.ws.send

    def counting(event: Any) -> bytes:
        if isinstance(event, Pong):
            sent[0] += 1
        return send(event)

    ws.ws.send = counting
    return sent
