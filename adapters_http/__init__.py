"""HTTP adapters: the Flask server (driving) and httpx clients of other services (driven)."""
