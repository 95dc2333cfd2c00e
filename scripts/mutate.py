"""Mutation testing of the pure decision modules (`make mutate`; not part of `make test`).

Each module is mutated by mutmut and every mutant is run against that module's own fast unit
tests, in the environment those tests run in. The mutants are made in a scratch copy of the tree
(var/mutate/tree: the files git tracks or would track), never in the working tree. Prints a table
(module, mutants, killed, survived, % survived) and writes every survivor's diff to
var/mutate/survivors.txt; exits 1 when a module has more than MAX_SURVIVED of its mutants alive.

    python -m scripts.mutate                      # every module
    python -m scripts.mutate router/wait.py ...   # some of them
    python -m scripts.mutate --list               # the modules and their tests

docs/testing.md lists the survivors judged equivalent and why.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sqlite3
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / "var" / "mutate"  # --work: another directory, for two runs at once
BOT = ROOT / ".venv-bot" / "bin"
ROUTER = ROOT / ".venv-router" / "bin"
MAX_SURVIVED = 0.10
# mutmut's statuses (mutmut/__init__.py): timeouts and suspiciously slow runs count as killed
KILLED = ("ok_killed", "ok_suspicious", "bad_timeout")
SURVIVED = "bad_survived"


@dataclass(frozen=True)
class Module:
    path: str  # the file mutated
    venv: Path  # bin/ of the environment that runs its tests
    tests: tuple[str, ...]  # its fast unit tests
    select: str = ""  # pytest -k: leave out the tests of the same file that start servers


MODULES: tuple[Module, ...] = (
    Module(
        "router/selection.py",
        ROUTER,
        ("tests/router/test_selection.py", "tests/router/test_selection_rules.py"),
        "not lua",
    ),
    Module(
        "router/wait.py",
        ROUTER,
        ("tests/router/test_wait.py",),
        "estimate or estimated or inputs_from",
    ),
    Module("kernel/telecom/wait.py", ROUTER, ("tests/telecom/test_wait.py",)),
    Module("kernel/telecom/urgency.py", ROUTER, ("tests/telecom/test_urgency.py",)),
    Module(
        "components/triage_rules.py",
        BOT,
        ("tests/components/test_triage_rules.py", "tests/components/test_triage_decisions.py"),
    ),
    Module("actions/triage.py", BOT, ("tests/actions/test_triage.py",)),
    Module("actions/ticket_triage.py", BOT, ("tests/actions/test_ticket_triage.py",)),
    Module("actions/verification.py", BOT, ("tests/actions/test_verification.py",)),
    Module("actions/identity.py", BOT, ("tests/actions/test_identity.py",)),
    Module("actions/plans.py", BOT, ("tests/actions/test_plans.py",)),
    Module("kernel/telecom/dates.py", ROUTER, ("tests/telecom/test_dates.py",)),
    Module("kernel/telecom/numbers.py", ROUTER, ("tests/telecom/test_numbers.py",)),
    Module("kernel/telecom/mask.py", ROUTER, ("tests/telecom/test_mask.py",)),
)


def copy_tree(dest: Path) -> Path:
    """A fresh copy of the files git tracks or would track (no venvs, models or var/)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    ).stdout.decode()
    if dest.exists():
        shutil.rmtree(dest)
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def runner(module: Module, tree: Path) -> str:
    """The test command for one mutant: pytest on the module's tests, first failure stops it.
    Plugins are not auto-loaded (they cost a second per mutant); the two the tests use are named.

    mutmut 2 counts only exit status 1 as killed; pytest exits 2 when a mutant breaks the
    collection (an import-time error), which the tests did catch: every failure becomes 1. The
    unmutated run must still pass, so a command that collects nothing (exit 5) stops mutmut."""
    tests = [t for t in module.tests if (tree / t).exists()]
    if not tests:  # pytest with no path would run the whole suite
        raise SystemExit(f"no tests for {module.path}: {' '.join(module.tests)}")
    command = [
        str(module.venv / "python"),
        "-m",
        "pytest",
        "-x",
        "-q",
        "--no-header",
        "-p",
        "pytest_timeout",
        "-p",
        "anyio",
        *tests,
    ]
    if module.select:
        command += ["-k", module.select]
    return shlex.join(["sh", "-c", shlex.join(command) + " || exit 1"])


