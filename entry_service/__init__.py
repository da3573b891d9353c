"""Composition root: settings from the environment, wiring of adapters into use cases, the WSGI app."""

__version__ = "0.1.0"
