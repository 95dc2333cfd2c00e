"""Trains the assistant when its inputs changed since the last training (else says so).

The fingerprint is a SHA-256 over every training input (config, domain, dialogue and NLU data,
catalogue, custom components, the resource builder, the pinned requirements), stored beside the
model. Rasa's own fingerprint does not see the spaCy pipeline's contents or our components'
code, so ours decides; Rasa is then told to --force.

Run: python -m scripts.train [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import pathlib
import subprocess
import sys
import time

from scripts import build_resources
from scripts.paths import CONFIG, DATA, DOMAIN, FINGERPRINT, MODEL, MODELS, ROOT, TRAINING_INPUTS


def fingerprint(inputs: list[pathlib.Path] = TRAINING_INPUTS) -> str:
    digest = hashlib.sha256()
    for top in inputs:
        files = sorted(p for p in top.rglob("*") if p.is_file()) if top.is_dir() else [top]
        for path in files:
            if "__pycache__" in path.parts or not path.exists():
                continue
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def is_current() -> bool:
    resources = (MODELS / "spacy_zh_telecom" / "meta.json", MODELS / "jieba_dict" / "userdict.txt")
    return (
        MODEL.exists()
        and all(p.exists() for p in resources)
        and FINGERPRINT.exists()
        and FINGERPRINT.read_text().strip() == fingerprint()
    )


def rasa_train_command(out: pathlib.Path | str, config: pathlib.Path = CONFIG) -> list[str]:
    """`rasa train` on every training input, forced (our fingerprint decides), without Rasa's
    data validation, which only warns (`make validate` runs it with --fail-on-warnings), and
    without Rasa's training cache, which a forced training never reads (assistant.train)."""
    return [
        sys.executable,
        "-m",
        "assistant.train",
        "train",
        "--domain",
        str(DOMAIN),
        "--data",
        *map(str, DATA),
        "--config",
        str(config),
        "--out",
        str(out),
        "--force",
        "--skip-validation",
    ]


def train(force: bool = False) -> bool:
    """Returns True when it trained, False when the model was already current."""
    if not force and is_current():
        print(f"model is current ({MODEL.relative_to(ROOT)}); nothing to train")
        return False
    build_resources.build(ROOT, MODELS)
    inputs = fingerprint()  # after the build: it regenerates nlu_data/lookups
    command = [
        *rasa_train_command(MODELS),
        "--fixed-model-name",
        MODEL.name.removesuffix(".tar.gz"),
    ]
    started = time.monotonic()
    subprocess.run(command, cwd=ROOT, check=True)
    FINGERPRINT.write_text(inputs + "\n")
    print(f"trained {MODEL.relative_to(ROOT)} in {time.monotonic() - started:.0f} s")
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description="Train the assistant when its inputs changed.")
    parser.add_argument("--force", action="store_true", help="train even if nothing changed")
    train(force=parser.parse_args().force)


if __name__ == "__main__":
    main()
