"""What a process used, for the records a run and a pretrained model keep (job sizing on a cluster)."""

from __future__ import annotations

import resource


def peak_memory_mb() -> float:
    """This process's peak resident memory so far (MB): VmHWM, as the benchmarks measure it. Not ru_maxrss: Linux
    carries the spawning process's high-water mark into ru_maxrss across fork and exec, so a run started by a large
    parent (a Ray worker pool, a sweep's process) would report the parent's peak. In a fresh process (a single run,
    a Ray worker with max_calls=1, a SLURM job) it is the run's own; in a reused joblib worker an upper bound."""
    try:
        with open("/proc/self/status") as status:
            return round(int(next(line for line in status if line.startswith("VmHWM")).split()[1]) / 1024, 1)
    except (OSError, StopIteration, ValueError):  # no procfs (not Linux)
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
