"""Embedded adapters on local files: campaign and user sources (JSON), JSONL event and receipt sinks."""
