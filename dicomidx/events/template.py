"""Read the event subscription filter out of an ARM template, evaluating its expressions.

Only the template functions that dicomidx's own templates (and Microsoft's sample) use are
supported: parameters, variables, concat, format, toLower, toUpper, string, guid, resourceId,
subscriptionResourceId, resourceGroup and subscription. Anything else is an error that names
the function, never a silent guess.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from dicomidx.errors import InputError

EVENT_SUBSCRIPTION_TYPE = "microsoft.eventgrid/systemtopics/eventsubscriptions"

# ARM's guid() is a version-5 UUID of the arguments joined by '-' in this namespace.
_ARM_GUID_NAMESPACE = uuid.UUID("11fb06fb-712d-4ddd-98c7-e71bbd588830")
_TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>-?\d+)|(?P<name>[A-Za-z_][\w]*)"
    r"|(?P<punct>[(),.\[\]]))"
)


def arm_guid(*parts: str) -> str:
    return str(uuid.uuid5(_ARM_GUID_NAMESPACE, "-".join(parts)))


@dataclass
class TemplateContext:
    """What deployment functions return; placeholders unless the caller knows better."""

    subscription_id: str = "00000000-0000-0000-0000-000000000000"
    resource_group: str = "resource-group"
    location: str = "westus3"
    parameters: Mapping[str, Any] = field(default_factory=dict)
    variables: Mapping[str, Any] = field(default_factory=dict)

    @property
    def resource_group_id(self) -> str:
        return f"/subscriptions/{self.subscription_id}/resourceGroups/{self.resource_group}"


def filter_from_template(
    template: object, parameters_file: object | None, *, origin: str = "template"
) -> dict[str, Any]:
    """The evaluated `properties.filter` of the template's event subscription."""
    if not isinstance(template, dict) or not isinstance(template.get("resources"), list):
        raise InputError(f"{origin}: not an ARM template (no 'resources' list)")

    subscriptions = [
        resource
        for resource in template["resources"]
        if isinstance(resource, dict)
        and str(resource.get("type", "")).lower() == EVENT_SUBSCRIPTION_TYPE
    ]
    if len(subscriptions) != 1:
        raise InputError(
            f"{origin}: expected one {EVENT_SUBSCRIPTION_TYPE} resource, found {len(subscriptions)}"
        )

    context = template_context(template, parameters_file, origin=origin)
    properties = subscriptions[0].get("properties") or {}
    return dict(evaluate(properties.get("filter") or {}, context, origin=origin))


def template_context(
    template: dict[str, Any],
    parameters_file: object | None,
    *,
    context: TemplateContext | None = None,
    origin: str = "template",
) -> TemplateContext:
    """A context holding the template's parameter values and its variables, for `evaluate`."""
    context = context or TemplateContext()
    context.parameters = _parameter_values(template, parameters_file, context, origin=origin)
    context.variables = _LazyVariables(template.get("variables") or {}, context, origin)
    return context


