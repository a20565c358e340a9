"""An in-process stand-in for Azure Resource Manager, for exactly the resources dicomidx uses.

A plain-http server on loopback, in a thread. It keeps state (PUT, PATCH, GET, DELETE),
answers long-running writes with `Azure-AsyncOperation` and an operation that finishes on
the second poll, and can misbehave on purpose: 429 with Retry-After, 403 AuthorizationFailed,
a write that fails, 404 while a new role assignment replicates, 403
AuthorizationPermissionMismatch while a new sender role takes effect, an unregistered
provider. It also serves an App Service managed-identity token endpoint, so that
DefaultAzureCredential signs in against it for real.

Every request is recorded with its parsed JSON body, for tests to assert on.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from dicomidx.settings import Settings

TOKEN = "fake-arm-token"
IDENTITY_HEADER = "fake-identity-header"
TENANT = "72f988bf-0000-0000-0000-000000000000"
WRITE_METHODS = ("PUT", "PATCH", "POST", "DELETE")
_NAMESPACE = uuid.UUID("3b1a4f36-7d55-4c1e-9a53-4a6f2f9f2d10")

ROLE_ASSIGNMENT = "microsoft.authorization/roleassignments"
SENDER_ROLES = ("c6a89b2d-59bc-44d0-9896-0f6e12d7b80a", "974c5e8b-45b9-4653-ba55-5f855dd0fb88")
EVENT_GRID = "microsoft.eventgrid"


def principal_for(resource_id: str) -> str:
    """The principal id the fake gives a resource's (or a user identity's) identity."""
    return str(uuid.uuid5(_NAMESPACE, resource_id.lower()))


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS and not self.path.startswith("/operations/")


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str = "", headers: Any = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message or code
        self.headers = headers or {}


@dataclass
class FakeArm:
    subscription: str
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    providers: dict[str, str] = field(default_factory=lambda: {EVENT_GRID: "Registered"})
    token_resources: list[str] = field(default_factory=list)
    # Misbehaviour, set by tests.
    throttle: int = 0  # answer this many next requests with 429
    fail_write: int | None = None  # the n-th write from now fails once, with 400
    deny: list[tuple[str, str]] = field(default_factory=list)  # (method, id fragment) -> 403
    replication_reads: int = 0  # 404s a new role assignment answers before it reads back
    effect_refusals: int = 0  # 403s a subscription PUT gets after its sender role is new
    stale_lists: int = 0  # role assignment lists that miss every assignment (replication)
    service_outcome: str = "Succeeded"
    _pending: dict[str, int] = field(default_factory=dict)
    _unreplicated: dict[str, int] = field(default_factory=dict)
    _operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    _writes_seen: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # Life cycle.

    def start(self) -> FakeArm:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                status, body, headers = fake.handle(
                    self.command, self.path, raw, dict(self.headers.items())
                )
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_PUT = do_PATCH = do_POST = do_DELETE = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    # What tests look at.

    def writes(self) -> list[Recorded]:
        return [r for r in self.requests if r.is_write]

    def bodies(self, method: str, path_end: str) -> list[Any]:
        """The bodies of the accepted requests whose path ends so."""
        return [
            r.body
            for r in self.requests
            if r.method == method
            and r.path.lower().endswith(path_end.lower())
            and 200 <= r.status < 300
        ]

    def get(self, resource_id: str) -> dict[str, Any] | None:
        return self.resources.get(resource_id.lower())

    # Seeding.

    def add(self, resource_id: str, body: dict[str, Any]) -> dict[str, Any]:
        copied = json.loads(json.dumps(body))  # never alias a recorded request body
        stored = {"id": resource_id, "name": resource_id.rsplit("/", 1)[-1], **copied}
        _fill_identity(stored)
        self.resources[resource_id.lower()] = stored
        return stored

    def add_storage_account(
        self, account_id: str, *, location: str = "westus3", firewall: bool = False
    ) -> None:
        acl = {"defaultAction": "Deny" if firewall else "Allow", "bypass": "AzureServices"}
        self.add(
            account_id,
            {
                "type": "Microsoft.Storage/storageAccounts",
                "location": location,
                "kind": "StorageV2",
                "properties": {"isHnsEnabled": True, "networkAcls": acl},
            },
        )

    def add_dicom_service(
        self,
        service_id: str,
        *,
        account_id: str | None,
        file_system: str = "imaging",
        identity: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        properties: dict[str, Any] = {
            "provisioningState": "Succeeded",
            "serviceUrl": "https://ws-svc.dicom.azurehealthcareapis.com",
            "authenticationConfiguration": {
                "authority": f"https://login.microsoftonline.com/{TENANT}",
                "audiences": ["https://dicom.healthcareapis.azure.com"],
            },
            "corsConfiguration": {"origins": ["https://viewer.example"], "allowCredentials": False},
            "publicNetworkAccess": "Enabled",
            "enableDataPartitions": False,
            "eventState": "Disabled",
        }
        if account_id is not None:
            properties["storageConfiguration"] = {
                "storageResourceId": account_id,
                "fileSystemName": file_system,
            }
        return self.add(
            service_id,
            {
                "type": "Microsoft.HealthcareApis/workspaces/dicomservices",
                "location": "westus3",
                "etag": '"00000000-0000-0000-0000-000000000001"',
                "tags": {"owner": "imaging-team"},
                "identity": identity or {"type": "SystemAssigned"},
                "systemData": {"createdBy": "someone@example.com"},
                "properties": properties,
            },
        )

    def add_system_topic(
        self, topic_id: str, *, source: str, identity: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "Microsoft.EventGrid/systemTopics",
            "location": "westus3",
            "properties": {
                "source": source,
                "topicType": "Microsoft.Storage.StorageAccounts",
                "provisioningState": "Succeeded",
                "metricResourceId": str(uuid.uuid4()),
            },
        }
        if identity is not None:
            body["identity"] = identity
        return self.add(topic_id, body)

    # Dispatch.

    def handle(
        self, method: str, target: str, raw: bytes, headers: dict[str, str]
    ) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(target)
        path = re.sub(r"/+", "/", parts.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        body = json.loads(raw) if raw else None
        record = Recorded(method, path, query, body)
        with self._lock:
            self.requests.append(record)
            try:
                status, answer, extra = self._route(method, path, query, body, headers)
            except ArmError as error:
                status = error.status
                answer = {"error": {"code": error.code, "message": error.message}}
                extra = error.headers
            except Exception as error:  # a bug in the fake: say so rather than hang up
                status, extra = 501, {}
                answer = {"error": {"code": "FakeArmBug", "message": repr(error)}}
        record.status = status
        return status, answer, extra

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        headers: dict[str, str],
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/msi/token":
            return self._token(query, headers)
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            raise ArmError(401, "AuthenticationFailed", "no valid bearer token")
        if self.throttle > 0:
            self.throttle -= 1
            raise ArmError(429, "TooManyRequests", "slow down", {"Retry-After": "0.05"})
        if path.startswith("/operations/"):
            return self._operation(path.rsplit("/", 1)[-1])

        match = re.match(r"/subscriptions/([^/]+)", path)
        if match is None or match.group(1).lower() != self.subscription.lower():
            raise ArmError(404, "SubscriptionNotFound", "The subscription could not be found.")
        self._check_denied(method, path)
        if method in WRITE_METHODS:
            self._count_write()
        return self._resource(method, path, query, body)

    def _token(self, query: dict[str, str], headers: dict[str, str]) -> Any:
        if headers.get("X-IDENTITY-HEADER") != IDENTITY_HEADER:
            raise ArmError(401, "Unauthorized", "bad identity header")
        self.token_resources.append(query.get("resource", ""))
        expires = str(int(time.time()) + 3600)
        token = {
            "access_token": TOKEN,
            "expires_on": expires,
            "resource": query.get("resource"),
            "token_type": "Bearer",
        }
        return 200, token, {}

    def _check_denied(self, method: str, path: str) -> None:
        for denied_method, fragment in self.deny:
            if method == denied_method and fragment.lower() in path.lower():
                raise ArmError(
                    403,
                    "AuthorizationFailed",
                    f"The client does not have authorization to perform {method} over {path}",
                )

    def _count_write(self) -> None:
        if self.fail_write is None:
            return
        self.fail_write -= 1
        if self.fail_write == 0:
            self.fail_write = None
            raise ArmError(400, "InjectedFailure", "the fake failed this write on purpose")

    def _resource(
        self, method: str, path: str, query: dict[str, str], body: Any
    ) -> tuple[int, Any, dict[str, str]]:
        lower = path.lower()
        provider = re.fullmatch(r"/subscriptions/[^/]+/providers/([^/]+)(/register)?", lower)
        if provider:
            return self._provider(provider.group(1), register=bool(provider.group(2)))
        if lower.endswith("/providers/microsoft.eventgrid/systemtopics") and method == "GET":
            return self._list(
                "microsoft.eventgrid/systemtopics", within=lower.split("/providers/")[0]
            )
        if lower.endswith("/providers/" + ROLE_ASSIGNMENT) and method == "GET":
            return self._list_assignments(path, query)
        if f"/providers/{ROLE_ASSIGNMENT}/" in lower:
            return self._assignment(method, path, body)
        if "/systemtopics/" in lower and "/eventsubscriptions/" not in lower:
            self._require_provider(EVENT_GRID, method)
            return self._topic(method, path, body)
        if "/eventsubscriptions/" in lower:
            self._require_provider(EVENT_GRID, method)
            return self._subscription(method, path, body)
        if "/dicomservices/" in lower:
            return self._dicom(method, path, query, body)
        if "/queueservices/default/queues/" in lower:
            return self._queue(method, path, body)
        if method == "GET":
            return 200, self._existing(path), {}
        raise ArmError(405, "MethodNotAllowed", f"{method} {path}")

    def _existing(self, path: str) -> dict[str, Any]:
        found = self.resources.get(path.lower())
        if found is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource '{path}' was not found.")
        return found

    # Resource types.

    def _provider(self, namespace: str, *, register: bool) -> Any:
        state = self.providers.get(namespace, "NotRegistered")
        if register:
            state = self.providers[namespace] = "Registering"
        elif state == "Registering":
            self.providers[namespace] = "Registered"  # seen once while it registers
        return 200, {"namespace": namespace, "registrationState": state}, {}

    def _require_provider(self, namespace: str, method: str) -> None:
        if method != "GET" and self.providers.get(namespace) != "Registered":
            raise ArmError(
                409,
                "MissingSubscriptionRegistration",
                f"The subscription is not registered to use namespace '{namespace}'.",
            )

    def _list(self, kind: str, *, within: str = "") -> Any:
        found = [
            r
            for r in self.resources.values()
            if str(r.get("type", "")).lower() == kind and r["id"].lower().startswith(within)
        ]
        return 200, {"value": found}, {}

    def _queue(self, method: str, path: str, body: Any) -> Any:
        account = path.lower().split("/queueservices/")[0]
        if account not in self.resources:
            raise ArmError(404, "ParentResourceNotFound", "storage account not found")
        if method == "PUT":
            stored = self.add(
                path,
                {
                    "type": "Microsoft.Storage/storageAccounts/queueServices/queues",
                    "properties": (body or {}).get("properties") or {},
                },
            )
            return 200, stored, {}
        if method == "DELETE":
            self.resources.pop(path.lower(), None)
            return 200, None, {}
        return 200, self._existing(path), {}

    def _assignment(self, method: str, path: str, body: Any) -> Any:
        scope = re.split(r"/providers/microsoft\.authorization/", path, flags=re.I)[0]
        if method == "GET":
            if self._unreplicated.get(path.lower(), 0) > 0:
                self._unreplicated[path.lower()] -= 1
                raise ArmError(404, "RoleAssignmentNotFound", "not found")
            return 200, self._existing(path), {}
        if method == "DELETE":
            self.resources.pop(path.lower(), None)
            return 200, None, {}

        properties = dict((body or {}).get("properties") or {})
        for existing in self._assignments():
            same = existing["properties"]
            if (
                same["scope"].lower() == scope.lower()
                and same["roleDefinitionId"].lower() == properties["roleDefinitionId"].lower()
                and same["principalId"] == properties["principalId"]
            ):
                raise ArmError(409, "RoleAssignmentExists", "The role assignment already exists.")
        properties["scope"] = scope
        stored = self.add(
            path, {"type": "Microsoft.Authorization/roleAssignments", "properties": properties}
        )
        self._unreplicated[path.lower()] = self.replication_reads
        if properties["roleDefinitionId"].lower().endswith(SENDER_ROLES[0]):
            self._pending[properties["principalId"]] = self.effect_refusals
        return 201, stored, {}

    def _assignments(self) -> list[dict[str, Any]]:
        return [r for r in self.resources.values() if r.get("type", "").lower() == ROLE_ASSIGNMENT]

    def _list_assignments(self, path: str, query: dict[str, str]) -> Any:
        scope = re.split(r"/providers/microsoft\.authorization/", path, flags=re.I)[0].lower()
        wanted = re.search(r"principalId eq '([^']+)'", query.get("$filter", ""))
        if self.stale_lists > 0:
            self.stale_lists -= 1
            return 200, {"value": []}, {}
        found = []
        for assignment in self._assignments():
            properties = assignment["properties"]
            at = properties["scope"].lower()
            applies = scope == at or scope.startswith(at + "/") or at.startswith(scope + "/")
            if applies and (wanted is None or properties["principalId"] == wanted.group(1)):
                found.append(assignment)
        return 200, {"value": found}, {}

    def _topic(self, method: str, path: str, body: Any) -> Any:
        if method == "GET":
            return 200, self._existing(path), {}
        if method == "DELETE":
            self.resources.pop(path.lower(), None)
            return 200, None, {}
        if method == "PATCH":
            stored = self._existing(path)
            patch = json.loads(json.dumps(body or {}))
            stored.update({k: v for k, v in patch.items() if k in ("identity", "tags")})
            _fill_identity(stored)
            return self._accepted(path)

        source = str(body["properties"]["source"]).lower()
        for topic in self._list("microsoft.eventgrid/systemtopics")[1]["value"]:
            if topic["properties"]["source"].lower() == source and topic["id"].lower() != (
                path.lower()
            ):
                raise ArmError(
                    400, "InvalidRequest", "Only one system topic is allowed per source."
                )
        properties = {**body["properties"], "provisioningState": "Succeeded"}
        self.add(
            path, {**body, "type": "Microsoft.EventGrid/systemTopics", "properties": properties}
        )
        return self._accepted(path)

    def _subscription(self, method: str, path: str, body: Any) -> Any:
        topic_path = path.lower().split("/eventsubscriptions/")[0]
        topic = self._existing(topic_path)
        if method == "GET":
            return 200, self._existing(path), {}
        if method == "DELETE":
            self.resources.pop(path.lower(), None)
            return 200, None, {}

        delivery = (body.get("properties") or {}).get("deliveryWithResourceIdentity") or {}
        principal = _delivery_principal(topic, delivery.get("identity") or {})
        if self._pending.get(principal, 0) > 0:
            self._pending[principal] -= 1
            raise ArmError(
                403,
                "AuthorizationPermissionMismatch",
                "The topic's identity is not authorized to send to the destination queue yet.",
            )
        properties = {**body["properties"], "topic": topic["id"], "provisioningState": "Succeeded"}
        self.add(
            path,
            {
                "type": "Microsoft.EventGrid/systemTopics/eventSubscriptions",
                "properties": properties,
            },
        )
        return self._accepted(path)

    def _dicom(self, method: str, path: str, query: dict[str, str], body: Any) -> Any:
        preview = query.get("api-version") == "2025-04-01-preview"
        if method == "GET":
            found = json.loads(json.dumps(self._existing(path)))
            if not preview:
                found["properties"].get("storageConfiguration", {}).pop(
                    "storageIndexingConfiguration", None
                )
            return 200, found, {}
        if method != "PUT":
            raise ArmError(405, "MethodNotAllowed", method)

        current = self._existing(path)
        kept = {k: current[k] for k in ("systemData",)}
        properties = dict(body.get("properties") or {})
        for name in ("serviceUrl", "authenticationConfiguration", "eventState"):
            properties[name] = current["properties"][name]
        properties["provisioningState"] = "Updating"
        stored = self.add(path, {**body, **kept, "properties": properties})
        return self._accepted(path, outcome=self.service_outcome, stored=stored)

    # Long-running operations.

    def _accepted(
        self, path: str, *, outcome: str = "Succeeded", stored: dict[str, Any] | None = None
    ) -> Any:
        operation = str(uuid.uuid4())
        self._operations[operation] = {"polls": 0, "outcome": outcome, "stored": stored}
        headers = {
            "Azure-AsyncOperation": f"{self.url}/operations/{operation}",
            "Retry-After": "0.01",
        }
        return 201, self.resources[path.lower()], headers

    def _operation(self, operation: str) -> Any:
        state = self._operations[operation]
        state["polls"] += 1
        if state["polls"] < 2:
            return 200, {"status": "InProgress"}, {"Retry-After": "0.01"}

        if state["stored"] is not None:
            state["stored"]["properties"]["provisioningState"] = state["outcome"]
        answer: dict[str, Any] = {"status": state["outcome"]}
        if state["outcome"] != "Succeeded":
            answer["error"] = {"code": "ServiceUpdateFailed", "message": "the update failed"}
        return 200, answer, {}


def _fill_identity(resource: dict[str, Any]) -> None:
    identity = resource.get("identity")
    if not isinstance(identity, dict):
        return
    kinds = str(identity.get("type", "")).replace(" ", "").lower().split(",")
    if "systemassigned" in kinds:
        identity["principalId"] = principal_for(resource["id"])
        identity["tenantId"] = TENANT
    for user_id in identity.get("userAssignedIdentities") or {}:
        identity["userAssignedIdentities"][user_id] = {
            "principalId": principal_for(user_id),
            "clientId": str(uuid.uuid5(_NAMESPACE, "client" + user_id)),
        }


def _delivery_principal(topic: dict[str, Any], identity: dict[str, Any]) -> str:
    if str(identity.get("type")) == "UserAssigned":
        return principal_for(str(identity.get("userAssignedIdentity")))
    return str((topic.get("identity") or {}).get("principalId"))


SUBSCRIPTION = "00000000-1111-2222-3333-444444444444"
SETTINGS = Settings(
    subscription=SUBSCRIPTION,
    resource_group="imaging-rg",
    workspace="contosows",
    dicom_service="dicomsvc",
    storage_account="contosoimaging",
    file_system="imaging",
)


def seeded_arm(settings: Settings = SETTINGS) -> FakeArm:
    """A started fake ARM holding what setup expects to find: the account and the service."""
    fake = FakeArm(str(settings.subscription)).start()
    fake.add_storage_account(settings.storage_account_id)
    fake.add_dicom_service(settings.dicom_service_id, account_id=settings.storage_account_id)
    return fake