def counts(cache: Path) -> dict[str, int]:
    with sqlite3.connect(cache) as db:
        return dict(db.execute("SELECT status, COUNT(*) FROM Mutant GROUP BY status").fetchall())


def survivors(cache: Path) -> list[int]:
    with sqlite3.connect(cache) as db:
        rows = db.execute("SELECT id FROM Mutant WHERE status = ? ORDER BY id", (SURVIVED,))
        return [row[0] for row in rows]


def run_module(module: Module, work: Path) -> tuple[int, int, int]:
    """(mutants, killed, survived) of one module; survivors' diffs appended to survivors.txt."""
    tree, log, report = work / "tree", work / "mutmut.log", work / "survivors.txt"
    cache = tree / ".mutmut-cache"
    cache.unlink(missing_ok=True)
    env = {
        **os.environ,
        "PYTHONPATH": f"{tree}{os.pathsep}{tree / 'kernel'}",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "RASA_TELEMETRY_ENABLED": "false",
    }
    mutmut = str(module.venv / "mutmut")
    command = [
        mutmut,
        "run",
        "--paths-to-mutate",
        module.path,
        "--tests-dir",
        "tests",
        "--runner",
        runner(module, tree),
        "--no-progress",
        "--simple-output",
        "--CI",
    ]
    with log.open("a") as out:
        out.write(f"\n=== {module.path}: {runner(module, tree)}\n")
        out.flush()
        done = subprocess.run(command, cwd=tree, env=env, stdout=out, stderr=subprocess.STDOUT)
    if done.returncode != 0 or not cache.exists():
        raise SystemExit(f"mutmut failed on {module.path} (see {log})")
    by_status = counts(cache)
    alive = survivors(cache)
    with report.open("a") as out:
        for mutant in alive:
            shown = subprocess.run(
                [mutmut, "show", str(mutant)], cwd=tree, env=env, capture_output=True, text=True
            )
            out.write(f"--- {module.path} mutant {mutant}\n{shown.stdout}\n")
    shutil.copy2(cache, work / (module.path.replace("/", "_") + ".mutmut-cache"))
    return sum(by_status.values()), sum(by_status.get(s, 0) for s in KILLED), len(alive)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("modules", nargs="*", help="module paths (default: all)")
    parser.add_argument("--list", action="store_true", help="print the modules and their tests")
    parser.add_argument("--work", type=Path, default=WORK, help="scratch directory (var/mutate)")
    parser.add_argument(
        "--keep-tree", action="store_true", help="mutate the copy already in WORK/tree as it is"
    )
    args = parser.parse_args()
    work = args.work.resolve()
    unknown = set(args.modules) - {m.path for m in MODULES}
    if unknown:
        parser.error(f"not a module of this run: {', '.join(sorted(unknown))} (see --list)")
    chosen = [m for m in MODULES if not args.modules or m.path in args.modules]
    if args.list:
        for m in MODULES:
            print(f"{m.path:32} {' '.join(m.tests)}" + (f" -k {m.select!r}" if m.select else ""))
        return 0
    work.mkdir(parents=True, exist_ok=True)
    for name in ("mutmut.log", "survivors.txt"):
        (work / name).write_text("")
    if not (args.keep_tree and (work / "tree").is_dir()):
        copy_tree(work / "tree")
    rows = []
    print(f"{'module':32} {'mutants':>8} {'killed':>8} {'survived':>9} {'%':>6} {'time':>6}")
    for module in chosen:
        started = time.monotonic()
        total, killed, alive = run_module(module, work)
        share = alive / total if total else 0.0
        rows.append((module.path, share))
        elapsed = time.monotonic() - started
        print(
            f"{module.path:32} {total:8} {killed:8} {alive:9} {100 * share:5.1f}% {elapsed:5.0f}s",
            flush=True,
        )
    print(f"survivors' diffs: {work / 'survivors.txt'}")
    over = [path for path, share in rows if share > MAX_SURVIVED]
    if over:
        print(f"more than {MAX_SURVIVED:.0%} survived: {', '.join(over)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
