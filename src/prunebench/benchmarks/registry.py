"""The benchmark registry: what a ``benchmark`` key in params.yaml fixes.

A benchmark names the dataset, the architecture, where the pretrained model comes from (published
weights, or our own pretraining with a fixed recipe and seed) and the finetuning recipe. Holding
these fixed is the point of the benchmark: between two runs only the pruning strategy changes.
"""

from dataclasses import dataclass

from prunebench.foundations.registry import Registry
from prunebench.training.loop import Recipe


@dataclass(frozen=True)
class Benchmark:
    """What one benchmark holds fixed: dataset, model, pretrained source and recipes.

    ``pretrained`` names a published weight source in :mod:`prunebench.benchmarks.pretrained`;
    ``None`` means the pipeline trains the model itself with ``pretrain`` (seeded by params).
    Where both are given, the published weights are the ones ``pretrain`` produced on our
    machine, and params ``pretrained.train`` regenerates them instead.
    """

    dataset: str
    model: str
    pretrained: str | None
    finetune: Recipe
    pretrain: Recipe | None = None
    validation_size: int = 5000
    num_classes: int = 10
    # One sample's shape, for checks before the data is read (channel groups are traced on it).
    input_shape: tuple[int, int, int] = (1, 28, 28)


BENCHMARKS: Registry[Benchmark] = Registry("benchmark")

# Paper, appendix C. Early stopping (patience) is ours: the paper finetunes for a fixed number of
# epochs and keeps the best validation epoch.
CIFAR_FINETUNE = Recipe(optimizer="adam", learning_rate=3e-4, batch_size=64, epochs=30, patience=5)
IMAGENET_FINETUNE = Recipe(
    optimizer="sgd", learning_rate=1e-3, momentum=0.9, nesterov=True, batch_size=256, epochs=20,
    patience=5,
)  # fmt: skip
# Our own pretraining recipes, for benchmarks without published weights.
LENET_PRETRAIN = Recipe(optimizer="adam", learning_rate=1e-3, batch_size=64, epochs=12, patience=3)
CIFAR_PRETRAIN = Recipe(
    optimizer="sgd", learning_rate=0.1, momentum=0.9, weight_decay=5e-4, batch_size=128,
    epochs=160, patience=160, schedule="cosine",
)  # fmt: skip

BENCHMARKS.add(
    "fashion_mnist_sample_lenet5",
    Benchmark(
        dataset="fashion_mnist_sample",
        model="lenet5",
        pretrained="prunebench_fashion_mnist_sample_lenet5",
        # Sized for the default pipeline's ten-minute budget on two CPU cores: 120 cells (the
        # method, five baselines and two matched controls, five compressions, three seeds). Each
        # finetunes for 80 steps of batch 64 (5,120 of the 9,000 training images), which recovers
        # as much top-1 as a whole epoch at batch 128 in less time (perf/finetune_recipe.py;
        # docs/measurements.md).
        finetune=Recipe(
            optimizer="adam",
            learning_rate=3e-4,
            batch_size=64,
            epochs=1,
            patience=1,
            steps_per_epoch=80,
        ),
        pretrain=LENET_PRETRAIN,
        validation_size=1000,
    ),
)
BENCHMARKS.add(
    "fashion_mnist_lenet5",
    Benchmark(
        dataset="fashion_mnist",
        model="lenet5",
        pretrained="prunebench_fashion_mnist_lenet5",
        finetune=CIFAR_FINETUNE,
        pretrain=LENET_PRETRAIN,
        validation_size=5000,
    ),
)
BENCHMARKS.add(
    "mnist_lenet5",
    Benchmark(
        dataset="mnist",
        model="lenet5",
        pretrained="shrinkbench_mnist_lenet5",
        finetune=CIFAR_FINETUNE,
        validation_size=5000,
    ),
)
for depth in (20, 32, 44, 56):
    BENCHMARKS.add(
        f"cifar10_resnet{depth}",
        Benchmark(
            dataset="cifar10",
            model=f"resnet{depth}",
            pretrained=f"shrinkbench_cifar10_resnet{depth}",
            finetune=CIFAR_FINETUNE,
            input_shape=(3, 32, 32),
        ),
    )
for key, model in (("cifar10_resnet110", "resnet110"), ("cifar10_vgg", "vgg_bn_drop")):
    BENCHMARKS.add(
        key,
        Benchmark(
            dataset="cifar10",
            model=model,
            pretrained=None,
            finetune=CIFAR_FINETUNE,
            pretrain=CIFAR_PRETRAIN,
            input_shape=(3, 32, 32),
        ),
    )
BENCHMARKS.add(
    "imagenet_resnet18",
    Benchmark(
        dataset="imagenet",
        model="resnet18",
        pretrained="torchvision_imagenet_resnet18",
        finetune=IMAGENET_FINETUNE,
        validation_size=10000,
        num_classes=1000,
        input_shape=(3, 224, 224),
    ),
)
