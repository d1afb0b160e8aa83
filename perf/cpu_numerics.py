"""What makes CPU finetuning differ between x86-64 machines, and what pinning it costs.

Each variant runs one finetuning cell of the default benchmark (published LeNet-5, global
magnitude masks at compression 8, seed 0, the benchmark's 1-epoch recipe on the embedded
Fashion-MNIST sample) in a fresh process with its own environment, and prints the sha256 of the
finetuned weights and the median time of the finetuning call. A variant whose digest differs from
``native`` changes results; the ``pinned`` variant is what the pipeline runs by default
(``prunebench.foundations.numerics``).

Other CPUs can be emulated with QEMU's user mode (``apt-get install qemu-user``): ``--qemu
Haswell-v4 Skylake-Client-v4 EPYC-Milan-v1`` runs ``native`` and ``pinned`` under each model too.
Emulation is slow (20x or more): pass ``--train-images 512`` to finetune on fewer images.

    uv run python perf/cpu_numerics.py [--repeats 3] [--qemu MODEL ...] [--train-images N]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

# Sensitivity variants: environment changes on top of the native setting.
VARIANTS = {
    "native": {"PRUNEBENCH_CPU_NUMERICS": "native"},
    "native, 1 thread": {"PRUNEBENCH_CPU_NUMERICS": "native", "OMP_NUM_THREADS": "1"},
    "native, ATen without vector ISA": {
        "PRUNEBENCH_CPU_NUMERICS": "native",
        "ATEN_CPU_CAPABILITY": "default",
    },
    "native, oneDNN capped at SSE4.1": {
        "PRUNEBENCH_CPU_NUMERICS": "native",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
    },
    "native, MKL_CBWR=AVX2": {"PRUNEBENCH_CPU_NUMERICS": "native", "MKL_CBWR": "AVX2"},
    "native, deterministic algorithms": {
        "PRUNEBENCH_CPU_NUMERICS": "native",
        "PROBE_DETERMINISTIC": "1",
    },
    "pinned": {"PRUNEBENCH_CPU_NUMERICS": "pinned"},
    "pinned, again": {"PRUNEBENCH_CPU_NUMERICS": "pinned"},
    "pinned, OMP_NUM_THREADS=1 set": {"PRUNEBENCH_CPU_NUMERICS": "pinned", "OMP_NUM_THREADS": "1"},
}
PINNING = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_CBWR", "OMP_NUM_THREADS",
           "MKL_NUM_THREADS")  # fmt: skip


def child(repeats: int, train_images: int | None) -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
    from prunebench.foundations.numerics import pin_cpu_numerics

    pin_cpu_numerics()
    import hashlib

    import torch
    from safetensors.torch import save

    from prunebench.benchmarks.pretrained import fetch_published
    from prunebench.benchmarks.registry import BENCHMARKS
    from prunebench.data import load_dataset
    from prunebench.foundations.environment import cpu_model
    from prunebench.models import create_model
    from prunebench.stages.finetune import finetune_cell
    from prunebench.strategies import compute_masks

    if os.environ.get("PROBE_DETERMINISTIC"):
        torch.use_deterministic_algorithms(True)
    benchmark = BENCHMARKS["fashion_mnist_sample_lenet5"]
    dataset = load_dataset(
        benchmark.dataset, validation_size=benchmark.validation_size, split_seed=0
    )
    if train_images:
        from dataclasses import replace

        dataset = replace(dataset, train=dataset.train.subset(torch.arange(train_images)))
    pretrained = fetch_published(benchmark.pretrained, None, Path("/nonexistent"))
    model = create_model(benchmark.model, dataset.info.num_classes)
    model.load_state_dict(pretrained)
    masks = compute_masks(model, "global_mag", 8.0, seed=0)
    digests, seconds = set(), []
    for _ in range(repeats):
        start = time.perf_counter()
        finetuned = finetune_cell(
            benchmark.model, pretrained, masks, {}, dataset, benchmark.finetune, seed=0,
            device=torch.device("cpu"),
        ).model  # fmt: skip
        seconds.append(time.perf_counter() - start)
        digests.add(hashlib.sha256(save(finetuned.state_dict())).hexdigest())
    print(json.dumps({
        "sha256": sorted(digests), "seconds": statistics.median(seconds),
        "capability": torch.backends.cpu.get_cpu_capability(),
        "threads": torch.get_num_threads(), "cpu": cpu_model(),
    }))  # fmt: skip


def run(name: str, env: dict, args, qemu: str | None = None) -> dict:
    environment = {k: v for k, v in os.environ.items() if k not in PINNING}
    environment.update(env)
    command = [sys.executable, __file__, "--child", "--repeats", str(args.repeats)]
    if args.train_images:
        command += ["--train-images", str(args.train_images)]
    if qemu:
        command = ["qemu-x86_64", "-cpu", qemu, *command]
    result = subprocess.run(command, env=environment, capture_output=True, text=True)
    if result.returncode != 0:
        return {"variant": name, "error": result.stderr.strip().splitlines()[-1]}
    return {"variant": name, **json.loads(result.stdout.strip().splitlines()[-1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--train-images", type=int, default=None)
    parser.add_argument("--qemu", nargs="*", default=[], help="QEMU CPU models to emulate")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args()
    if args.child:
        child(args.repeats, args.train_images)
        return
    rows = [run(name, VARIANTS[name], args) for name in args.variants]
    for model in args.qemu:
        for name in ("native", "pinned"):
            rows.append(run(f"{name} under qemu -cpu {model}", VARIANTS[name], args, model))
    reference = {row["variant"]: row for row in rows}.get("native", rows[0]).get("sha256")
    pinned = {row["variant"]: row for row in rows}.get("pinned", {}).get("sha256")
    print(f"{'variant':45} {'ISA':7} {'thr':>3} {'seconds':>8}  weights sha256   same as")
    for row in rows:
        if "error" in row:
            print(f"{row['variant']:45} failed: {row['error']}")
            continue
        same = {str(reference): "native", str(pinned): "pinned"}.get(str(row["sha256"]), "-")
        stable = "" if len(row["sha256"]) == 1 else " (differs between repeats!)"
        print(f"{row['variant']:45} {row['capability']:7} {row['threads']:>3} "
              f"{row['seconds']:8.2f}  {row['sha256'][0][:16]} {same}{stable}")  # fmt: skip


if __name__ == "__main__":
    main()
