"""The REST service: a FastAPI app over any tagger ``predict`` accepts, with a web page.

``app.py`` holds the routes only; request and response shapes are in ``schemas.py``, the
batcher that gathers concurrent requests into one forward pass in ``batcher.py``, the API key
and loopback rules in ``security.py``, the access log and body limit in ``middleware.py``,
what ``GET /v1/model`` reports in ``info.py``. Needs the ``serve`` extra (fastapi, uvicorn).
"""
