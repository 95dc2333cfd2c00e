"""Latency, training time and memory of the assistant on this machine.

Prints:
  - NLU parse latency in process (Agent.parse_message) and through the Rasa HTTP API
    (POST /model/parse), p50/p99, against the target in-process p50 ≤ 15 ms;
  - full turn latency through the gateway channel, each turn including action-server calls
    (a signed-in customer asking for the balance: identity check + balance query): one
    conversation; 20 concurrent conversations whose customers pause 1–3 s before each message
    (against the target p99 ≤ 150 ms); and 20 conversations sending back to back, which shows
    the server's saturation throughput in turns per second;
  - full training time (`rasa train --force` through assistant.train, into a temporary
    folder), target ≤ 5 minutes; with --training-rounds N, N interleaved pairs of that and of
    `rasa train` as it ships (with its training cache), medians side by side;
  - Rasa server resident memory after the load.

Run: python -m bench.assistant [--skip-training | --training-rounds N]   (make bench runs it)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import pathlib
import random
import subprocess
import tempfile
import time
import urllib.request

from bench.report import median, percentile, table
from scripts import services
from scripts.paths import HOLDOUT, MODEL, ROOT
from scripts.train import rasa_train_command
from telecom.secrets import new_secret

SECRET = new_secret()  # this run's login secret; check_secret refuses published values
TURNS_PER_CONVERSATION = 10
# A chatting customer reads each reply and types the next message: 1–3 s is a brisk customer
# (live-chat customers usually take longer), so 20 such conversations offer ~10 turns/s.
THINK_S = (1.0, 3.0)


def holdout_texts(limit: int = 300) -> list[str]:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m.get("text") for m in load_data(str(HOLDOUT)).training_examples][:limit]


def in_process_parse(texts: list[str]) -> list[float]:
    from rasa.core.agent import Agent
    from rasa.utils.log_utils import configure_structlog
    from rasa.utils.tensorflow.environment import setup_tf_environment

    from assistant import fastpaths
    from assistant.fastpaths.gc_freeze import freeze_loaded_model

    configure_structlog(logging.INFO)  # as `rasa run` does at its default level: no debug output
    fastpaths.install()  # as the server does before it loads the model
    setup_tf_environment()  # as `rasa run` does at start-up
    agent = Agent.load(str(MODEL))
    freeze_loaded_model()  # as the server does once it has loaded the model

    async def run() -> list[float]:
        for text in texts[:20]:  # warm-up
            await agent.parse_message(text)
        timings = []
        for text in texts:
            started = time.perf_counter()
            await agent.parse_message(text)
            timings.append((time.perf_counter() - started) * 1000)
        return timings

    return asyncio.run(run())


def http_parse(rasa_url: str, token: str, texts: list[str]) -> list[float]:
    timings = []
    for n, text in enumerate(texts[:20] + texts):
        body = json.dumps({"text": text}).encode()
        request = urllib.request.Request(
            f"{rasa_url}/model/parse?token={token}", body, {"Content-Type": "application/json"}
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        if n >= 20:
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def demo_phones(count: int) -> list[str]:
    from actions.store.generate import DEMO_SUBSCRIBERS

    phones = [d.phone for d in DEMO_SUBSCRIBERS]
    return [phones[n % len(phones)] for n in range(count)]


async def conversations(
    rasa_url: str, token: str, concurrent: int, think_s: tuple[float, float] | None = None
) -> tuple[list[float], float]:
    """`concurrent` conversations at once, each TURNS_PER_CONVERSATION balance questions.

    With `think_s`, each customer pauses a random time in that range (seeded) before every
    message — reading the reply and typing — and the conversations start spread over the first
    pause, as customers do; without it every customer sends the next message the moment the
    reply arrives (saturation). Returns the turn latencies (ms) and the turns per second."""
    import aiohttp

    from actions.identity import login_metadata

    turns = ["你好", "帮我查一下话费", "这个月花了多少", "上个月账单多少", "查一下余额"]
    timings: list[float] = []
    rng = random.Random(2026)

    async def one(session: aiohttp.ClientSession, sender: str, phone: str) -> None:
        pauses = [rng.uniform(*think_s) if think_s else 0.0 for _ in range(TURNS_PER_CONVERSATION)]
        if think_s:
            pauses[0] = rng.uniform(0, think_s[1])
        for n in range(TURNS_PER_CONVERSATION):
            await asyncio.sleep(pauses[n])
            body = {
                "sender": sender,
                "message": turns[n % len(turns)],
                "metadata": login_metadata(phone, int(time.time()), sender, SECRET),
            }
            started = time.perf_counter()
            async with session.post(
                f"{rasa_url}/webhooks/gateway/webhook",
                json=body,
                headers={"Authorization": f"Bearer {token}"},
            ) as response:
                replies = await response.json()
            timings.append((time.perf_counter() - started) * 1000)
            assert response.status == 200 and replies, (response.status, replies)

    connector = aiohttp.TCPConnector(limit=concurrent)
    async with aiohttp.ClientSession(connector=connector) as session:
        senders = [f"bench-{concurrent}-{n}-{time.time_ns()}" for n in range(concurrent)]
        started = time.perf_counter()
        await asyncio.gather(
            *(one(session, s, p) for s, p in zip(senders, demo_phones(concurrent), strict=True))
        )
        elapsed = time.perf_counter() - started
    return timings, len(timings) / elapsed


def rss_mb(pid: int) -> float:
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def training_seconds(as_shipped: bool = False) -> float:
    """One full training into a temporary folder: through assistant.train (ours), or by Rasa's
    own `rasa` command with its training cache (in a fresh cache folder, so nothing is reused)."""
    with tempfile.TemporaryDirectory() as out:
        command = rasa_train_command(out)
        env = dict(os.environ)
        if as_shipped:
            command[: command.index("train")] = [str(services.BIN / "rasa")]
            env["RASA_CACHE_DIRECTORY"] = str(pathlib.Path(out) / "cache")
        started = time.monotonic()
        subprocess.run(
            command,
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return time.monotonic() - started


def _runs(seconds: list[float]) -> str:
    return ", ".join(f"{x:.0f}" for x in seconds)


def training_rows(rounds: int) -> list[list[object]]:
    """Ours alone (rounds 0 or 1), or `rounds` interleaved pairs, ours and Rasa's, medians."""
    if rounds <= 1:
        return [["full training (rasa train --force), s", training_seconds(), "≤ 300"]]
    ours, shipped = [], []
    for _ in range(rounds):
        ours.append(training_seconds())
        shipped.append(training_seconds(as_shipped=True))
    return [
        [
            f"full training, assistant.train, median of {rounds} ({_runs(ours)}), s",
            median(ours),
            "≤ 300",
        ],
        [
            f"full training, rasa as shipped, median of {rounds} ({_runs(shipped)}), s",
            median(shipped),
            "",
        ],
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description="Assistant latency, training time and memory.")
    parser.add_argument("--skip-training", action="store_true", help="do not time a full training")
    parser.add_argument(
        "--training-rounds",
        type=int,
        default=1,
        help="with N > 1: N interleaved trainings each of ours and of Rasa as shipped",
    )
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    texts = holdout_texts()

    local = in_process_parse(texts)
    with tempfile.TemporaryDirectory() as tmp:
        env = services.assistant_env(
            ASSISTANT_DB_PATH=str(pathlib.Path(tmp) / "bench.sqlite3"),
            ASSISTANT_IDENTITY_SECRET=SECRET,
            ASSISTANT_ID_PEPPER=new_secret(),
        )
        with services.assistant(pathlib.Path(tmp) / "logs", env) as (_actions, rasa):
            remote = http_parse(rasa.url, rasa.token, texts)
            asyncio.run(conversations(rasa.url, rasa.token, 2))  # warm-up: store, caches
            single, single_rate = asyncio.run(conversations(rasa.url, rasa.token, 1))
            paced, paced_rate = asyncio.run(conversations(rasa.url, rasa.token, 20, THINK_S))
            flat_out, flat_out_rate = asyncio.run(conversations(rasa.url, rasa.token, 20))
            memory = rss_mb(rasa.process.pid)

    print(
        table(
            f"NLU parse latency, ms ({len(texts)} held-out messages)",
            ["path", "p50", "p99", "target"],
            [
                [
                    "in process (Agent.parse_message)",
                    median(local),
                    percentile(local, 99),
                    "p50 ≤ 15",
                ],
                ["HTTP POST /model/parse", median(remote), percentile(remote, 99), ""],
            ],
        )
    )
    print(
        table(
            f"Full turn through the gateway channel incl. action server, ms "
            f"({TURNS_PER_CONVERSATION} turns per conversation)",
            ["conversations", "customer pause", "turns", "turns/s", "p50", "p99", "target"],
            [
                [1, "none", len(single), single_rate, median(single), percentile(single, 99), ""],
                [
                    20,
                    f"{THINK_S[0]:g}–{THINK_S[1]:g} s",
                    len(paced),
                    paced_rate,
                    median(paced),
                    percentile(paced, 99),
                    "p99 ≤ 150",
                ],
                [
                    20,
                    "none (saturation)",
                    len(flat_out),
                    flat_out_rate,
                    median(flat_out),
                    percentile(flat_out, 99),
                    "",
                ],
            ],
        )
    )
    rows = [["Rasa server RSS after the load, MB", memory, ""]]
    if not args.skip_training:
        rows[:0] = training_rows(args.training_rounds)
    print(table("Training and memory", ["measure", "value", "target"], rows))
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load} (2 cores; other jobs skew every number above)")


if __name__ == "__main__":
    main()
