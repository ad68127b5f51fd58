"""A real OpenID Connect provider on 127.0.0.1 for the sign-in tests.

Built from Authlib's server components (`authlib.oauth2` authorization code grant with PKCE,
`authlib.oidc.core` ID tokens) in a small Flask app: discovery, JWKS, an authorization
endpoint whose login form has one button per test user, a token endpoint and userinfo. ID
tokens are RS256-signed with a key made at start-up, so Streamlit's client (Authlib) checks
signatures, issuer, audience and nonce exactly as against a company's provider.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from html import escape
from typing import Any, ClassVar

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import AuthorizationCodeMixin, OpenIDCode, UserInfo
from authlib.oidc.discovery import OpenIDProviderMetadata
from flask import Flask, jsonify, request
from joserfc.jwk import KeySet, RSAKey
from werkzeug.serving import BaseWSGIServer, make_server

SCOPES = ("openid", "email", "profile")
TOKEN_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


@dataclass(frozen=True)
class User:
    """A person the provider can sign in."""

    sub: str
    email: str
    name: str


@dataclass(frozen=True)
class Client(ClientMixin):  # type: ignore[misc]
    """The one registered client: the Baton app under test."""

    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method in TOKEN_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class Code(AuthorizationCodeMixin):  # type: ignore[misc]
    """An issued authorization code, kept until the client redeems it."""

    code: str
    client_id: str
    redirect_uri: str
    scope: str
    user: User
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time


class Provider:
    """The provider's state: its signing key, the client, users, codes and tokens."""

    def __init__(self, users: list[User], client: Client) -> None:
        self.users = {user.email: user for user in users}
        self.client = client
        self.key = RSAKey.generate_key(2048, parameters={"kid": "baton-test", "use": "sig"})
        self.codes: dict[str, Code] = {}
        self.tokens: dict[str, User] = {}
        self.issuer = ""  # set once the server has its port
        self.sign_ins: list[str] = []  # emails, in the order they signed in


def _authorization_code_grant(provider: Provider) -> type[grants.AuthorizationCodeGrant]:
    class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
        TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(TOKEN_AUTH_METHODS)

        def save_authorization_code(self, code: str, req: Any) -> None:
            data = req.payload.data
            provider.codes[code] = Code(
                code=code,
                client_id=req.client.get_client_id(),
                redirect_uri=req.payload.redirect_uri,
                scope=req.scope,
                user=req.user,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
            )

        def query_authorization_code(self, code: str, client: Client) -> Code | None:
            found = provider.codes.get(code)
            return found if found and found.client_id == client.get_client_id() else None

        def delete_authorization_code(self, authorization_code: Code) -> None:
            provider.codes.pop(authorization_code.code, None)

        def authenticate_user(self, authorization_code: Code) -> User:
            return authorization_code.user

    return CodeGrant


def _id_token(provider: Provider) -> OpenIDCode:
    class IdToken(OpenIDCode):  # type: ignore[misc]
        def exists_nonce(self, nonce: str, req: Any) -> bool:
            return any(code.nonce == nonce for code in provider.codes.values())

        def resolve_client_private_key(self, client: Client) -> RSAKey:
            return provider.key

        def get_client_algorithm(self, client: Client) -> str:
            return "RS256"

        def get_encode_header(self, client: Client) -> dict[str, str]:
            return {"alg": "RS256", "kid": str(provider.key.kid)}

        def get_client_claims(self, client: Client) -> dict[str, Any]:
            return {"iss": provider.issuer, "aud": [client.get_client_id()]}

        def generate_user_info(self, user: User, scope: str) -> UserInfo:
            claims = UserInfo(sub=user.sub, name=user.name, email=user.email, email_verified=True)
            return claims.filter(scope)

    return IdToken(require_nonce=True)


def _login_form(provider: Provider) -> str:
    """The provider's own page: one button per user (the test clicks one)."""
    buttons = "".join(
        f'<p><button type="submit" name="email" value="{escape(user.email)}">'
        f"Sign in as {escape(user.email)}</button></p>"
        for user in provider.users.values()
    )
    return (
        "<!doctype html><html><head><title>Test provider</title></head><body>"
        f'<h1>Test provider</h1><form method="post">{buttons}'
        '<p><button type="submit" name="deny" value="1">Deny</button></p></form></body></html>'
    )


def create_app(provider: Provider) -> Flask:
    """The Flask app serving the provider's endpoints."""
    app = Flask("baton-test-oidc-provider")
    server = AuthorizationServer(
        app,
        query_client=lambda client_id: (
            provider.client if client_id == provider.client.client_id else None
        ),
        save_token=lambda token, req: provider.tokens.__setitem__(token["access_token"], req.user),
    )
    server.register_grant(
        _authorization_code_grant(provider), [_id_token(provider), CodeChallenge(required=True)]
    )

    @app.get("/.well-known/openid-configuration")
    def discovery() -> Any:
        metadata = OpenIDProviderMetadata(
            issuer=provider.issuer,
            authorization_endpoint=f"{provider.issuer}/authorize",
            token_endpoint=f"{provider.issuer}/token",
            userinfo_endpoint=f"{provider.issuer}/userinfo",
            jwks_uri=f"{provider.issuer}/jwks",
            scopes_supported=list(SCOPES),
            response_types_supported=["code"],
            grant_types_supported=["authorization_code"],
            subject_types_supported=["public"],
            id_token_signing_alg_values_supported=["RS256"],
            token_endpoint_auth_methods_supported=list(TOKEN_AUTH_METHODS),
            code_challenge_methods_supported=["S256"],
            claims_supported=["sub", "iss", "aud", "name", "email", "email_verified"],
        )
        metadata.validate()
        return jsonify(dict(metadata))

    @app.get("/jwks")
    def jwks() -> Any:
        return jsonify(KeySet([provider.key]).as_dict(private=False))

    @app.route("/authorize", methods=["GET", "POST"])
    def authorize() -> Any:
        try:
            grant = server.get_consent_grant(end_user=None)
        except OAuth2Error as error:
            return jsonify(dict(error.get_body())), 400
        if request.method == "GET":
            return _login_form(provider)
        user = None if request.form.get("deny") else provider.users.get(request.form["email"])
        if user is not None:
            provider.sign_ins.append(user.email)
        return server.create_authorization_response(grant=grant, grant_user=user)

    @app.post("/token")
    def token() -> Any:
        return server.create_token_response()

    @app.get("/userinfo")
    def userinfo() -> Any:
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        user = provider.tokens.get(bearer)
        if user is None:
            return jsonify({"error": "invalid_token"}), 401
        return jsonify({"sub": user.sub, "name": user.name, "email": user.email})

    return app


@dataclass
class RunningProvider:
    """A provider serving on 127.0.0.1 in a thread of the test process."""

    provider: Provider
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def issuer(self) -> str:
        return self.provider.issuer

    @property
    def metadata_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)


def start(users: list[User], redirect_uri: str, client_id: str = "baton") -> RunningProvider:
    """Serve a provider on a free port of 127.0.0.1 for one client and its redirect URI."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    client = Client(client_id, secrets.token_urlsafe(24), (redirect_uri,))
    provider = Provider(users, client)
    server = make_server("127.0.0.1", 0, create_app(provider), threaded=True)
    provider.issuer = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, name="oidc-provider", daemon=True)
    thread.start()
    return RunningProvider(provider, server, thread)
