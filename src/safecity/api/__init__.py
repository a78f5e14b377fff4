"""The HTTP/WebSocket API of `safecity serve`: `safecity.api.app.create_api(node)`.

Import-light on purpose: `config/models.py` imports `safecity.api.settings`, and the migrations import
`safecity.api.camera_store`; FastAPI is imported only by the modules that serve HTTP.
"""
