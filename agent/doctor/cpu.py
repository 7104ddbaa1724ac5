"""The CPU's features against the ones llama.cpp was compiled to use.

A llama.cpp built with ``-march=native`` on one machine uses every instruction that CPU
has; on another machine lacking one of them the first matrix multiply dies with SIGILL.
AMX is worse: ggml's AMX kernels fault on some VMs whose CPUs report it. So the build's
features (``llama_print_system_info``) are read in a child process (a library built for
another CPU may fault just loading) and compared with ``/proc/cpuinfo``'s flags.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

from agent.doctor.result import Result, fail, ok, warn

#: llama.cpp's feature name -> the Linux /proc/cpuinfo flag that says the CPU has it.
CPU_FLAG = {
    "SSE3": "pni",
    "SSSE3": "ssse3",
    "AVX": "avx",
    "AVX2": "avx2",
    "AVX_VNNI": "avx_vnni",
    "F16C": "f16c",
    "FMA": "fma",
    "BMI2": "bmi2",
    "AVX512": "avx512f",
    "AVX512_VBMI": "avx512vbmi",
    "AVX512_VNNI": "avx512_vnni",
    "AVX512_BF16": "avx512_bf16",
    "AMX_INT8": "amx_int8",
    "AMX_BF16": "amx_bf16",
    "AMX_TILE": "amx_tile",
}
REBUILD = "rebuild llama-cpp-python for a portable CPU baseline: make rebuild-llm"
_PRINT_INFO = "import sys, llama_cpp; sys.stdout.write(llama_cpp.llama_print_system_info().decode())"


def parse_build_features(info: str) -> set[str]:
    """``"CPU : SSE3 = 1 | AVX = 1 | AMX_INT8 = 0 |"`` -> ``{"SSE3", "AVX"}``."""
    return {name for name, value in re.findall(r"([A-Z][A-Z0-9_]*) = (\d+)", info) if value != "0"}


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> set[str] | None:
    """The first CPU's flags, or ``None`` where there is no /proc/cpuinfo (not Linux)."""
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    match = re.search(r"^flags\s*:\s*(.*)$", text, re.M)
    return set(match.group(1).split()) if match else None


def signal_name(returncode: int) -> str:
    """``-4`` -> ``"SIGILL"``; a child killed by a signal has a negative return code."""
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def build_info(timeout_s: float) -> str:
    """llama.cpp's system info from a child process; raises RuntimeError with one line."""
    try:
        proc = subprocess.run([sys.executable, "-c", _PRINT_INFO], capture_output=True, text=True,
                              timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"importing llama_cpp took over {timeout_s:g} s") from None
    if proc.returncode < 0:
        raise RuntimeError(f"importing llama_cpp crashed with {signal_name(proc.returncode)}")
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"cannot import llama_cpp: {last}")
    return proc.stdout


def compare(build: set[str], flags: set[str] | None) -> Result:
    """The verdict for a build feature set against the CPU's flags (pure: tested directly)."""
    name = "cpu features"
    cpu_features = sorted(f for f in build if f in CPU_FLAG)
    if flags is None:
        return warn(name, f"cannot read /proc/cpuinfo; build uses {', '.join(cpu_features)}",
                    "if commands die with 'Illegal instruction': make rebuild-llm")
    missing = [f for f in cpu_features if CPU_FLAG[f] not in flags]
    if missing:
        return fail(name, f"llama.cpp was built for {', '.join(missing)}, which this CPU lacks "
                    "(model calls will die with SIGILL)", REBUILD)
    amx = [f for f in cpu_features if f.startswith("AMX")]
    if amx:
        return warn(name, f"llama.cpp uses {', '.join(amx)}; its AMX kernels fault on some VMs", REBUILD)
    return ok(name, f"build uses {', '.join(cpu_features) or 'no SIMD extensions'}; the CPU has them all")


def check_cpu(timeout_s: float = 20.0) -> Result:
    try:
        info = build_info(timeout_s)
    except RuntimeError as exc:
        return fail("cpu features", str(exc), REBUILD)
    return compare(parse_build_features(info), cpu_flags())
