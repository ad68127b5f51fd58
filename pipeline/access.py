"""Who may change Baton: viewer and operator roles, and the refusal every changing function raises.

A viewer sees every page and exports; an operator also rebuilds, imports data and chooses the
model in service. The app resolves a signed-in user's role from the `[baton.roles]` section of
`.streamlit/secrets.toml` (`Roles.from_config`); a shell (the CLI, a scheduler) acts as its OS
user with the operator role. The service functions that change something take the actor
(`by=`), refuse a viewer with `AccessDeniedError`, and record the actor's name.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Role(StrEnum):
    """What a person may do."""

    VIEWER = "viewer"
    OPERATOR = "operator"


@dataclass(frozen=True)
class Actor:
    """Who asks for an action: a signed-in user's email (or subject) or an OS user."""

    name: str
    role: Role

    @property
    def can_change(self) -> bool:
        """True for an operator: rebuild, import, choose the model."""
        return self.role is Role.OPERATOR


class AccessDeniedError(PermissionError):
    """Raised when a viewer asks for an action only an operator may take."""

    def __init__(self, actor: Actor, action: str) -> None:
        self.actor = actor
        self.action = action
        super().__init__(
            f"{actor.name} is a {actor.role}: {action} is for operators. Ask an operator, or "
            "ask whoever runs Baton to list you under operators in [baton.roles] "
            "(docs/sign-in.md)."
        )


class RolesConfigError(ValueError):
    """Raised when the `[baton.roles]` settings cannot be read; the message says what is wrong."""


def os_user() -> str:
    """The OS user running this process (what a shell operator is)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no USER variable and no passwd entry (some containers)
        return f"uid {os.getuid()}"


def shell_user() -> Actor:
    """The actor of the CLI and of a scheduler: the OS user, an operator."""
    return Actor(os_user(), Role.OPERATOR)


def require_operator(by: Actor | None, action: str) -> Actor:
    """The actor to record (None means this process's OS user); raise if it is a viewer."""
    actor = shell_user() if by is None else by
    if not actor.can_change:
        raise AccessDeniedError(actor, action)
    return actor


def _entries(config: Mapping[str, Any], key: str) -> tuple[str, ...] | None:
    """A list of emails / @domains / "*" under `key`, lowercased; None when the key is absent."""
    if key not in config:
        return None
    value = config[key]
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable) or not all(isinstance(item, str) for item in value):
        raise RolesConfigError(
            f"[baton.roles] {key} must be a list of emails or @domains, e.g. "
            f'{key} = ["ana@example.com", "@example.com"]; got {value!r}.'
        )
    entries = tuple(item.strip().lower() for item in value if item.strip())
    for entry in entries:
        if entry != "*" and "@" not in entry:
            raise RolesConfigError(
                f"[baton.roles] {key}: {entry!r} is neither an email (ana@example.com), "
                'a domain (@example.com) nor "*".'
            )
    return entries


def _matches(email: str, entry: str) -> bool:
    """An email against one entry: the same email, its whole domain (@example.com), or *."""
    if entry == "*":
        return True
    if entry.startswith("@"):
        return email.rpartition("@")[2] == entry[1:]
    return email == entry


@dataclass(frozen=True)
class Roles:
    """Operators and viewers by email or @domain.

    `viewers` None (the key left out) lets everyone the sign-in provider accepts view: right
    for a company's own provider, wrong for one anyone can sign up with (then list viewers).
    Operators are always listed explicitly, and an operator may also view.
    """

    operators: tuple[str, ...] = ()
    viewers: tuple[str, ...] | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | None) -> Roles:
        """Roles from the `[baton.roles]` mapping (missing: no operators, everyone views)."""
        config = config or {}
        unknown = set(config) - {"operators", "viewers"}
        if unknown:
            raise RolesConfigError(
                f"[baton.roles] knows operators and viewers, not {', '.join(sorted(unknown))}."
            )
        return cls(
            operators=_entries(config, "operators") or (), viewers=_entries(config, "viewers")
        )

    def role_of(self, email: str | None) -> Role | None:
        """The role of a signed-in user with this (verified) email; None: not let in."""
        address = (email or "").strip().lower()
        if address and any(_matches(address, entry) for entry in self.operators):
            return Role.OPERATOR
        if self.viewers is None:
            return Role.VIEWER
        if address and any(_matches(address, entry) for entry in self.viewers):
            return Role.VIEWER
        return None
