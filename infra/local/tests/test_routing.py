"""Route selection follows API Gateway's precedence."""

from __future__ import annotations

from routing import Match, NoMatch, Router
from template import Route


def r(method: str, path: str, binary: str = "fn") -> Route:
    return Route(method, path, binary.title(), binary)


ROUTER = Router(
    [
        r("GET", "/v1/health", "health"),
        r("GET", "/v1/users", "account"),
        r("DELETE", "/v1/users", "account"),
        r("GET", "/v1/users/{id}", "by-id"),
        r("ANY", "/v1/users/me", "me"),
        r("GET", "/v1/files/{path+}", "files"),
        r("POST", "/v1/files/upload", "upload"),
    ]
)


def test_literal_match() -> None:
    found = ROUTER.match("GET", "/v1/health")
    assert isinstance(found, Match) and found.route.binary == "health" and found.path_parameters == {}


def test_literal_beats_parameter_even_with_any() -> None:
    found = ROUTER.match("GET", "/v1/users/me")
    assert isinstance(found, Match) and found.route.binary == "me"


def test_parameters_are_decoded() -> None:
    found = ROUTER.match("GET", "/v1/users/a%20b")
    assert isinstance(found, Match) and found.route.binary == "by-id"
    assert found.path_parameters == {"id": "a b"}


def test_greedy_parameter() -> None:
    found = ROUTER.match("GET", "/v1/files/a/b/c.txt")
    assert isinstance(found, Match) and found.path_parameters == {"path": "a/b/c.txt"}


def test_wrong_method_lists_allowed_methods() -> None:
    found = ROUTER.match("POST", "/v1/users")
    assert found == NoMatch(("DELETE", "GET"))


def test_unknown_path() -> None:
    assert ROUTER.match("GET", "/v1/nope") == NoMatch(())
    assert ROUTER.match("GET", "/v1/health/") == NoMatch(())  # no trailing-slash folding


def test_default_route_catches_the_rest() -> None:
    router = Router([r("GET", "/v1/health", "health"), Route("ANY", "$default", "Fallback", "fallback")])
    found = router.match("PUT", "/anything")
    assert isinstance(found, Match) and found.route.binary == "fallback" and found.route.route_key == "$default"