def evaluate(value: Any, context: TemplateContext, *, origin: str = "template") -> Any:
    """Evaluate every `[expression]` string inside a JSON value."""
    if isinstance(value, dict):
        return {
            evaluate(k, context, origin=origin): evaluate(v, context, origin=origin)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [evaluate(item, context, origin=origin) for item in value]
    if isinstance(value, str) and value.startswith("[") and value.endswith("]"):
        if value.startswith("[["):
            return value[1:]  # ARM's escape for a literal leading bracket
        return _Parser(value[1:-1], context, origin).parse()
    return value


class _LazyVariables(dict[str, Any]):
    """Variables evaluated when first used, since one may refer to another."""

    def __init__(self, raw: Mapping[str, Any], context: TemplateContext, origin: str) -> None:
        super().__init__()
        self._raw, self._context, self._origin = raw, context, origin

    def __missing__(self, name: str) -> Any:
        if name not in self._raw:
            raise InputError(f"{self._origin}: variables({name!r}) is not defined")
        value = evaluate(self._raw[name], self._context, origin=self._origin)
        self[name] = value
        return value


def _parameter_values(
    template: Mapping[str, Any],
    parameters_file: object | None,
    context: TemplateContext,
    *,
    origin: str,
) -> dict[str, Any]:
    given: Mapping[str, Any] = {}
    if parameters_file is not None:
        if not isinstance(parameters_file, dict):
            raise InputError(f"{origin}: the parameters file must be a JSON object")
        given = parameters_file.get("parameters", parameters_file)

    declared = template.get("parameters") or {}
    missing = [
        name
        for name, declaration in declared.items()
        if not (isinstance(given.get(name), dict) and "value" in given[name])
        and not (isinstance(declaration, dict) and "defaultValue" in declaration)
    ]
    if missing:
        raise InputError(
            f"{origin}: {', '.join(missing)}: no value and no default",
            hint="pass a parameters file with --parameters",
        )

    values: dict[str, Any] = {}
    context.parameters = values  # a default may refer to the parameters before it
    for name, declaration in declared.items():
        supplied = given.get(name)
        if isinstance(supplied, dict) and "value" in supplied:
            values[name] = supplied["value"]
        else:
            values[name] = evaluate(declaration["defaultValue"], context, origin=origin)
    return values


class _Parser:
    """A recursive-descent reader of one ARM expression, evaluating as it goes."""

    def __init__(self, text: str, context: TemplateContext, origin: str) -> None:
        self.tokens = self._tokenize(text, origin)
        self.position = 0
        self.context = context
        self.origin = origin
        self.text = text

    def parse(self) -> Any:
        value = self._expression()
        if self.position != len(self.tokens):
            self._fail("unexpected text after the expression")
        return value

    def _expression(self) -> Any:
        kind, token = self._next()
        if kind == "string":
            value: Any = token[1:-1].replace("''", "'")
        elif kind == "number":
            value = int(token)
        elif kind == "name":
            value = self._call(token)
        else:
            self._fail(f"unexpected {token!r}")

        while self._peek() in (".", "["):
            if self._next()[1] == ".":
                name = self._next()
                value = _member(value, name[1], self)
            else:
                index = self._expression()
                self._expect("]")
                value = _member(value, index, self)
        return value

    def _call(self, name: str) -> Any:
        if name in ("true", "false") and self._peek() != "(":
            return name == "true"
        function = _FUNCTIONS.get(name.lower())
        if function is None:
            return self._fail(f"template function {name}() is not supported")
        self._expect("(")
        arguments = []
        if self._peek() != ")":
            arguments.append(self._expression())
            while self._peek() == ",":
                self._next()
                arguments.append(self._expression())
        self._expect(")")
        return function(self, *arguments)

    def _next(self) -> tuple[str, str]:
        if self.position >= len(self.tokens):
            self._fail("the expression ends too early")
        token = self.tokens[self.position]
        self.position += 1
        return token

    def _peek(self) -> str | None:
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def _expect(self, punct: str) -> None:
        if self._next()[1] != punct:
            self._fail(f"expected {punct!r}")

    def _fail(self, problem: str) -> Any:
        raise InputError(f"{self.origin}: cannot evaluate [{self.text}]: {problem}")

    @staticmethod
    def _tokenize(text: str, origin: str) -> list[tuple[str, str]]:
        tokens, position = [], 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None:
                raise InputError(f"{origin}: cannot read [{text}] at character {position}")
            kind = match.lastgroup or "punct"
            tokens.append((kind, match.group(kind)))
            position = match.end()
        return tokens


def _member(value: Any, name: Any, parser: _Parser) -> Any:
    try:
        return value[name]
    except (KeyError, IndexError, TypeError):
        return parser._fail(f"no member {name!r}")


def _format(parser: _Parser, template: str, *arguments: Any) -> str:
    def replace(match: re.Match[str]) -> str:
        return _text(arguments[int(match.group(1))])

    try:
        return re.sub(r"\{(\d+)\}", replace, template)
    except IndexError:
        return str(parser._fail("format() has fewer arguments than placeholders"))


def _resource_id(context: TemplateContext, scope: str, parts: tuple[Any, ...]) -> str:
    resource_type, names = parts[0], [str(p) for p in parts[1:]]
    segments = str(resource_type).split("/")
    path = f"{scope}/providers/{segments[0]}"
    for kind, name in zip(segments[1:], names, strict=False):
        path += f"/{kind}/{name}"
    return path


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    return str(value)


_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "parameters": lambda p, name: (
        p.context.parameters[name]
        if name in p.context.parameters
        else p._fail(f"parameters({name!r}) is not declared")
    ),
    "variables": lambda p, name: p.context.variables[name],
    "concat": lambda p, *args: (
        [item for arg in args for item in arg]
        if args and all(isinstance(a, list) for a in args)
        else "".join(_text(a) for a in args)
    ),
    "format": _format,
    "tolower": lambda p, value: str(value).lower(),
    "toupper": lambda p, value: str(value).upper(),
    "string": lambda p, value: _text(value),
    "guid": lambda p, *parts: arm_guid(*(str(part) for part in parts)),
    "resourcegroup": lambda p: {
        "id": p.context.resource_group_id,
        "name": p.context.resource_group,
        "location": p.context.location,
    },
    "subscription": lambda p: {
        "id": f"/subscriptions/{p.context.subscription_id}",
        "subscriptionId": p.context.subscription_id,
    },
    "resourceid": lambda p, *parts: _resource_id(p.context, p.context.resource_group_id, parts),
    "subscriptionresourceid": lambda p, *parts: _resource_id(
        p.context, f"/subscriptions/{p.context.subscription_id}", parts
    ),
}
