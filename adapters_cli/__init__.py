"""The ``entry-service`` command line (Click)."""
