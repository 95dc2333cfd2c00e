"""scripts.run: its decisions (instances, tracker store, ports, back-off) and its supervisor."""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

import pytest

from scripts import run, services


def test_two_instances_unless_told_otherwise():
    assert run.instance_count({}) == 2
    assert run.instance_count({"ASSISTANT_INSTANCES": " 3 "}) == 3
    assert run.instance_count({"ASSISTANT_INSTANCES": "1"}) == 1


@pytest.mark.parametrize("value", ["0", "-1", "two", "1.5"])
def test_a_bad_instance_count_stops_the_run(value):
    with pytest.raises(SystemExit, match="ASSISTANT_INSTANCES"):
        run.instance_count({"ASSISTANT_INSTANCES": value})


def test_the_tracker_store_is_sqlite_under_var_unless_given(tmp_path):
    default = run.tracker_store_url({}, tmp_path)
    assert default == f"sqlite:///{tmp_path}/assistant/trackers.sqlite3"
    assert default.startswith("sqlite:////")  # an absolute path
    given = "postgresql://assistant@127.0.0.1:5432/assistant"
    assert run.tracker_store_url({"ASSISTANT_TRACKER_STORE_URL": given}, tmp_path) == given
    assert run.tracker_store_url({"ASSISTANT_TRACKER_STORE_URL": "memory"}, tmp_path) is None


def test_instances_take_consecutive_ports(tmp_path):
    args = argparse.Namespace(var=str(tmp_path), free_ports=False)
    where = run.layout(args, {"ASSISTANT_RASA_PORT": "6000"}, instances=3)
    assert where.rasa_ports == (6000, 6001, 6002)
    free = run.layout(argparse.Namespace(var=str(tmp_path), free_ports=True), {}, instances=2)
    assert len(set(free.rasa_ports)) == 2 and 5005 not in free.rasa_ports


def test_back_off_doubles_up_to_thirty_seconds():
    assert [run.backoff_s(n) for n in range(8)] == [0, 1, 2, 4, 8, 16, 30, 30]


def _sleeper(tmp_path, name: str) -> services.Service:
    log = tmp_path / f"{name}.log"
    handle = log.open("w")
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    return services.Service(name, "http://127.0.0.1:1", process, log, _files=[handle])


def test_the_supervisor_starts_again_what_exited_and_keeps_its_log(tmp_path):
    first = _sleeper(tmp_path, "rasa-1")
    other = _sleeper(tmp_path, "rasa-2")
    restarted = []
    supervisor = run.Supervisor(
        running={"rasa-1": first, "rasa-2": other},
        starts={"rasa-1": lambda: _sleeper(tmp_path, "rasa-1"), "rasa-2": lambda: other},
        on_restart=lambda: restarted.append(True),
    )
    try:
        supervisor.step()
        assert supervisor.restarts == {}  # nothing exited
        first.log.write_text("the crash\n")
        first.process.kill()
        first.process.wait()
        deadline = time.monotonic() + 30
        while not restarted and time.monotonic() < deadline:
            supervisor.step()
            time.sleep(0.05)
        assert supervisor.restarts == {"rasa-1": 1}
        again = supervisor.running["rasa-1"]
        assert again is not first and again.process.poll() is None
        assert supervisor.running["rasa-2"] is other
        assert (tmp_path / "rasa-1.log.1").read_text() == "the crash\n"
    finally:
        for service in supervisor.all():
            service.stop()


def test_a_start_that_fails_is_tried_again_later(tmp_path):
    dead = _sleeper(tmp_path, "actions")
    dead.process.kill()
    dead.process.wait()
    attempts = []

    def failing() -> services.Service:
        attempts.append(time.monotonic())
        raise RuntimeError("actions exited")

    supervisor = run.Supervisor(running={"actions": dead}, starts={"actions": failing})
    deadline = time.monotonic() + 10
    while len(attempts) < 2 and time.monotonic() < deadline:
        supervisor.step()
        time.sleep(0.05)
    assert len(attempts) == 2  # tried again, after a pause (1 s after the first failure)
    assert supervisor.restarts == {}
