"""Sign-in and roles in the app: the gate before any page, and who the pages act for.

Sign-in is on when `.streamlit/secrets.toml` has an `[auth]` section (Streamlit's OpenID
Connect: `st.login`, `st.user`, `st.logout`) and off otherwise, as on 127.0.0.1 by default.
Roles come from `[baton.roles]` in the same file (pipeline.access.Roles). Off, the app acts for
the OS user running it, an operator, as the CLI does. See docs/sign-in.md.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

from pipeline.access import Actor, Role, Roles, RolesConfigError, os_user

LOOPBACK = ("127.0.0.1", "localhost", "::1")
NO_SECRETS_FILE = "no-secrets-found"  # StreamlitSecretNotFoundError.error_id of a missing file


class SignInConfigError(RuntimeError):
    """The secrets file or its `[baton.roles]` cannot be read: the app shows nothing."""


def _secrets_section(name: str) -> Mapping[str, Any] | None:
    """A top-level section of the secrets; None when there is none or no secrets file."""
    try:
        if name not in st.secrets:
            return None
        section = st.secrets[name]
    except FileNotFoundError as error:  # StreamlitSecretNotFoundError: missing or unreadable
        if getattr(error, "error_id", None) == NO_SECRETS_FILE:
            return None
        # Fail closed: a secrets file that does not parse must not turn sign-in off.
        raise SignInConfigError(str(error)) from None
    if not isinstance(section, Mapping):
        raise SignInConfigError(f"[{name}] in secrets.toml must be a table, not {section!r}.")
    return section


def sign_in_settings() -> Mapping[str, Any] | None:
    """The `[auth]` section (sign-in on), or None (sign-in off)."""
    return _secrets_section("auth")


def roles() -> Roles:
    """Operators and viewers from `[baton.roles]` (missing: no operators, everyone views)."""
    baton = _secrets_section("baton") or {}
    config = baton.get("roles")
    if config is not None and not isinstance(config, Mapping):
        raise SignInConfigError("[baton.roles] in secrets.toml must be a table.")
    try:
        return Roles.from_config(config)
    except RolesConfigError as error:
        raise SignInConfigError(str(error)) from None


def providers(auth: Mapping[str, Any]) -> list[str | None]:
    """The providers to offer: None for the default ([auth] itself), else [auth.NAME]s."""
    if "client_id" in auth:
        return [None]
    return [name for name, value in auth.items() if isinstance(value, Mapping)]


def _email() -> str | None:
    """The signed-in user's email, unless the provider says it is not verified."""
    email = st.user.get("email")
    if not isinstance(email, str) or st.user.get("email_verified") is False:
        return None
    return email


def _identity() -> str:
    """What to call the signed-in user in records and on screen."""
    return _email() or str(st.user.get("email") or st.user.get("sub") or "unknown user")


def current_actor() -> Actor | None:
    """Who the app acts for in this session; None for nobody (not signed in, or not let in)."""
    if sign_in_settings() is None:
        return Actor(os_user(), Role.OPERATOR)
    if not st.user.get("is_logged_in"):
        return None
    role = roles().role_of(_email())
    return None if role is None else Actor(_identity(), role)


def acting_user() -> Actor:
    """The actor of a page (the gate already stopped anyone who is not let in)."""
    actor = current_actor()
    if actor is None:  # a page run without the gate (it always runs first): act as nobody
        st.stop()
    assert actor is not None
    return actor


def gate() -> Actor:
    """Show the sign-in screen and stop unless the session may see Baton; return who it is.

    Runs in app.py before the navigation and the sidebar, so a request that is not signed in
    gets no page, no sidebar facts and no data.
    """
    try:
        auth = sign_in_settings()
        actor = current_actor()
    except SignInConfigError as error:
        st.error(f"Baton's sign-in settings could not be read, so it shows nothing: {error}")
        st.stop()
    if auth is None:
        _warn_if_shared_without_sign_in()
        assert actor is not None
        return actor
    if not st.user.get("is_logged_in"):
        _sign_in_screen(auth)
        st.stop()
    if actor is None:
        st.title("Baton")
        st.warning(
            f"{_identity()} is signed in but may not open Baton. Ask whoever runs it to add "
            "you to the viewers."
        )
        st.button("Sign out", on_click=st.logout)
        st.stop()
    with st.sidebar:
        st.markdown(f"Signed in as **{actor.name}** ({actor.role})")
        st.button("Sign out", icon=":material/logout:", on_click=st.logout)
    return actor


def _sign_in_screen(auth: Mapping[str, Any]) -> None:
    """Only a sentence and the sign-in buttons: nothing about customers or builds."""
    st.title("Baton")
    st.markdown("Sign in to see which customers are about to leave and why.")
    for provider in providers(auth):
        label = "Sign in" if provider is None else f"Sign in with {provider}"
        if st.button(label, type="primary", icon=":material/login:", key=f"login-{provider}"):
            st.login(provider)


def _warn_if_shared_without_sign_in() -> None:
    """Sign-in off is for this machine only: say so when the app listens beyond it."""
    address = st.get_option("server.address")
    if address in LOOPBACK:
        return
    where = address or "every network interface"
    st.sidebar.warning(
        f"Sign-in is off and Baton listens on {where}: anyone who reaches it sees customers "
        "and can rebuild. Configure sign-in (docs/sign-in.md) or serve on 127.0.0.1.",
        icon=":material/lock_open:",
    )


def operators_only(actor: Actor, what: str) -> None:
    """One sentence for a viewer where the operators' buttons are."""
    if not actor.can_change:
        st.caption(
            f"{what} is for operators; you are signed in as {actor.name}, a viewer.",
        )
