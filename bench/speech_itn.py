"""Chinese inverse text normalisation: our rules (telecom.speech.normalise) against the ITN
packages on PyPI, on the same labelled speech-style sentences (eval/voice/itn_cases.yml).

    .venv-router/bin/python -m bench.speech_itn [--errors] [--repeats N]

The packages are not project dependencies: install them into a throwaway environment of the same
Python and put its site-packages on PYTHONPATH (docs/benchmarks.md says how). A package that does
not import is skipped with a line saying so. Prints a markdown table: exact-match accuracy overall,
on sentences with numbers to convert, on traps (numeral words that must stay), and the median
time per sentence in µs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import yaml

from telecom.speech import normalise

ROOT = Path(__file__).resolve().parents[1]
CASES = ROOT / "eval" / "voice" / "itn_cases.yml"

Convert = Callable[[str], str]


def load_cases(path: Path = CASES) -> list[tuple[str, str, str]]:
    """(kind, input, expected) for every case; kind is 'numbers' or 'traps'."""
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [
        (kind, str(case["in"]), str(case["out"]))
        for kind in ("numbers", "traps")
        for case in data[kind]
    ]


def _ours() -> Convert:
    return normalise


def _cn2an() -> Convert:
    import cn2an  # type: ignore[import-not-found]

    def convert(text: str) -> str:
        with warnings.catch_warnings():  # it warns on every numeral it cannot read (万一, 千万)
            warnings.simplefilter("ignore")
            return str(cn2an.transform(text, "cn2an"))

    return convert


def _chinese2digits() -> Convert:
    import chinese2digits  # type: ignore[import-not-found]

    return lambda text: str(chinese2digits.takeNumberFromString(text)["replacedText"])


def _wetext() -> Convert:
    import logging

    from itn.chinese.inverse_normalizer import (  # type: ignore[import-not-found]
        InverseNormalizer,
    )

    logging.getLogger("wetext-zh_normalizer").setLevel(logging.WARNING)
    normalizer = InverseNormalizer()  # the prebuilt FSTs shipped in the wheel
    return lambda text: str(normalizer.normalize(text))


def _itntext() -> Convert:
    from itntext import Normalizer  # type: ignore[import-not-found]

    normalizer = Normalizer(lang="zh", operator="itn")
    return lambda text: str(normalizer.normalize(text))


# NeMo compiles its grammars at first use (many minutes); it keeps them here for the next run.
NEMO_CACHE = Path(tempfile.gettempdir()) / "nemo-cache"


def _nemo() -> Convert:
    from nemo_text_processing.inverse_text_normalization.inverse_normalize import (  # type: ignore[import-not-found]
        InverseNormalizer,
    )

    normalizer = InverseNormalizer(lang="zh", cache_dir=str(NEMO_CACHE))
    return lambda text: str(normalizer.inverse_normalize(text, verbose=False))


CANDIDATES: list[tuple[str, str, Callable[[], Convert]]] = [
    ("telecom.speech.normalise (ours)", "", _ours),
    ("cn2an", "cn2an", _cn2an),
    ("chinese2digits", "chinese2digits", _chinese2digits),
    ("WeTextProcessing", "WeTextProcessing", _wetext),
    ("itntext", "itntext", _itntext),
    ("nemo-text-processing", "nemo_text_processing", _nemo),
]


def _version(dist: str) -> str:
    if not dist:
        return "this tree"
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


def score(
    convert: Convert, cases: list[tuple[str, str, str]], repeats: int
) -> tuple[dict[str, float], float, list[tuple[str, str, str]]]:
    """Accuracy overall / numbers / traps, median µs per sentence, and the misses."""
    hits: dict[str, list[bool]] = {"all": [], "numbers": [], "traps": []}
    misses = []
    times = []
    for kind, text, expected in cases:
        got = convert(text)
        ok = got == expected
        hits["all"].append(ok)
        hits[kind].append(ok)
        if not ok:
            misses.append((text, expected, got))
        start = time.perf_counter()
        for _ in range(repeats):
            convert(text)
        times.append((time.perf_counter() - start) / repeats * 1e6)
    accuracy = {k: sum(v) / len(v) for k, v in hits.items() if v}
    return accuracy, statistics.median(times), misses


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--errors", action="store_true", help="print every miss")
    parser.add_argument("--repeats", type=int, default=20, help="timed calls per sentence")
    args = parser.parse_args(argv)
    cases = load_cases()
    counts = {k: sum(1 for c in cases if c[0] == k) for k in ("numbers", "traps")}
    rows = []
    details: list[tuple[str, list[tuple[str, str, str]]]] = []
    for name, dist, build in CANDIDATES:
        try:
            convert = build()
        except ImportError as exc:
            print(f"skipped {name}: not installed ({exc.name or exc})")
            continue
        except Exception as exc:  # a package that installs but cannot start here
            print(f"skipped {name}: cannot start ({type(exc).__name__}: {exc})")
            continue
        convert(cases[0][1])  # warm up (lazy loading)
        accuracy, median_us, misses = score(convert, cases, args.repeats)
        rows.append((name, _version(dist), accuracy, median_us))
        details.append((name, misses))
    print(
        f"\n{len(cases)} sentences ({counts['numbers']} with numbers, {counts['traps']} traps), "
        f"exact match; time: median of {args.repeats} calls per sentence\n"
    )
    print("| normaliser | version | overall | numbers | traps | median µs/sentence |")
    print("|---|---|---|---|---|---|")
    for name, version, accuracy, median_us in rows:
        print(
            f"| {name} | {version} | {accuracy['all']:.3f} | {accuracy['numbers']:.3f} "
            f"| {accuracy['traps']:.3f} | {median_us:.1f} |"
        )
    if args.errors:
        for name, misses in details:
            print(f"\n## {name}: {len(misses)} misses")
            for text, expected, got in misses:
                print(f"- {text} → {got} (expected {expected})")


if __name__ == "__main__":
    main()
