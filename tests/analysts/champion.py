"""Run in the assistant's environment inside the project copy (tests/analysts/project.py):
trains a model with the fast configuration exactly as scripts/retrain.py trains a challenger,
and registers it as the registry's first service model — the champion the test's challenger is
judged against, trained the same way on the data before the analysts' batch (a fair comparison).

    python tests/analysts/champion.py REGISTRY CONFIG   (cwd and PYTHONPATH: the copy)

Prints the champion's registry id.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile

from scripts import retrain
from telecom.registry import Registry


def main() -> None:
    registry, config = Registry(sys.argv[1]), pathlib.Path(sys.argv[2]).resolve()
    if registry.service() is not None:
        raise SystemExit(f"{registry.root} already has a service model")
    with tempfile.TemporaryDirectory(prefix="champion-") as tmp:
        model = retrain.train_challenger(config, pathlib.Path(tmp))
        meta = {
            "trained_by": "tests/analysts (fast configuration, the data before the batch)",
            "data_hash": retrain.data_hash(),
            "config_hash": retrain.config_hash(config),
            "config": str(config.relative_to(retrain.ROOT)),
        }
        print(registry.ensure_champion(model, meta, by="tests/analysts"))


if __name__ == "__main__":
    main()
