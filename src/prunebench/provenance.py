"""What produced a result: package versions and the device, recorded in every metrics file.

The same seed gives bit-identical results only on the same kind of machine: on the CPU, oneDNN
and MKL choose their kernels (and with them the order of floating-point sums) by the instruction
set and the thread count, so both are recorded to explain a difference between two machines.
"""

import platform

import torch

import prunebench


def environment(device: torch.device) -> dict[str, str]:
    described = str(device)
    if device.type == "cuda":
        described = f"cuda ({torch.cuda.get_device_name(device)})"
    return {
        "prunebench": prunebench.__version__,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "device": described,
        "threads": str(torch.get_num_threads()),
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
    }


def choose_device(requested: str | None) -> torch.device:
    """``None``/``"auto"``: CUDA when available, else the CPU; otherwise the named device."""
    if requested in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(requested)
