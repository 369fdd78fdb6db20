"""Authentication to NetSuite's REST web services (reference/erp.md 1b), as `requests` auth objects.

Token-based authentication is OAuth 1.0a with HMAC-SHA256, signed by requests-oauthlib: signing
key `consumer_secret&token_secret`, `realm` in the header but not in the signature base string.
The realm is the account id in upper case with underscores (`1234567_SB1`) while the host uses
lower case with hyphens (`1234567-sb1`); `NetSuiteAccount` derives both from either spelling.

OAuth 2.0 client credentials (machine to machine) posts a PS256 JWT assertion (PyJWT) to the
token endpoint and caches the access token until shortly before it expires; there is no refresh
token, a new one is minted. Secrets are `repr=False` and never part of an error message.
"""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

import jwt
import requests
from requests_oauthlib import OAuth1

TOKEN_PATH = "/auth/oauth2/v1/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_LIFETIME_S = 300
TOKEN_EXPIRY_MARGIN_S = 60


class NetSuiteAuthError(RuntimeError):
    """NetSuite refused the credentials; the message says which kind and why, never a secret."""


@dataclass(frozen=True)
class NetSuiteAccount:
    """A NetSuite account id in either spelling, and where its REST services live."""

    account_id: str
    # Overrides the production host, e.g. the sandbox server on 127.0.0.1.
    rest_base_url: str = ""

    @property
    def realm(self) -> str:
        return self.account_id.upper().replace("-", "_")

    @property
    def host_id(self) -> str:
        return self.account_id.lower().replace("_", "-")

    @property
    def rest_base(self) -> str:
        return (self.rest_base_url or f"https://{self.host_id}.suitetalk.api.netsuite.com/services/rest").rstrip("/")


@dataclass(frozen=True)
class TokenCredentials:
    """Token-based authentication (OAuth 1.0a): an integration record's consumer and an access token."""

    consumer_key: str = field(repr=False)
    consumer_secret: str = field(repr=False)
    token_id: str = field(repr=False)
    token_secret: str = field(repr=False)

    def auth(self, account: NetSuiteAccount) -> requests.auth.AuthBase:
        return OAuth1(
            self.consumer_key, self.consumer_secret, self.token_id, self.token_secret,
            signature_method="HMAC-SHA256", signature_type="AUTH_HEADER", realm=account.realm,
        )


@dataclass(frozen=True)
class ClientCredentials:
    """OAuth 2.0 machine-to-machine: the integration's client id and the certificate mapped to it."""

    client_id: str = field(repr=False)
    certificate_id: str
    private_key_pem: str = field(repr=False)
    scope: str = "rest_webservices"

    def auth(self, account: NetSuiteAccount) -> requests.auth.AuthBase:
        return _ClientCredentialsAuth(self, account)


class _ClientCredentialsAuth(requests.auth.AuthBase):
    def __init__(self, credentials: ClientCredentials, account: NetSuiteAccount) -> None:
        self._credentials = credentials
        self._token_url = account.rest_base + TOKEN_PATH
        self._lock = threading.Lock()
        self._token = ""
        self._expires_at = 0.0

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._access_token()}"
        return request

    def _access_token(self) -> str:
        with self._lock:
            if not self._token or time.time() >= self._expires_at:
                self._token, lifetime = self._mint()
                self._expires_at = time.time() + max(0, lifetime - TOKEN_EXPIRY_MARGIN_S)
            return self._token

    def _mint(self) -> tuple[str, int]:
        now = int(time.time())
        assertion = jwt.encode(
            {"iss": self._credentials.client_id, "scope": self._credentials.scope, "aud": self._token_url,
             "iat": now, "exp": now + ASSERTION_LIFETIME_S, "jti": str(uuid.uuid4())},
            self._credentials.private_key_pem,
            algorithm="PS256",
            headers={"kid": self._credentials.certificate_id, "typ": "JWT"},
        )
        response = requests.post(
            self._token_url,
            data={"grant_type": "client_credentials", "client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion},
            timeout=30,
        )
        if response.status_code != 200:
            try:
                reason = response.json().get("error", "")
            except ValueError:
                reason = ""
            raise NetSuiteAuthError(
                f"NetSuite refused the OAuth 2.0 client credentials (certificate {self._credentials.certificate_id}): "
                f"HTTP {response.status_code} {reason}".strip()
            )
        body = response.json()
        return body["access_token"], int(body.get("expires_in", 3600))
