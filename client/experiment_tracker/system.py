"""Optional system metrics (psutil; NVIDIA GPUs via nvidia-smi) sampled every N seconds into a run."""
from __future__ import annotations

import logging
import shutil
import subprocess
import threading
from typing import Callable, Dict

log = logging.getLogger("experiment_tracker")
GPU_QUERY = "utilization.gpu,memory.used,memory.total,temperature.gpu,power.draw"


def gpu_metrics() -> Dict[str, float]:
    """system/gpu<i>/... from nvidia-smi when it is installed; {} otherwise."""
    exe = shutil.which("nvidia-smi")
    if not exe:
        return {}
    try:
        done = subprocess.run([exe, f"--query-gpu={GPU_QUERY}", "--format=csv,noheader,nounits"],
                              capture_output=True, text=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError):
        return {}
    found: Dict[str, float] = {}
    names = ["utilization_percent", "memory_used_mb", "memory_total_mb", "temperature_c", "power_w"]
    for index, line in enumerate(done.stdout.strip().splitlines()):
        for name, raw in zip(names, line.split(",")):
            try:
                found[f"system/gpu{index}/{name}"] = float(raw.strip())
            except ValueError:
                continue  # "[N/A]"
    return found


def sample(psutil_module: object) -> Dict[str, float]:
    """One reading: CPU, memory, this process, disk and network counters, GPUs."""
    ps = psutil_module
    memory = ps.virtual_memory()  # type: ignore[attr-defined]
    found = {"system/cpu_percent": float(ps.cpu_percent(interval=None)),  # type: ignore[attr-defined]
             "system/memory_percent": float(memory.percent),
             "system/memory_used_mb": memory.used / 2**20,
             "system/memory_available_mb": memory.available / 2**20}
    try:
        process = ps.Process()  # type: ignore[attr-defined]
        found["system/process_rss_mb"] = process.memory_info().rss / 2**20
        found["system/process_cpu_percent"] = float(process.cpu_percent(interval=None))
    except Exception:  # noqa: BLE001 - psutil.Error and platform gaps
        pass
    try:
        disk = ps.disk_usage("/")  # type: ignore[attr-defined]
        found["system/disk_percent"] = float(disk.percent)
    except Exception:  # noqa: BLE001
        pass
    found.update(gpu_metrics())
    return found


class SystemMonitor:
    """A daemon thread calling emit(metrics, step) every `interval` seconds until stop()."""

    def __init__(self, emit: Callable[[Dict[str, float], int], None], interval: float = 10.0) -> None:
        try:
            import psutil
        except ImportError:
            raise RuntimeError("system metrics need psutil: pip install 'experiment-tracker-client[system]'") \
                from None
        self._psutil = psutil
        self._emit = emit
        self.interval = interval
        self.samples = 0  # readings emitted so far
        self._stop = threading.Event()
        psutil.cpu_percent(interval=None)  # the first call only primes the counter
        self._thread = threading.Thread(target=self._loop, name="experiment-tracker-system", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        step = 0
        while not self._stop.wait(self.interval):
            try:
                self._emit(sample(self._psutil), step)
                self.samples += 1
            except Exception:  # noqa: BLE001 - a monitoring hiccup must not end the run
                log.debug("system metrics sample failed", exc_info=True)
            step += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
