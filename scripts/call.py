"""Call simulator: plays a scripted phone call against the running stack through the voice
contract (docs/contracts.md, "Voice contract"; router/gateway/voice/), as a voice gateway would.

    python -m scripts.call --script scripts/calls/balance.yml [--base URL]
                           [--token-env ROUTER_VOICE_TOKEN] [--secrets var/secrets.env]

The call opens (POST /v1/voice/calls), each turn of the script is posted (POST
/v1/voice/calls/{call_id}/turns: its partial results first, is_final false, then the final
n-best list or the keypad digits), and each answer is printed — its text, what input it expects
next and its action. The call stops when the assistant transfers it to a human or hangs up; a
transferred call is left waiting in the queue (accept it in the agent console), any other call
is ended with a hang-up (POST …/end) once the script has run out.

A script (YAML, scripts/calls/*.yml):

    caller: "+8613800138000"         # optional: the calling number (E.164 or 11 digits)
    callee: "10086"                  # optional
    turns:
      - alternatives:                # the recogniser's n-best list, best first
          - {text: 嗯 我想查一下话费, confidence: 0.91}
          - 嗯 我想查一下化肥          # a bare string: confidence 0.5
        partials: [嗯 我想]           # optional interim results, sent before the final one
        barge_in: true               # optional: the caller spoke over the prompt
      - dtmf: "13800138000#"         # keys pressed instead of speech

The voice token (Authorization: Bearer) comes from the environment variable --token-env names
(default ROUTER_VOICE_TOKEN), else from the secrets file `make run` wrote; the simulator says
which, never the token. Personal data the simulator prints (the calling number, digits in a
turn) is masked (telecom.mask). Plain urllib, so it runs in either environment.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scripts.paths import ROOT
from scripts.secrets import parse as parse_secrets
from telecom import mask

__all__ = [
    "CallScript",
    "ScriptError",
    "Turn",
    "VoiceClient",
    "describe_answer",
    "describe_turn",
    "load_script",
    "parse_script",
    "play",
    "token_from",
    "turn_body",
]

CALLS = ROOT / "scripts" / "calls"
DEFAULT_CONFIDENCE = 0.5
TOKEN_ENV = "ROUTER_VOICE_TOKEN"
ENDS = ("transfer", "hangup")


class ScriptError(ValueError):
    """A call script that cannot be played; says where and why."""


@dataclass(frozen=True)
class Turn:
    """What the caller says (an n-best list) or keys in, as one final recognition result."""

    alternatives: tuple[tuple[str, float], ...] = ()
    dtmf: str | None = None
    barge_in: bool = False
    partials: tuple[str, ...] = ()


@dataclass(frozen=True)
class CallScript:
    name: str
    turns: tuple[Turn, ...]
    caller: str | None = None
    callee: str | None = None


# ---- scripts (pure) -----------------------------------------------------------------------------


def _alternative(raw: object, where: str) -> tuple[str, float]:
    if isinstance(raw, str):
        return raw, DEFAULT_CONFIDENCE
    if not isinstance(raw, Mapping) or not isinstance(raw.get("text"), str):
        raise ScriptError(f"{where}: an alternative is a string or {{text, confidence}}")
    confidence = raw.get("confidence", DEFAULT_CONFIDENCE)
    if isinstance(confidence, bool) or not isinstance(confidence, int | float):
        raise ScriptError(f"{where}: confidence must be a number in 0..1")
    if not 0 <= confidence <= 1:
        raise ScriptError(f"{where}: confidence must be a number in 0..1")
    return raw["text"], float(confidence)


def _turn(raw: object, where: str) -> Turn:
    if not isinstance(raw, Mapping):
        raise ScriptError(f"{where}: a turn is a mapping (alternatives, dtmf, barge_in, partials)")
    unknown = set(raw) - {"alternatives", "dtmf", "barge_in", "partials"}
    if unknown:
        raise ScriptError(f"{where}: unknown keys {sorted(unknown)}")
    alternatives = raw.get("alternatives") or []
    dtmf = raw.get("dtmf")
    if not isinstance(alternatives, list):
        raise ScriptError(f"{where}: alternatives is a list")
    if dtmf is not None and (not isinstance(dtmf, str | int) or isinstance(dtmf, bool)):
        raise ScriptError(f"{where}: dtmf is a string of keys (0-9 * #)")
    if not alternatives and (dtmf is None or str(dtmf) == ""):
        raise ScriptError(f"{where}: a turn has alternatives or dtmf")
    partials = raw.get("partials") or []
    if not isinstance(partials, list) or not all(isinstance(p, str) for p in partials):
        raise ScriptError(f"{where}: partials is a list of strings")
    barge_in = raw.get("barge_in", False)
    if not isinstance(barge_in, bool):
        raise ScriptError(f"{where}: barge_in is true or false")
    return Turn(
        alternatives=tuple(_alternative(a, where) for a in alternatives),
        dtmf=None if dtmf is None else str(dtmf),
        barge_in=barge_in,
        partials=tuple(partials),
    )


def parse_script(data: object, name: str = "call") -> CallScript:
    """A call script from its parsed YAML; ScriptError says what is wrong."""
    if not isinstance(data, Mapping):
        raise ScriptError(f"{name}: a call script is a mapping with `turns`")
    turns = data.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScriptError(f"{name}: `turns` is a non-empty list")
    numbers = {key: data.get(key) for key in ("caller", "callee")}
    for key, value in numbers.items():
        if value is not None and not isinstance(value, str):
            raise ScriptError(f"{name}: {key} is a quoted string")
    return CallScript(
        name=name,
        turns=tuple(_turn(t, f"{name}, turn {i}") for i, t in enumerate(turns)),
        caller=numbers["caller"],
        callee=numbers["callee"],
    )


def load_script(path: Path | str) -> CallScript:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as error:
        raise ScriptError(f"{path}: {error}") from None
    return parse_script(data, path.stem)


def turn_body(turn: Turn, seq: int, *, partial: str | None = None) -> dict[str, Any]:
    """The body of POST /v1/voice/calls/{call_id}/turns for `turn` as turn `seq`; with
    `partial`, that interim result instead (is_final false)."""
    if partial is not None:
        return {"seq": seq, "is_final": False, "alternatives": [{"text": partial, "confidence": 0}]}
    body: dict[str, Any] = {"seq": seq, "is_final": True}
    if turn.alternatives:  # keys alone need none
        body["alternatives"] = [{"text": t, "confidence": c} for t, c in turn.alternatives]
    if turn.dtmf is not None:
        body["dtmf"] = turn.dtmf
    if turn.barge_in:
        body["barge_in"] = True
    return body


def describe_answer(answer: Mapping[str, Any]) -> str:
    """One line per answer: the action, what input comes next, whether it may be interrupted,
    and the text."""
    expect = answer.get("expect") or {}
    wanted = str(expect.get("input", "?"))
    if expect.get("max_digits"):
        wanted += f" ≤{expect['max_digits']}"
    if expect.get("end_key"):
        wanted += f" end {expect['end_key']}"
    if expect.get("timeout_s") is not None:
        wanted += f", {expect['timeout_s']} s"
    extra = ""
    if answer.get("action") == "transfer":
        extra = f" → handoff {answer.get('handoff_id')} queue {answer.get('queue')}"
    barge = "barge-in" if answer.get("barge_in") else "no barge-in"
    head = f"[{answer.get('action')} · expect {wanted} · {barge}{extra}]"
    return f"assistant {head}\n    {answer.get('text', '')}"


def describe_turn(turn: Turn, seq: int) -> str:
    if turn.dtmf is not None and not turn.alternatives:
        return f"caller #{seq} keys: {mask.text(turn.dtmf)}"
    text, confidence = turn.alternatives[0]
    more = f", {len(turn.alternatives)} alternatives" if len(turn.alternatives) > 1 else ""
    flags = " (barge-in)" if turn.barge_in else ""
    keys = f" + keys {mask.text(turn.dtmf)}" if turn.dtmf is not None else ""
    return f"caller #{seq}{flags} [{confidence:.2f}{more}]: {mask.text(text)}{keys}"


# ---- HTTP (the edge) -----------------------------------------------------------------------------


class CallError(RuntimeError):
    """The stack refused a call step: says which step and the status (never a body's data)."""


@dataclass(frozen=True)
class VoiceClient:
    """The voice contract over HTTP as the voice gateway calls it (bearer token)."""

    base: str
    token: str
    timeout_s: float = 60.0

    def post(self, path: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(
            self.base.rstrip("/") + path,
            data=json.dumps(body, ensure_ascii=False).encode(),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            with error:
                raw = error.read()
            try:
                detail = json.loads(raw or b"{}")
            except ValueError:
                detail = {}
            return error.code, detail if isinstance(detail, dict) else {}

    def start(
        self, call_id: str, caller: str | None = None, callee: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {"call_id": call_id}
        if caller:
            body["caller"] = caller
        if callee:
            body["callee"] = callee
        return self.post("/v1/voice/calls", body)

    def turn(self, call_id: str, body: Mapping[str, Any]) -> tuple[int, dict[str, Any]]:
        return self.post(f"/v1/voice/calls/{call_id}/turns", body)

    def end(self, call_id: str, reason: str) -> tuple[int, dict[str, Any]]:
        return self.post(f"/v1/voice/calls/{call_id}/end", {"reason": reason})


def _expect(step: str, status: int, wanted: Sequence[int]) -> None:
    if status not in wanted:
        raise CallError(f"{step}: HTTP {status} (expected {' or '.join(map(str, wanted))})")


def play(
    client: VoiceClient, script: CallScript, call_id: str, out: Callable[[str], None] = print
) -> list[dict[str, Any]]:
    """Play `script` as call `call_id`: the answers, greeting first. Stops at a transfer (the
    call stays queued) or a hang-up; a call still going when the script runs out is hung up."""
    status, answer = client.start(call_id, script.caller, script.callee)
    _expect("opening the call", status, (200, 201))
    out(describe_answer(answer))
    answers = [answer]
    for seq, turn in enumerate(script.turns):
        if answer.get("action") in ENDS:
            break
        for partial in turn.partials:
            status, _ = client.turn(call_id, turn_body(turn, seq, partial=partial))
            _expect(f"partial result of turn {seq}", status, (202,))
        out(describe_turn(turn, seq))
        status, answer = client.turn(call_id, turn_body(turn, seq))
        _expect(f"turn {seq}", status, (200,))
        out(describe_answer(answer))
        answers.append(answer)
    action = answer.get("action")
    if action == "transfer":
        out("the call waits for an agent (accept it in the agent console); not hung up")
    else:
        status, _ = client.end(call_id, "hangup")
        _expect("ending the call", status, (200,))
        out("call ended (hangup)" if action != "hangup" else "the assistant hung up; call ended")
    return answers


def token_from(name: str, secrets_file: Path, env: Mapping[str, str]) -> tuple[str, str]:
    """The voice token and where it came from (`$NAME` or the file), never printed itself."""
    if env.get(name):
        return env[name], f"${name}"
    if secrets_file.exists():
        value = parse_secrets(secrets_file.read_text()).get(name)
        if value:
            return value, str(secrets_file)
    raise SystemExit(
        f"{name} is neither in the environment nor in {secrets_file}: the voice endpoints are "
        "mounted only when the router has it (docs/contracts.md, Voice contract)"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m scripts.call", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--script", required=True, help="a call script (scripts/calls/*.yml)")
    parser.add_argument("--base", default=os.environ.get("ROUTER_URL", "http://127.0.0.1:8400"))
    parser.add_argument("--token-env", default=TOKEN_ENV, help="variable holding the token")
    parser.add_argument("--secrets", type=Path, default=ROOT / "var" / "secrets.env")
    parser.add_argument("--call-id", help="default: a fresh sim-… id")
    args = parser.parse_args(argv)
    try:
        script = load_script(args.script)
    except ScriptError as error:
        print(f"bad call script: {error}", file=sys.stderr)
        return 2
    token, source = token_from(args.token_env, args.secrets, os.environ)
    call_id = args.call_id or f"sim-{uuid.uuid4().hex[:16]}"
    caller = mask.phone(script.caller) if script.caller else "an unknown number"
    print(f"call {call_id} from {caller} to {args.base} (token from {source})")
    try:
        play(VoiceClient(args.base, token), script, call_id)
    except CallError as error:
        print(f"call failed: {error}", file=sys.stderr)
        return 1
    except urllib.error.URLError as error:
        print(f"cannot reach {args.base}: {error.reason} (is `make run` running?)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
