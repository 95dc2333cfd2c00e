"""scripts.rasa_fastpaths: each shortcut gives Rasa's own answers.

The graph runner and DIET's concrete function are compared with Rasa on the trained model (the
same parses and the same next-action predictions); the debug copies on the rule that they are
made only for debug logs. The dialogue fast paths have their own tests
(test_dialogue_fastpaths.py)."""

from __future__ import annotations

import asyncio
import json
import logging

import numpy as np
import pytest
import scipy.sparse
import structlog
from rasa.core.agent import Agent
from rasa.engine.exceptions import GraphRunError
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.loading import load_data
from rasa.utils.log_utils import configure_structlog
from rasa.utils.tensorflow import models

from scripts import rasa_fastpaths
from scripts.paths import HOLDOUT, MODEL
from scripts.train import train


@pytest.fixture
def structlog_config():
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_debug_logged_follows_the_configured_level(structlog_config):
    configure_structlog(logging.INFO)
    assert not rasa_fastpaths.debug_logged()
    configure_structlog(logging.DEBUG)
    assert rasa_fastpaths.debug_logged()


def test_copies_are_made_only_when_debug_is_logged():
    value = {"states": [{"user": {"intent": "greet"}}]}
    off, on = rasa_fastpaths._DebugCopies(lambda: False), rasa_fastpaths._DebugCopies(lambda: True)
    assert off.deepcopy(value) is value
    copied = on.deepcopy(value)
    assert copied == value and copied is not value
    assert copied["states"][0] is not value["states"][0]


def test_log_only_copies_reads_the_source():
    assert rasa_fastpaths.log_only_copies(
        "import copy\nstructlogger.debug('x', states=copy.deepcopy(states))\n"
    )
    assert not rasa_fastpaths.log_only_copies(
        "import copy\nstates = copy.deepcopy(states)\nstructlogger.debug('x', states=states)\n"
    )
    assert not rasa_fastpaths.log_only_copies(
        "import copy\nstructlogger.info('x', states=copy.deepcopy(states))\n"
    )


@pytest.mark.parametrize("module", rasa_fastpaths.LOG_COPY_MODULES)
def test_rasas_copies_in_these_modules_are_for_debug_logs_only(module):
    import importlib
    import inspect

    assert rasa_fastpaths.log_only_copies(inspect.getsource(importlib.import_module(module)))


@pytest.mark.parametrize("rows", [1, 3, 17])
@pytest.mark.parametrize("dtypes", [(np.float32, np.float32), (np.int64, np.float32), (bool, bool)])
@pytest.mark.parametrize("formats", [("coo", "coo"), ("csr", "coo"), ("coo", "csr")])
def test_hstack_coo_is_scipys_hstack(rows, dtypes, formats):
    rng = np.random.default_rng(rows)
    left = scipy.sparse.random(rows, 40, 0.2, format=formats[0], random_state=rng) * 7
    right = scipy.sparse.random(rows, 300, 0.05, format=formats[1], random_state=rng) * 3
    left, right = left.astype(dtypes[0]), right.astype(dtypes[1])
    expected, got = scipy.sparse.hstack([left, right]), rasa_fastpaths.hstack_coo(left, right)
    assert got.format == expected.format == "coo"
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert np.array_equal(got.toarray(), expected.toarray())


def test_combined_features_are_rasas_and_mismatches_raise_rasas_error(monkeypatch):
    def features(matrix):
        return Features(matrix, "sequence", "text", "origin")

    left = scipy.sparse.random(4, 10, 0.3, format="coo", random_state=1)
    right = scipy.sparse.random(4, 6, 0.3, format="coo", random_state=2)
    expected = features(left)
    expected.combine_with_features(features(right))
    monkeypatch.setattr(Features, "_combine_sparse_features", Features._combine_sparse_features)
    rasa_fastpaths.install_sparse_hstack()
    got = features(left)
    got.combine_with_features(features(right))
    assert np.array_equal(got.features.toarray(), expected.features.toarray())
    with pytest.raises(ValueError, match="sequence dimensions do not match"):
        got.combine_with_features(features(scipy.sparse.random(3, 6, 0.3, format="coo")))


def test_tensorflow_threads_default_to_one_and_an_operators_setting_wins(monkeypatch):
    monkeypatch.setenv("TF_INTER_OP_PARALLELISM_THREADS", "2")
    monkeypatch.delenv("TF_INTRA_OP_PARALLELISM_THREADS", raising=False)
    rasa_fastpaths.single_thread_tf()
    import os

    assert os.environ["TF_INTRA_OP_PARALLELISM_THREADS"] == "1"
    assert os.environ["TF_INTER_OP_PARALLELISM_THREADS"] == "2"


# ---- on the trained model ----


@pytest.fixture(scope="module")
def agent() -> Agent:
    train()  # a no-op when the model is current
    return Agent.load(str(MODEL))


def _sequential(runner) -> rasa_fastpaths.SequentialGraphRunner:
    """A SequentialGraphRunner over the very nodes Rasa's runner has loaded."""
    sequential = rasa_fastpaths.SequentialGraphRunner.__new__(rasa_fastpaths.SequentialGraphRunner)
    sequential.__dict__.update(runner.__dict__)
    sequential._plans = {}
    return sequential


def _parses(agent: Agent, texts: list[str]) -> list[tuple]:
    async def parse_all() -> list[dict]:
        return [await agent.parse_message(text) for text in texts]

    return [
        (
            p["intent"]["name"],
            round(p["intent"]["confidence"], 5),
            [(e["entity"], e["value"], e["start"], e["end"]) for e in p["entities"]],
            p.get("urgency"),
        )
        for p in asyncio.run(parse_all())
    ]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return [m.get("text") for m in load_data(str(HOLDOUT)).training_examples][::8]


