"""`newsroles serve`: the labeler behind an HTTP API and a web page (FastAPI; see app.py)."""
