"""The way in: `/`, GraphiQL and the REST reference load, and only from the server itself."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import httpx
import pytest

from backend.settings import DemoLogin

EXPECTED_TYPES = {".js": "javascript", ".css": "text/css", ".svg": "image/svg+xml"}


class Assets(HTMLParser):
    """Every URL a page makes the browser load (scripts, styles, icons, images) and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.loaded: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v for k, v in attrs if v is not None}
        if tag in ("script", "img", "iframe") and "src" in values:
            self.loaded.append(values["src"])
        elif tag == "link" and "href" in values:
            self.loaded.append(values["href"])
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])


async def page(http: httpx.AsyncClient, path: str) -> tuple[httpx.Response, Assets]:
    response = await http.get(path, headers={"Accept": "text/html"})
    assert response.status_code == 200, (path, response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("text/html")
    parser = Assets()
    parser.feed(response.text)
    return response, parser


async def assert_all_local_and_served(http: httpx.AsyncClient, path: str, assets: Assets) -> None:
    assert assets.loaded, f"{path} loads nothing: not the page expected"
    for url in assets.loaded:
        parts = urlsplit(url)
        # then: nothing comes from another host (a CDN, fonts, a favicon on GitHub)
        assert not parts.scheme and not parts.netloc, f"{path} loads {url} from outside the server"
        if url.startswith("data:"):
            continue
        response = await http.get(urljoin(f"http://testserver{path}", url))
        assert response.status_code == 200, f"{path} loads {url}: {response.status_code}"
        suffix = "." + parts.path.rsplit(".", 1)[-1]
        assert EXPECTED_TYPES[suffix] in response.headers["content-type"], (url, response.headers["content-type"])
        assert len(response.content) > 0


async def test_the_start_page_says_what_this_is_and_leads_to_the_tools(http):
    # when
    response, assets = await page(http, "/")
    # then
    text = response.text
    assert "cbamx" in text and "CBAM" in text
    for target in ("/graphql", "/openapi", "/openapi/openapi.json", "/health/ready", "/docs/quickstart.md"):
        assert target in assets.links, f"the start page does not link {target}"
    await assert_all_local_and_served(http, "/", assets)
    # and every link to this server answers
    for link in assets.links:
        if urlsplit(link).netloc or link.startswith("#"):
            continue
        linked = await http.get(link, headers={"Accept": "text/html"})
        assert linked.status_code == 200, (link, linked.status_code)


async def test_graphiql_loads_its_scripts_from_the_server(http):
    # when
    response, assets = await page(http, "/graphql")
    # then
    assert "graphiql" in response.text.lower()
    assert any(url.endswith("graphiql.min.js") for url in assets.loaded)
    assert any(url.endswith("react-dom.production.min.js") for url in assets.loaded)
    await assert_all_local_and_served(http, "/graphql", assets)


@pytest.mark.parametrize("path", ["/openapi", "/openapi/swagger"])
async def test_the_rest_reference_loads_its_scripts_from_the_server(http, path):
    # when
    response, assets = await page(http, path)
    # then
    assert "SwaggerUIBundle" in response.text and "/ingest/v1/readings" in response.text
    await assert_all_local_and_served(http, path, assets)


async def test_the_openapi_document_is_served_as_json(http):
    response = await http.get("/openapi/openapi.json")
    assert response.status_code == 200
    assert "/auth/token" in response.json()["paths"]


async def test_a_doc_page_is_served_and_nothing_outside_docs(http):
    # when
    quickstart = await http.get("/docs/quickstart.md")
    # then
    assert quickstart.status_code == 200 and quickstart.text.startswith("# Quickstart")
    assert quickstart.headers["content-type"].startswith("text/plain")
    assert (await http.get("/docs/operations/running.md")).status_code == 200
    for outside in ("/docs/../pyproject.toml", "/docs/%2e%2e/pyproject.toml", "/docs/nothing.md", "/docs/../.env"):
        assert (await http.get(outside)).status_code == 404, outside


async def test_in_demo_mode_the_start_page_lists_the_demo_logins(services):
    # given: the app as the demo (`./dev demo`) configures it
    from backend.app import create_app

    settings = services.settings.model_copy(
        update={
            "demo_logins": [
                DemoLogin(
                    email="energy@alu-sabac.example",
                    organisation="Alu Profil Šabac d.o.o.",
                    kind="exporter",
                    password="cbamx-demo-2026",
                )
            ]
        }
    )
    demo_services = dataclasses.replace(services, settings=settings)
    app = create_app(settings, services=demo_services)
    app.state.services = demo_services
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        # when
        response, _ = await page(http, "/")
    # then
    assert "energy@alu-sabac.example" in response.text and "cbamx-demo-2026" in response.text
    assert "Alu Profil Šabac" in response.text


async def test_outside_demo_mode_no_login_is_shown(http):
    response, _ = await page(http, "/")
    assert "cbamx-demo-2026" not in response.text and "@alu-sabac.example" not in response.text
