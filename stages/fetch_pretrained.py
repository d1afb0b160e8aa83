"""Stage fetch_pretrained: the model every cell starts from, and the control's metrics.

Published weights are verified by sha256 and loaded strictly; a benchmark without them trains its
own with the benchmark's pretraining recipe and ``pretrained.seed``.
"""

import argparse
import os
from pathlib import Path

from prunebench.benchmarks import BENCHMARKS
from prunebench.data import open_materialized
from prunebench.files import save_state_dict, write_json
from prunebench.models import create_model
from prunebench.pretrained import fetch_published, load_state_dict_strict
from prunebench.results import measure
from prunebench.training import pretrain

from common import device_from_environment, epoch_curves, load_params, run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="data/splits")
    parser.add_argument("--out", default="models/pretrained")
    parser.add_argument("--control", default="results/control.json")
    parser.add_argument(
        "--cache",
        default=Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "prunebench",
        help="where downloaded weights are kept (outside the repository, like torch.hub's)",
    )
    args = parser.parse_args()
    params = load_params()
    benchmark = BENCHMARKS[params.benchmark]
    device = device_from_environment()
    dataset = open_materialized(args.data)
    out = Path(args.out)
    if benchmark.pretrained is not None:
        model = create_model(benchmark.model, dataset.info.num_classes)
        mirror = Path(params.pretrained.mirror) if params.pretrained.mirror else None
        state_dict = fetch_published(benchmark.pretrained, mirror, Path(args.cache))
        load_state_dict_strict(model, state_dict)
        source = {"kind": "published", "name": benchmark.pretrained}
    else:
        recipe = benchmark.pretrain.updated(params.pretrained.recipe)
        with epoch_curves(out / "live") as log_epoch:
            model, result = pretrain(
                benchmark.model,
                dataset,
                recipe,
                seed=params.pretrained.seed,
                device=device,
                on_epoch=log_epoch,
            )
        source = {
            "kind": "trained in the pipeline",
            "recipe": recipe.as_dict(),
            "seed": params.pretrained.seed,
            "epochs_run": result.epochs_run,
            "best_epoch": result.best_epoch,
            "best_validation_top1": result.best_validation_top1,
        }
    save_state_dict(out / "model.safetensors", model.state_dict())
    control = measure(
        model,
        None,
        dataset,
        device=device,
        params={"benchmark": params.benchmark, "pretrained": vars(params.pretrained)},
    )
    control.update(strategy="control", target_compression=1, seed=params.pretrained.seed)
    control["pretrained"] = source
    write_json(out / "source.json", source)
    write_json(args.control, control)


if __name__ == "__main__":
    run(main)
