"""``tokenplan serve``: an OpenAI-compatible proxy with routing, fallback, cost headers, auth
and per-key budgets (``docs/proxy.md``).

    from tokenplan.proxy import create_app
    app = create_app(runtime)          # an ASGI app; serve it with uvicorn
"""

from __future__ import annotations

from tokenplan.proxy.app import ProxyApp, create_app
from tokenplan.proxy.config import ProxyConfig, ProxyKey

__all__ = ["ProxyApp", "ProxyConfig", "ProxyKey", "create_app"]
