"""The HTTP/WebSocket API of `safecity serve`: `safecity.api.app.create_api(node)`.

The API depends on the domain, never the reverse (tests/unit/test_layering.py); FastAPI is imported only
by the modules that serve HTTP.
"""
