"""One signed-in connection to Azure Resource Manager, and how its failures read.

`ArmSession` builds the management clients (azure-mgmt-storage, -eventgrid, -authorization)
and a raw ARM pipeline for calls the SDKs cannot make, all pointed at one endpoint with one
credential and token scope. `arm_errors` turns azure-core exceptions into dicomidx's tree,
naming the role the caller lacks and where. Tokens never appear in a message.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Protocol
from urllib.parse import urlsplit

from azure.core.exceptions import (
    ClientAuthenticationError,
    HttpResponseError,
    ServiceRequestError,
    ServiceResponseError,
)

from dicomidx import __version__
from dicomidx.cloud.clouds import CLOUDS, Cloud, CloudName
from dicomidx.errors import (
    AuthenticationError,
    AzureServiceError,
    ConfigurationError,
    PermissionDeniedError,
    UnreachableError,
)
from dicomidx.settings import Settings

log = logging.getLogger(__name__)

_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
_WRONG_SUBSCRIPTION_CODES = ("SubscriptionNotFound", "InvalidAuthenticationTokenTenant")
_CONTAINER_MISSING_CODES = ("SubscriptionNotFound", "ResourceGroupNotFound")


class Progress(Protocol):
    """Where provisioning reports what it does; the CLI draws it on stderr."""

    def done(self, text: str) -> None: ...

    def waiting(self, text: str) -> AbstractContextManager[Callable[[str], None]]: ...


class QuietProgress:
    def done(self, text: str) -> None:
        log.info("%s", text)

    def waiting(self, text: str) -> AbstractContextManager[Callable[[str], None]]:
        return nullcontext(lambda _: None)


@dataclass(frozen=True)
class WaitPolicy:
    """Exponential backoff for waiting on Azure: first delay, ceiling, and when to give up."""

    first_delay: float = 2.0
    max_delay: float = 30.0
    timeout: float = 600.0


def wait_until(
    check: Callable[[], bool], *, what: str, policy: WaitPolicy, progress: Progress
) -> bool:
    """Call `check` with growing pauses until it is true (True) or the timeout passes (False)."""
    started = time.monotonic()
    delay = policy.first_delay
    with progress.waiting(f"waiting until {what}") as update:
        while not check():
            elapsed = time.monotonic() - started
            if elapsed + delay > policy.timeout:
                return False
            update(f"waiting until {what} ({elapsed:.0f}s, next check in {delay:.0f}s)")
            time.sleep(delay)
            delay = min(delay * 2, policy.max_delay)
    return True


class ArmSession:
    """The clients for one subscription, pointed at one ARM endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        cloud: CloudName = CloudName.PUBLIC,
        endpoint: str | None = None,
        credential: Any = None,
        progress: Progress | None = None,
        wait: WaitPolicy | None = None,
    ) -> None:
        settings.require("subscription", "resource_group", "storage_account")
        self.settings = settings
        self.cloud: Cloud = CLOUDS[cloud]
        self.endpoint = (endpoint or self.cloud.arm_endpoint).rstrip("/")
        self.credential = credential or _default_credential(self.cloud)
        self.progress: Progress = progress or QuietProgress()
        self.wait = wait or WaitPolicy()
        # Only a loopback emulator may receive a bearer token over plain http.
        self.call_options: dict[str, Any] = (
            {"enforce_https": False} if _is_loopback_http(self.endpoint) else {}
        )

    @property
    def subscription(self) -> str:
        return str(self.settings.subscription)

    @property
    def resource_group(self) -> str:
        return str(self.settings.resource_group)

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.endpoint,
            "credential_scopes": [self.cloud.token_scope],
            "user_agent": f"dicomidx/{__version__}",
        }

    @cached_property
    def storage(self) -> Any:
        from azure.mgmt.storage import StorageManagementClient

        from dicomidx.provision.desired import QUEUE_API_VERSION

        return StorageManagementClient(
            self.credential,
            self.subscription,
            api_version=QUEUE_API_VERSION,
            **self._client_options(),
        )

    @cached_property
    def eventgrid(self) -> Any:
        from azure.mgmt.eventgrid import EventGridManagementClient

        from dicomidx.provision.desired import EVENT_GRID_API_VERSION

        return EventGridManagementClient(
            self.credential,
            self.subscription,
            api_version=EVENT_GRID_API_VERSION,
            **self._client_options(),
        )

    @cached_property
    def authorization(self) -> Any:
        from azure.mgmt.authorization import AuthorizationManagementClient

        return AuthorizationManagementClient(
            self.credential, self.subscription, **self._client_options()
        )

    @cached_property
    def _pipeline(self) -> Any:
        from azure.core.pipeline import policies
        from azure.mgmt.core import ARMPipelineClient
        from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy

        return ARMPipelineClient(
            base_url=self.endpoint,
            policies=[
                policies.RequestIdPolicy(),
                policies.HeadersPolicy(),
                policies.UserAgentPolicy(f"dicomidx/{__version__}"),
                policies.RetryPolicy(),
                ARMChallengeAuthenticationPolicy(self.credential, self.cloud.token_scope),
                policies.HttpLoggingPolicy(),
            ],
        )

    def send(
        self, method: str, url: str, *, api_version: str | None = None, body: Any = None
    ) -> RawResponse:
        """A raw ARM call; `url` is a path under the endpoint or an absolute polling URL."""
        from azure.core.rest import HttpRequest

        if url.startswith("/"):
            url = self.endpoint + url
        params = {"api-version": api_version} if api_version else None
        request = HttpRequest(method, url, params=params, json=body)
        response = self._pipeline.send_request(request, **self.call_options)

        text = response.text()
        raw = RawResponse(response.status_code, json.loads(text) if text else {}, response.headers)
        if response.status_code >= 400:
            raise HttpResponseError(response=response)
        return raw


