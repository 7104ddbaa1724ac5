"""The llama.cpp build is portable: no AMX ever, no AVX-512 unless NATIVE=1 chose it.

The Makefile is checked with ``make -n`` (what it would run), since a real rebuild takes
8 minutes of both cores: the portable flags, ``--no-cache-dir`` and ``--no-binary`` so a
cached native wheel is never reused, and the opt-in native build.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from agent.doctor.cpu import compare, cpu_flags, parse_build_features
from tests.conftest import REPO

PORTABLE = ["-DGGML_NATIVE=OFF", "-DGGML_AVX2=ON", "-DGGML_FMA=ON", "-DGGML_F16C=ON", "-DGGML_BMI2=ON",
            "-DGGML_AVX512=OFF", "-DGGML_AMX_TILE=OFF", "-DGGML_AMX_INT8=OFF", "-DGGML_AMX_BF16=OFF"]


def test_installed_llama_cpp_uses_no_amx() -> None:
    import llama_cpp

    features = parse_build_features(llama_cpp.llama_print_system_info().decode())
    assert "AVX2" in features, features  # the parse works: the baseline is there
    assert not {f for f in features if f.startswith("AMX")}, features
    if not (Path(sys.prefix) / ".llama-native").exists():  # `make rebuild-llm NATIVE=1` writes it
        assert not {f for f in features if f.startswith("AVX512")}, features


def test_this_cpu_runs_the_installed_build() -> None:
    import llama_cpp

    result = compare(parse_build_features(llama_cpp.llama_print_system_info().decode()), cpu_flags())
    assert result.status != "fail", result


def _dry_run(*args: str, tmp_path: Path) -> str:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    proc = subprocess.run(["make", "-n", *args, f"VENV={tmp_path / 'venv'}"], cwd=REPO, capture_output=True,
                          text=True, timeout=30, check=True)
    return proc.stdout


def test_setup_builds_llama_cpp_portable_without_cache(tmp_path: Path) -> None:
    lines = [line for line in _dry_run("setup", tmp_path=tmp_path).splitlines() if "llama-cpp-python[server]" in line]
    assert len(lines) == 1, lines
    line = lines[0]
    assert all(flag in line for flag in PORTABLE), line
    assert "--no-cache-dir" in line and "--no-binary llama-cpp-python" in line
    assert "-DGGML_NATIVE=ON" not in line


def test_rebuild_llm_forces_a_fresh_build_and_native_is_opt_in(tmp_path: Path) -> None:
    portable = _dry_run("rebuild-llm", tmp_path=tmp_path)
    rebuild = next(line for line in portable.splitlines() if "--force-reinstall" in line)
    assert all(flag in rebuild for flag in PORTABLE) and "--no-cache-dir" in rebuild and "--no-deps" in rebuild
    native = _dry_run("rebuild-llm", "NATIVE=1", tmp_path=tmp_path)
    rebuild = next(line for line in native.splitlines() if "--force-reinstall" in line)
    assert "-DGGML_NATIVE=ON" in rebuild and "-DGGML_AVX512=OFF" not in rebuild
    assert f"touch {tmp_path / 'venv'}/.llama-native" in native
