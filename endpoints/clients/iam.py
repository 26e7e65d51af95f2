"""IAM service-account tokens (client_credentials)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from endpoints.clients import http
from endpoints.clients.errors import PlatformError, error_from_response


@dataclass(frozen=True)
class IamToken:
    access_token: str = field(repr=False)
    expires_in: int
    expires_at: datetime
    token_type: str = "Bearer"  # noqa: S105 (a scheme name, not a secret)

    def seconds_left(self, now: datetime | None = None) -> float:
        return (self.expires_at - (now or datetime.now(tz=UTC))).total_seconds()


@sensitive_variables("client_secret", "basic")
def mint_token(
    *,
    client_id: str,
    client_secret: str,
    token_url: str | None = None,
    timeout: float | None = None,
) -> IamToken:
    """Mint a fresh token. There is no refresh token for client_credentials: mint again."""
    # Reference: SEEN (vngcloud-api.md §5.1): POST .../accounts-api/v2/auth/token with
    # `Authorization: Basic base64(id:secret)` (body secrets are not honoured) and the JSON body
    # `{"grant_type":"client_credentials","scope":"email"}`; the reply's `expires_in` is the TTL
    # (1800 in examples, 7200 in one field list: never hard-coded). Errors SEEN in §5.3:
    # AUTHENTICATION_FAILED -> AuthenticationFailed, TOO_MANY_FAILED_LOGINS -> AccountLocked.
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    issued_at = datetime.now(tz=UTC)
    response = http.request(
        "POST",
        token_url or settings.AIPLATFORM_IAM_TOKEN_URL,
        headers={
            "Authorization": f"Basic {basic}",
            "Content-Type": "application/json",
            "Accept": "application/json",
        },
        json={"grant_type": "client_credentials", "scope": "email"},
        timeout=timeout,
    )
    if not response.ok:
        raise error_from_response(response)
    try:
        body = response.json()
        access_token = body["access_token"]
        expires_in = int(body["expires_in"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PlatformError(
            "IAM answered without access_token/expires_in.", status_code=response.status_code
        ) from exc
    return IamToken(
        access_token=access_token,
        expires_in=expires_in,
        # Measured from before the request, so the token never outlives our idea of it.
        expires_at=issued_at + timedelta(seconds=expires_in),
        token_type=body.get("token_type", "Bearer"),
    )
