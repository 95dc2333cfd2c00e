"""assistant.fastpaths.debug_copies: copies are skipped only where they are made for debug logs,
and only while debug events are dropped."""

from __future__ import annotations

import logging

import pytest
import structlog
from rasa.utils.log_utils import configure_structlog

from assistant.fastpaths import debug_copies


@pytest.fixture
def structlog_config():
    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


def test_debug_logged_follows_the_configured_level(structlog_config):
    configure_structlog(logging.INFO)
    assert not debug_copies.debug_logged()
    configure_structlog(logging.DEBUG)
    assert debug_copies.debug_logged()


def test_copies_are_made_only_when_debug_is_logged():
    value = {"states": [{"user": {"intent": "greet"}}]}
    off, on = debug_copies.DebugCopies(lambda: False), debug_copies.DebugCopies(lambda: True)
    assert off.deepcopy(value) is value
    copied = on.deepcopy(value)
    assert copied == value and copied is not value
    assert copied["states"][0] is not value["states"][0]


def test_log_only_copies_reads_the_source():
    assert debug_copies.log_only_copies(
        "import copy\nstructlogger.debug('x', states=copy.deepcopy(states))\n"
    )
    assert not debug_copies.log_only_copies(
        "import copy\nstates = copy.deepcopy(states)\nstructlogger.debug('x', states=states)\n"
    )
    assert not debug_copies.log_only_copies(
        "import copy\nstructlogger.info('x', states=copy.deepcopy(states))\n"
    )


@pytest.mark.parametrize("module", debug_copies.LOG_COPY_MODULES)
def test_rasas_copies_in_these_modules_are_for_debug_logs_only(module):
    import importlib
    import inspect

    assert debug_copies.log_only_copies(inspect.getsource(importlib.import_module(module)))
