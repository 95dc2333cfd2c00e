"""The Rasa server of the assistant: `rasa`, with safer defaults and the fast paths.

    .venv-bot/bin/python -m assistant.server run --enable-api --model models/assistant.tar.gz …

Everything is Rasa's command line unchanged (`run`, `test`, `shell`…), except:

- two defaults are safer than Rasa's (`secure_defaults`): the server binds 127.0.0.1 unless
  `--interface` says otherwise, and `--enable-api` needs a token — `--auth-token`, or else
  ASSISTANT_RASA_TOKEN from the environment (kept off the command line, which every local user
  can read). A missing, short or published token refuses to start (telecom.secrets.check_secret;
  ASSISTANT_DEMO_MODE accepts a short or published one, never none);
- the fast paths (assistant.fastpaths) are installed before Rasa starts: all of them by default,
  those ASSISTANT_FASTPATHS names otherwise (`none` runs Rasa as it ships), and none on a Rasa
  version other than the one they were written against;
- jieba's dictionary loaded again (a model promoted or rolled back with `PUT /model`) answers as
  it did at start (assistant.jieba_reload).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from assistant import fastpaths, jieba_reload
from telecom.secrets import InsecureSecret, check_secret, problem

LOOPBACK = "127.0.0.1"


def _demo_mode(env: Mapping[str, str]) -> bool:
    return env.get("ASSISTANT_DEMO_MODE", "").strip().lower() in {"1", "true", "yes", "on"}


def secure_defaults(argv: list[str], env: Mapping[str, str]) -> list[str]:
    """`argv` (Rasa's arguments) with the HTTP API's token added from ASSISTANT_RASA_TOKEN when
    `--enable-api` comes without `--auth-token`. Raises InsecureSecret when the API would be
    open or its token is bad. Arguments are read by Rasa's own parser."""
    import rasa.core.constants
    from rasa.__main__ import create_argument_parser

    rasa.core.constants.DEFAULT_SERVER_INTERFACE = LOOPBACK  # `--interface` still overrides
    args, _ = create_argument_parser().parse_known_args(argv)
    if not getattr(args, "enable_api", False):
        return argv
    given = getattr(args, "auth_token", None)
    token = given or env.get("ASSISTANT_RASA_TOKEN") or None
    check_secret("ASSISTANT_RASA_TOKEN", token, demo_mode=_demo_mode(env))
    if token is None:  # demo mode accepts a weak token, never an open API
        raise InsecureSecret("--enable-api needs ASSISTANT_RASA_TOKEN (or --auth-token)")
    reason = problem(token)
    if reason is not None:
        print(f"assistant.server: demo mode: ASSISTANT_RASA_TOKEN is {reason}", file=sys.stderr)
    # one argument: a token may start with "-", which argparse would take for an option
    return argv if given else [*argv, f"--auth-token={token}"]


def main() -> None:
    from rasa.__main__ import main as rasa_main

    try:
        sys.argv[1:] = secure_defaults(sys.argv[1:], os.environ)
        fastpaths.selected(os.environ.get(fastpaths.SWITCH))  # an unknown name stops here
    except (InsecureSecret, ValueError) as error:
        sys.exit(f"assistant.server: {error}")
    fastpaths.install(os.environ)
    jieba_reload.install()  # a model loaded again by PUT /model segments as at start
    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
