"""Match HTTP requests to the template's HTTP API routes, the way API Gateway does.

API Gateway (HTTP API) picks the most specific route: a literal path beats a path with
``{param}``, which beats a greedy ``{proxy+}``; a route for the exact method beats ``ANY``;
``$default`` catches the rest. The gateway emulator needs the same choice so that a request
reaches the same function locally as in AWS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote

from template import Route


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class NoMatch:
    """No route: ``allowed`` lists methods that exist for this path (empty: unknown path)."""

    allowed: tuple[str, ...]


_PARAM = re.compile(r"^\{([A-Za-z0-9_.\-]+)(\+?)\}$")


@dataclass(frozen=True)
class _Compiled:
    route: Route
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    specificity: tuple[int, int, int]


def _compile(route: Route) -> _Compiled:
    parts: list[str] = []
    names: list[str] = []
    literal = params = greedy = 0
    for segment in route.path.strip("/").split("/") if route.path != "/" else [""]:
        found = _PARAM.match(segment)
        if found and found.group(2):
            parts.append(r"(.+)")
            names.append(found.group(1))
            greedy += 1
        elif found:
            parts.append(r"([^/]+)")
            names.append(found.group(1))
            params += 1
        else:
            parts.append(re.escape(segment))
            literal += 1
    pattern = re.compile("^/" + "/".join(parts) + "$")
    # Sort key: more literal segments first, then fewer greedy params.
    return _Compiled(route, pattern, tuple(names), (-literal, greedy, params))


class Router:
    """Finds the route for (method, raw path)."""

    def __init__(self, routes: list[Route]) -> None:
        self._default = next((r for r in routes if r.path == "$default"), None)
        compiled = [_compile(r) for r in routes if r.path != "$default"]
        self._routes = sorted(compiled, key=lambda c: c.specificity)

    def match(self, method: str, raw_path: str) -> Match | NoMatch:
        method = method.upper()
        allowed: list[str] = []
        candidates: list[tuple[tuple[int, int, int], int, Match]] = []
        for compiled in self._routes:
            found = compiled.pattern.match(raw_path)
            if not found:
                continue
            if compiled.route.method not in {method, "ANY"}:
                allowed.append(compiled.route.method)
                continue
            params = {name: unquote(value) for name, value in zip(compiled.names, found.groups())}
            exactness = 0 if compiled.route.method == method else 1
            candidates.append((compiled.specificity, exactness, Match(compiled.route, params)))
        if candidates:
            return min(candidates, key=lambda c: (c[0], c[1]))[2]
        if self._default:
            return Match(self._default, {})
        return NoMatch(tuple(sorted(set(allowed))))

    def route_keys(self) -> list[str]:
        keys = [c.route.route_key for c in self._routes]
        return keys + ([self._default.route_key] if self._default else [])