@dataclass(frozen=True)
class RawResponse:
    status: int
    body: Any
    headers: Any


def read_or_none(call: Callable[[], Any]) -> Any:
    """A GET's JSON body, or None when the resource is not there.

    A 404 for the subscription or resource group itself is an error, not an absent resource.
    """
    try:
        return call()
    except HttpResponseError as error:
        if error.status_code == 404 and error_code(error) not in _CONTAINER_MISSING_CODES:
            return None
        raise


def raw_json(pipeline_response: Any, _deserialized: Any, _headers: Any) -> Any:
    """`cls=` for SDK calls: the response's JSON exactly as ARM sent it."""
    return pipeline_response.http_response.json()


def json_body(body: Any) -> Any:
    """A body for an SDK write, sent as given: the SDK models would drop unknown fields."""
    import io

    return io.BytesIO(json.dumps(body).encode("utf-8"))


@contextmanager
def arm_errors(action: str, *, needs: str | None = None) -> Iterator[None]:
    """Raise dicomidx errors for what Azure answered while doing `action`.

    `needs` names the role and scope that would have allowed it, for a 403.
    """
    try:
        yield
    except ClientAuthenticationError as error:
        raise AuthenticationError(
            f"{action}: not signed in to Azure, or the sign-in has expired",
            hint="run `az login` (or set up a managed identity or AZURE_CLIENT_ID, "
            "AZURE_TENANT_ID and AZURE_CLIENT_SECRET), then run the command again",
        ) from error
    except HttpResponseError as error:
        raise translate(error, action, needs=needs) from error
    except (ServiceRequestError, ServiceResponseError) as error:
        raise UnreachableError(
            f"{action}: Azure Resource Manager could not be reached ({type(error).__name__})",
            hint="check the network, a proxy (HTTPS_PROXY) and --cloud",
        ) from error


def error_code(error: HttpResponseError) -> str | None:
    if error.error is not None and error.error.code:
        return str(error.error.code)
    try:
        body = json.loads(error.response.text()) if error.response is not None else {}
    except ValueError:
        return None
    inner = body.get("error", body) if isinstance(body, dict) else {}
    code = inner.get("code") if isinstance(inner, dict) else None
    return str(code) if code else None


def translate(error: HttpResponseError, action: str, *, needs: str | None = None) -> Exception:
    code = error_code(error)
    status = error.status_code
    detail = error.error.message if error.error is not None and error.error.message else ""

    if code in _WRONG_SUBSCRIPTION_CODES:
        return ConfigurationError(
            f"{action}: the subscription is not visible to the signed-in account ({code})",
            hint="check --subscription, or sign in to the tenant that holds it "
            "(az login --tenant <tenant>)",
        )
    if code == "ResourceGroupNotFound":
        return ConfigurationError(f"{action}: {detail or 'the resource group does not exist'}")
    if status == 403:
        return PermissionDeniedError(
            f"{action}: permission denied ({code or 'Forbidden'})",
            status=status,
            code=code,
            hint=f"the signed-in account needs {needs}" if needs else None,
        )
    return AzureServiceError(
        f"{action}: Azure answered {status} {code or ''}{': ' + detail if detail else ''}",
        status=status,
        code=code,
    )


def _default_credential(cloud: Cloud) -> Any:
    from azure.identity import DefaultAzureCredential

    return DefaultAzureCredential(authority=cloud.authority)


def _is_loopback_http(endpoint: str) -> bool:
    parts = urlsplit(endpoint)
    return parts.scheme == "http" and (parts.hostname or "") in _LOOPBACK_HOSTS
