"""The API's reference page, rendered from its own OpenAPI schema.

FastAPI's pages (Swagger UI, ReDoc) load their scripts from a CDN; this one is plain HTML with
no script at all, so it works offline and cannot run anything it is given.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader

CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"


@lru_cache(maxsize=1)
def _env() -> Environment:
    return Environment(loader=PackageLoader("patron.api", "templates"), autoescape=True)


def _type(prop: dict[str, Any]) -> str:
    if "enum" in prop:
        return "one of: " + ", ".join(map(str, prop["enum"]))
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"] if p.get("type") != "null")
    kind = prop.get("type", "any")
    return {"date-time": "date and time (ISO 8601)", "date": "date (ISO 8601)"}.get(prop.get("format", ""), kind)


def _limits(prop: dict[str, Any]) -> str:
    parts = []
    for p in [prop, *prop.get("anyOf", [])]:
        if "minimum" in p:
            parts.append(f"at least {p['minimum']:g}")
        if "maximum" in p:
            parts.append(f"at most {p['maximum']:g}")
    return ", ".join(parts)


def fields(schema: dict[str, Any]) -> list[dict[str, str]]:
    """One row per property of an object schema: name, type, whether required, what it is."""
    required = set(schema.get("required", []))
    return [{"name": name, "type": _type(prop), "required": "yes" if name in required else "",
             "limits": _limits(prop), "description": prop.get("description", "")}
            for name, prop in schema.get("properties", {}).items()]


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for path, methods in schema.get("paths", {}).items():
        for method, op in methods.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            item = next((s for s in body.get("oneOf", [body]) if s.get("type") == "object"), None)
            out.append({
                "method": method.upper(), "path": path, "summary": op.get("summary", ""),
                "description": op.get("description", ""), "body": body.get("description", ""),
                "fields": fields(item) if item else [],
                "responses": [(code, r.get("description", "")) for code, r in op.get("responses", {}).items()],
            })
    return out


def docs_page(schema: dict[str, Any], notes: list[str]) -> str:
    """The HTML page for `schema`; `notes` are the service's limits, one sentence each."""
    info = schema.get("info", {})
    return _env().get_template("docs.html.j2").render(
        title=info.get("title", "API"), version=info.get("version", ""), operations=_operations(schema),
        notes=notes, csp=CSP)
