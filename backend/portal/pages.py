"""The start page at ``/``, the documentation as plain text under ``/docs``, and the GraphiQL page."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
from litestar import Controller, MediaType, Request, Response, get
from litestar.exceptions import NotFoundException
from strawberry.litestar.controller import GraphQLController

from backend.api.auth import services_of
from backend.portal import assets


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(assets.TEMPLATES_DIR),
        autoescape=jinja2.select_autoescape(default=True),
        undefined=jinja2.StrictUndefined,
    )


def render(template: str, **context: Any) -> str:
    return _templates().get_template(template).render(assets=assets, **context)


@dataclass(frozen=True, slots=True)
class DocPage:
    path: str  # relative to docs/, e.g. "operations/running.md"
    title: str


def doc_pages() -> list[DocPage]:
    """Every page under docs/, titled by its first heading, the index and quickstart first."""
    pages = []
    for file in sorted(assets.DOCS_DIR.rglob("*.md")):
        first = next((line for line in file.read_text(encoding="utf-8").splitlines() if line.startswith("#")), "")
        pages.append(DocPage(file.relative_to(assets.DOCS_DIR).as_posix(), first.lstrip("# ").strip() or file.stem))
    first = {"README.md": 0, "quickstart.md": 1}
    return sorted(pages, key=lambda p: (first.get(p.path, 2), p.path))


class PortalController(Controller):
    include_in_schema = False

    @get("/", operation_id="StartPage", media_type="text/html")
    async def start(self, request: Request[Any, Any, Any]) -> str:
        """What this server is, and where to go from here."""
        settings = services_of(request).settings
        return render(
            "start.html",
            settings=settings,
            docs=doc_pages(),
            demo_logins=settings.demo_logins,
            graphiql=settings.wants_graphql_ide,
        )

    @get("/docs/{path:path}", operation_id="DocPage")
    async def doc(self, path: str) -> Response[str]:
        """One page of the documentation, as the Markdown it is written in."""
        root = assets.DOCS_DIR.resolve()
        file = (root / path.lstrip("/")).resolve()
        if file.suffix != ".md" or not file.is_relative_to(root) or not file.is_file():
            raise NotFoundException("no such page in the documentation")
        return Response(file.read_text(encoding="utf-8"), media_type=MediaType.TEXT)


def with_local_graphiql(controller: type[GraphQLController]) -> type[GraphQLController]:
    """The GraphQL controller with a GraphiQL page that loads its scripts from this server."""

    class LocalGraphiQL(controller):  # type: ignore[valid-type,misc]
        @property
        def graphql_ide_html(self) -> str:
            return _graphiql_html()

    return LocalGraphiQL


@lru_cache(maxsize=1)
def _graphiql_html() -> str:
    return render("graphiql.html")
