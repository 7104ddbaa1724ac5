"""Where settings come from: the documented flat names, in the environment and in ``.env``.

The settings are nested groups (``settings.llm.timeout_s``), but the names people set stay
flat and documented (``PAPERBRIEF_LLM_TIMEOUT``, ``OPENAI_API_KEY``, ``CHROMA_HOST``; see
``.env.example``): each field lists its names in ``json_schema_extra["env"]`` and the source
here maps them onto the nested fields. ``PAPERBRIEF_<GROUP>__<FIELD>`` (``PAPERBRIEF_LLM__TIMEOUT_S``)
works too. A ``PAPERBRIEF_*`` name that is no setting is a typo until proven otherwise, so it
fails in one line naming the closest valid name instead of being ignored; in ``.env`` so does
any key that is a near miss of a setting's name (other tools' keys there are left alone).
"""

from __future__ import annotations

import difflib
import json
import os
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from agent.errors import UserError

PREFIX = "PAPERBRIEF_"

#: ``PAPERBRIEF_*`` variables that are not settings (read by tools and tests, not by ``Settings``).
NOT_SETTINGS = frozenset({
    "PAPERBRIEF_SHARED_DIR",  # evals and benchmarks: where ../shared lives
    "PAPERBRIEF_SERVICE_TEST_SERVER",  # tests: the fake model server the service runs instead of llama.cpp
})

#: How close a ``.env`` key that is not ``PAPERBRIEF_*`` must be to a setting's name to count as its typo.
NEAR_MISS = 0.85

Path_ = tuple[str, ...]


class SettingsError(UserError):
    """A setting with an invalid value or an unknown name; the message is one line naming the variable."""

    title = "Configuration problem"
    hint = "fix the setting in .env or the environment (see .env.example)"


def _fields(model: type[BaseModel], prefix: Path_ = ()) -> Iterator[tuple[Path_, FieldInfo]]:
    """Every leaf field of the settings, with its path (``("llm", "timeout_s")``)."""
    for name, info in model.model_fields.items():
        group = info.annotation
        if isinstance(group, type) and issubclass(group, BaseModel):
            yield from _fields(group, (*prefix, name))
        else:
            yield (*prefix, name), info


def _meta(info: FieldInfo) -> dict[str, Any]:
    extra = info.json_schema_extra
    return extra if isinstance(extra, dict) else {}


def env_names(settings_cls: type[BaseModel]) -> dict[Path_, list[str]]:
    """Each field's names, documented one first, then the nested ``PAPERBRIEF_<GROUP>__<FIELD>``."""
    out: dict[Path_, list[str]] = {}
    for path, info in _fields(settings_cls):
        names = [str(n).upper() for n in _meta(info).get("env", [])]
        names.append(PREFIX + "__".join(p.upper() for p in path))
        out[path] = list(dict.fromkeys(names))
    return out


def flat_names(settings_cls: type[BaseModel]) -> dict[str, Path_]:
    """The flat keyword names ``load_settings`` takes (CLI flags, tests) -> field paths."""
    out: dict[str, Path_] = {}
    for path, info in _fields(settings_cls):
        out[str(_meta(info).get("flat", path[-1]))] = path
    return out


def env_name_of(settings_cls: type[BaseModel], loc: tuple[Any, ...]) -> str:
    """The documented name of the field at ``loc`` (a validation error's location)."""
    names = env_names(settings_cls)
    path = tuple(str(p) for p in loc)
    for length in range(len(path), 0, -1):
        if path[:length] in names:
            return names[path[:length]][0]
    return ".".join(path) or "?"


def nest(values: Mapping[Path_, Any]) -> dict[str, Any]:
    """``{("llm", "timeout_s"): 5}`` -> ``{"llm": {"timeout_s": 5}}``."""
    out: dict[str, Any] = {}
    for path, value in values.items():
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    return out


def unknown(name: str, where: str, known: list[str]) -> SettingsError:
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
    hint = f"did you mean {close[0]}?" if close else "see .env.example for the settings"
    return SettingsError(f"unknown setting {name} in {where}; {hint}")


def _is_complex(info: FieldInfo) -> bool:
    """Dicts and lists arrive as JSON text."""
    origin = typing.get_origin(info.annotation) or info.annotation
    return origin in (dict, list)


class FlatEnvSource(PydanticBaseSettingsSource):
    """One mapping of names to values (the environment, or a ``.env`` file) as nested settings."""

    def __init__(self, settings_cls: type[BaseSettings], values: Mapping[str, str | None], where: str) -> None:
        super().__init__(settings_cls)
        self.where = where
        self.values = {k.upper(): v for k, v in values.items() if v is not None and v != ""}

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        raise NotImplementedError  # every field is read in __call__: the names are not per top-level field

    def __call__(self) -> dict[str, Any]:
        names = env_names(self.settings_cls)
        infos = dict(_fields(self.settings_cls))
        every = {n for ns in names.values() for n in ns}
        documented = sorted(n for n in every if "__" not in n)  # the flat names people set
        for key in self.values:
            if key in every or key in NOT_SETTINGS:
                continue
            near = difflib.get_close_matches(key, documented, n=1, cutoff=NEAR_MISS)
            if key.startswith(PREFIX) or (self.where == ".env" and near):
                raise unknown(key, self.where, documented)
        found: dict[Path_, Any] = {}
        for path, candidates in names.items():
            name = next((n for n in candidates if n in self.values), None)
            if name is None:
                continue
            value: Any = self.values[name]
            if _is_complex(infos[path]):
                try:
                    value = json.loads(value)
                except ValueError as exc:
                    raise SettingsError(f"invalid setting {name}: not valid JSON ({exc})") from None
            found[path] = value
        return nest(found)


def sources(settings_cls: type[BaseSettings], env_file: Path = Path(".env")) -> tuple[FlatEnvSource, FlatEnvSource]:
    """The environment, then ``.env`` in the working directory (the environment wins)."""
    dotenv = dotenv_values(env_file, encoding="utf-8") if env_file.is_file() else {}
    return FlatEnvSource(settings_cls, dict(os.environ), "the environment"), FlatEnvSource(settings_cls, dotenv, ".env")
