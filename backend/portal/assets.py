"""Where the browser pages find their files: templates, the server's own static assets, the docs.

GraphiQL and Swagger UI come from ``frontend-templates/static/vendor`` (see the README there),
never from a CDN, so they work on networks without internet access. This module is the one place
that names the vendored versions.
"""

from __future__ import annotations

from pathlib import Path

from litestar.datastructures import CacheControlHeader
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin, YamlRenderPlugin
from litestar.router import Router
from litestar.static_files import create_static_files_router

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES_DIR = ROOT / "frontend-templates"
STATIC_DIR = TEMPLATES_DIR / "static"
DOCS_DIR = ROOT / "docs"

STATIC_URL = "/static"
VENDOR_URL = f"{STATIC_URL}/vendor"
REACT_JS = f"{VENDOR_URL}/react-18.2.0/react.production.min.js"
REACT_DOM_JS = f"{VENDOR_URL}/react-dom-18.2.0/react-dom.production.min.js"
GRAPHIQL_JS = f"{VENDOR_URL}/graphiql-3.8.3/graphiql.min.js"
GRAPHIQL_CSS = f"{VENDOR_URL}/graphiql-3.8.3/graphiql.min.css"
SWAGGER_DIR = f"{VENDOR_URL}/swagger-ui-dist-5.35.0"
FAVICON = f"{STATIC_URL}/cbamx/favicon.svg"

OPENAPI_PATH = "/openapi"


def static_router() -> Router:
    """The static files under ``/static``; vendored folders carry their version, so caching is safe."""
    return create_static_files_router(
        path=STATIC_URL,
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=3600, public=True),
        include_in_schema=False,
    )


def openapi_config(*, title: str, version: str) -> OpenAPIConfig:
    """The OpenAPI document at ``/openapi/openapi.json`` and Swagger UI at ``/openapi``, from local assets."""
    return OpenAPIConfig(
        title=title,
        version=version,
        path=OPENAPI_PATH,
        render_plugins=[
            SwaggerRenderPlugin(
                js_url=f"{SWAGGER_DIR}/swagger-ui-bundle.js",
                css_url=f"{SWAGGER_DIR}/swagger-ui.css",
                standalone_preset_js_url=f"{SWAGGER_DIR}/swagger-ui-standalone-preset.js",
                path=["/", "/swagger"],
                favicon=f'<link rel="icon" type="image/svg+xml" href="{FAVICON}">',
            ),
            JsonRenderPlugin(),
            YamlRenderPlugin(),
        ],
    )
