"""What one check found: a status, what was seen, and the one thing to do about it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Result:
    """``fix`` is empty for ``ok``; for warn/fail it is one line a person can act on."""

    name: str
    status: Status
    detail: str
    fix: str = ""
    seconds: float = 0.0

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["seconds"] = round(self.seconds, 3)
        return data


def ok(name: str, detail: str) -> Result:
    return Result(name, "ok", detail)


def warn(name: str, detail: str, fix: str) -> Result:
    return Result(name, "warn", detail, fix)


def fail(name: str, detail: str, fix: str) -> Result:
    return Result(name, "fail", detail, fix)