def test_sequential_runner_parses_and_predicts_as_rasas(agent, texts, sample_events):
    processor = agent.processor
    rasa_runner = processor.graph_runner
    expected_parses = _parses(agent, texts)
    trackers = [
        DialogueStateTracker.from_events("t", sample_events[:n], processor.domain.slots)
        for n in (2, 3, 7, 14)
    ]
    expected_actions = [processor.predict_next_with_tracker(t) for t in trackers]
    processor.graph_runner = _sequential(rasa_runner)
    try:
        assert _parses(agent, texts) == expected_parses
        assert [processor.predict_next_with_tracker(t) for t in trackers] == expected_actions
    finally:
        processor.graph_runner = rasa_runner


def test_sequential_runner_refuses_what_rasas_refuses(agent):
    sequential = _sequential(agent.processor.graph_runner)
    node = next(iter(sequential._graph_schema.nodes))
    with pytest.raises(GraphRunError):
        sequential.run(inputs={node: "clash"})
    with pytest.raises(GraphRunError):
        sequential.run(targets=["no_such_node"])


def test_concrete_tf_function_gives_the_same_parses(agent, texts, monkeypatch):
    expected = _parses(agent, texts)
    monkeypatch.setattr(models.RasaModel, "_rasa_predict", models.RasaModel._rasa_predict)
    rasa_fastpaths.install_concrete_tf_predict()
    assert _parses(agent, texts) == _parses(agent, texts) == expected  # built, then reused
    from tensorflow.python.eager.polymorphic_function.monomorphic_function import (
        ConcreteFunction,
    )

    def refuse(*args, **kwargs):
        raise AssertionError("went through the structured call")

    monkeypatch.setattr(ConcreteFunction, "__call__", refuse)
    assert _parses(agent, texts) == expected  # every batch took the flat call


def test_endpoint_requests_share_one_kept_connection(monkeypatch):
    """Rasa's action calls go over one kept connection, with Rasa's token, headers and
    authentication, the body intact; a connection the server closed is replaced."""
    from aiohttp import web
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setattr(EndpointConfig, "session", EndpointConfig.session)
    rasa_fastpaths.install_kept_sessions()
    seen = []

    async def webhook(request: web.Request) -> web.Response:
        seen.append(
            (
                request.transport.get_extra_info("peername")[1],
                await request.json(),
                request.query.get("token"),
                request.headers.get("X-Tenant"),
                request.headers.get("Authorization", "").startswith("Basic "),
            )
        )
        return web.json_response({"events": [], "responses": []})

    async def run() -> list:
        app = web.Application()
        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app, keepalive_timeout=0.3)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        endpoint = EndpointConfig(
            f"http://127.0.0.1:{port}/webhook",
            token="t0k",
            headers={"X-Tenant": "cs"},
            basic_auth={"username": "rasa", "password": "pw"},
        )
        body = {"text": "查话费 <b>&</b> /x", "confidence": 0.912345678901234, "n": [1, None]}
        try:
            answers = [await endpoint.request(json=body, method="post") for _ in range(3)]
            await asyncio.sleep(1.5)  # the server closes the idle connection
            answers.append(await endpoint.request(json=body, method="post"))
        finally:
            await endpoint.__dict__["_fastpaths_session"][1].close()
            await runner.cleanup()
        assert answers == [{"events": [], "responses": []}] * 4
        assert [s[1:] for s in seen] == [(body, "t0k", "cs", True)] * 4
        return [s[0] for s in seen]

    ports = asyncio.run(run())
    assert len(set(ports[:3])) == 1  # one connection for the first three calls
    assert ports[3] != ports[0]  # a new one after the server closed it


def test_request_bodies_are_jsons_with_utf8_text():
    body = {"text": '话費 </script> \u2028 \\ "', "x": 1e-7, "y": [True, None, 3]}
    assert json.loads(rasa_fastpaths.json_dumps(body)) == body
    assert "话費" in rasa_fastpaths.json_dumps(body)


def test_flat_call_answers_as_the_structured_call_and_falls_back_for_misfits(monkeypatch):
    import tensorflow as tf

    spec = (tf.TensorSpec([None, 2], tf.float32), tf.TensorSpec([None], tf.int64))

    @tf.function(input_signature=[spec])
    def step(batch):
        return {"sum": tf.reduce_sum(batch[0], axis=1) + tf.cast(batch[1], tf.float32)}

    concrete = step.get_concrete_function()
    flat = rasa_fastpaths.FlatCall(concrete)
    batch = (np.arange(6, dtype=np.float32).reshape(3, 2), np.arange(3))
    expected = concrete(batch)["sum"].numpy()
    structured = type(concrete).__call__

    def refuse(*args, **kwargs):
        raise AssertionError("went through the structured call")

    monkeypatch.setattr(type(concrete), "__call__", refuse)
    assert np.array_equal(flat(batch)["sum"].numpy(), expected)  # the flat path
    monkeypatch.setattr(type(concrete), "__call__", structured)
    converted = (np.ones((3, 2), np.float64), np.arange(3))  # TensorFlow casts it
    assert np.array_equal(flat(converted)["sum"].numpy(), concrete(converted)["sum"].numpy())
    for misfit in [
        (np.ones((3, 3), np.float32), np.arange(3)),  # wrong shape
        (np.ones((3, 2), np.float32),),  # missing input
    ]:
        with pytest.raises((TypeError, ValueError)) as theirs:
            concrete(misfit)
        with pytest.raises(type(theirs.value)):
            flat(misfit)
