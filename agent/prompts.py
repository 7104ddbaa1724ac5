"""Prompt files: one per prompt in ``prompts/``, versioned, rendered with strict variables.

A prompt file is Markdown with YAML front-matter::

    ---
    name: answer
    version: 3
    variables: [question, sources]
    ---
    [system]
    You answer from the sources only...
    [user]
    {{ question }}

``[system]`` / ``[user]`` / ``[assistant]`` lines split the body into chat messages.
Rendering uses Jinja2 with ``StrictUndefined`` (a missing variable is an error, not
an empty string), and loading refuses a template that uses a variable its
front-matter does not declare: a typo in a prompt fails at load time, in tests,
instead of silently producing a worse prompt. Every rendered prompt carries a
``PromptRef`` (name, version, content hash) that the call log and evals record.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import cast

import jinja2
import jinja2.meta
import yaml

from agent.errors import UserError
from agent.llm.base import ChatMessage, Role

_FRONT = re.compile(r"\A---\s*\n(.*?)\n---\s*\n(.*)\Z", re.S)
_ROLE = re.compile(r"^\[(system|user|assistant)\]\s*$", re.M)
_ENV = jinja2.Environment(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=False,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class PromptRef:
    """Which prompt template produced a call: ``name``, its ``version`` and a content ``hash``."""

    name: str
    version: str
    hash: str

    @classmethod
    def of(cls, name: str, version: str, template_text: str) -> PromptRef:
        """Build a ref hashing the template text (first 16 hex digits of sha256)."""
        return cls(name, version, hashlib.sha256(template_text.encode("utf-8")).hexdigest()[:16])


class PromptError(UserError):
    """A prompt file that cannot be used; the message names the file."""

    title = "Configuration problem"
    hint = "fix the prompt file named above"


@dataclass(frozen=True)
class Prompt:
    """A loaded prompt: metadata, the raw text (hashed) and the compiled parts."""

    name: str
    version: str
    variables: tuple[str, ...]
    text: str
    path: str
    parts: tuple[tuple[Role, jinja2.Template], ...]

    @property
    def ref(self) -> PromptRef:
        return PromptRef.of(self.name, self.version, self.text)

    def render(self, **values: object) -> list[ChatMessage]:
        """Chat messages with ``values`` filled in; unknown or missing names are errors."""
        extra = set(values) - set(self.variables)
        if extra:
            raise PromptError(f"{self.path}: unknown variables {sorted(extra)}")
        try:
            return [ChatMessage(role, tpl.render(**values).strip()) for role, tpl in self.parts]
        except jinja2.UndefinedError as exc:
            raise PromptError(f"{self.path}: {exc.message}") from None


def parse_prompt(text: str, path: str) -> Prompt:
    """Parse and validate a prompt file's text (``path`` is only for messages)."""
    match = _FRONT.match(text)
    if not match:
        raise PromptError(f"{path}: missing '---' front-matter with name, version and variables")
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise PromptError(f"{path}: front-matter is not valid YAML: {exc}") from None
    for key in ("name", "version", "variables"):
        if key not in meta:
            raise PromptError(f"{path}: front-matter lacks '{key}'")
    declared = tuple(str(v) for v in meta["variables"] or ())
    body = match.group(2)
    try:
        used = jinja2.meta.find_undeclared_variables(_ENV.parse(body))
    except jinja2.TemplateSyntaxError as exc:
        raise PromptError(f"{path}:{exc.lineno}: template syntax error: {exc.message}") from None
    undeclared = sorted(used - set(declared))
    if undeclared:
        raise PromptError(f"{path}: template uses undeclared variables {undeclared}")
    pieces = _ROLE.split(body)
    if len(pieces) < 3:
        raise PromptError(f"{path}: no [system] or [user] section")
    parts = tuple(
        (cast(Role, role), _ENV.from_string(content.strip()))
        for role, content in zip(pieces[1::2], pieces[2::2], strict=True)
    )
    return Prompt(str(meta["name"]), str(meta["version"]), declared, text, path, parts)


def prompt_dir() -> Path:
    return Path(str(resources.files("prompts")))


@lru_cache(maxsize=64)
def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """Load ``prompts/<name>.md`` (or from ``directory``, e.g. a prompt set under test)."""
    path = (directory or prompt_dir()) / f"{name}.md"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"{path}: cannot read prompt ({exc.strerror})") from None
    prompt = parse_prompt(text, str(path))
    if prompt.name != name:
        raise PromptError(f"{path}: front-matter name '{prompt.name}' does not match the file name")
    return prompt
