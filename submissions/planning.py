"""Which hardware the Moderation page's time estimate assumes: the workers', not a fixed H100.

Why: an estimate for a GPU the workers do not have misleads organizers (seconds promised, minutes taken on CPU).
``MEDBENCH_PLANNER_DEVICE`` names the profile where the workers run elsewhere; left empty, it follows the
workers' ``MEDBENCH_DEVICE``. The page also says which device that is, so the number can be judged.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

from common.settings import Settings, get_settings
from evaluator.engine.planner import get_profile, plan_summary

CUDA_PROFILE = "h100"  # the profile for 'cuda' when no planner_device names the card


@dataclass(frozen=True)
class PlannerDevice:
    """The profile name handed to the planner, how many GPUs per worker, and where that choice came from."""

    name: str
    gpus: int
    source: str  # the setting that decided it, as an organizer would change it


@functools.cache
def _workers_device(setting: str) -> str:
    """MEDBENCH_DEVICE resolved on this machine ("auto" probes CUDA), once per process: the moderation page
    redraws often and the answer does not change."""
    from evaluator.engine.placement import resolve_device

    return resolve_device(setting)


def planner_device(settings: Settings | None = None) -> PlannerDevice:
    """MEDBENCH_PLANNER_DEVICE when set, else the workers' MEDBENCH_DEVICE: cpu -> cpu, cuda -> h100, auto -> what
    this machine has (the app and the worker usually share it)."""
    settings = settings or get_settings()
    if settings.planner_device:
        return PlannerDevice(settings.planner_device, settings.planner_gpus,
                             f"MEDBENCH_PLANNER_DEVICE={settings.planner_device}")
    device = _workers_device(settings.device)
    name = "cpu" if device == "cpu" else CUDA_PROFILE
    return PlannerDevice(name, settings.planner_gpus,
                         f"the workers' MEDBENCH_DEVICE={settings.device}" + (f" ({device})" if settings.device
                                                                                == "auto" else ""))


def planned_run(submission_id: int) -> tuple[str, str]:
    """The estimate line of a submission's run and the line saying which device it assumes."""
    device = planner_device()
    profile = get_profile(device.name)  # the CPU is measured once per process, so redraws stay fast
    where = f"{device.gpus} × {profile.name}" if profile.kind == "gpu" else f"{profile.name} on the app's machine"
    assumes = (f"The estimate assumes {where}, from {device.source}. Set MEDBENCH_PLANNER_DEVICE (cpu, h100, h200, "
               "a100) and MEDBENCH_PLANNER_GPUS to the workers' hardware.")
    return plan_summary(submission_id, device=device.name, gpus=device.gpus), assumes
