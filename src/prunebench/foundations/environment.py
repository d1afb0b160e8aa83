"""What produced a result: package versions, the device and the CPU numerics, in every record.

On the CPU, results are bit-identical across x86-64 machines only with the pinned numerics of
:mod:`prunebench.foundations.numerics`; the settings in force and the CPU model are recorded
so that a difference between two machines can be explained.
"""

import platform
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import prunebench
from prunebench.foundations.errors import PrunebenchError
from prunebench.foundations.numerics import cpu_numerics
from prunebench.foundations.typed import Record

if TYPE_CHECKING:  # torch costs seconds to import; reading a record must not pay for it
    import torch


@dataclass(frozen=True)
class Environment(Record):
    """The software, device and CPU a result was produced with."""

    described_as = "environment"

    prunebench: str
    torch: str
    python: str
    device: str
    """``cpu``, or ``cuda (<GPU name>)``."""
    cpu: str
    threads: str
    cpu_capability: str
    """The vector instruction set torch's CPU kernels use (``AVX2``...)."""
    cpu_numerics: dict[str, str]
    """The pinned numerics in force (``foundations.numerics``)."""


@cache
def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo``), or what ``platform`` knows elsewhere."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(device: "torch.device") -> Environment:
    """This process's environment, computing on ``device``."""
    import torch

    described = str(device)
    if device.type == "cuda":
        described = f"cuda ({torch.cuda.get_device_name(device)})"
    return Environment(
        prunebench=prunebench.__version__,
        torch=torch.__version__,
        python=platform.python_version(),
        device=described,
        cpu=cpu_model(),
        threads=str(torch.get_num_threads()),
        cpu_capability=torch.backends.cpu.get_cpu_capability(),
        cpu_numerics=cpu_numerics(),
    )


DEVICE_VARIABLE = "PRUNEBENCH_DEVICE"
DEVICE_CHOICES = "auto, cpu, cuda, cuda:N"


def choose_device(requested: str | None) -> "torch.device":
    """``None``/``"auto"``: CUDA when available, else the CPU; otherwise the named device.

    ``requested`` is ``PRUNEBENCH_DEVICE``'s value. A name that is not a device, or a GPU this
    machine does not have, is refused in one line before any work, not when a cell first
    needs it.
    """
    import torch

    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, ValueError, TypeError):
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise PrunebenchError(
            f"{DEVICE_VARIABLE}={requested!r} is not a valid choice; valid choices: "
            f"{DEVICE_CHOICES}"
        )
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if (device.index or 0) >= count:
            has = f"only {count} CUDA device(s)" if count else "no CUDA device"
            raise PrunebenchError(
                f"{DEVICE_VARIABLE}={requested!r}, but torch sees {has} on this machine; "
                "use cpu or auto"
            )
    return device
