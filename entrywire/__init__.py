"""The JSON shapes that more than one edge writes or reads, as cattrs converters (DESIGN.md, issue 23).

The domain (``entrycore``) holds typed values and no wire format. The shapes several edges must agree on live
here, one converter per family:

- ``entrywire.documents``: what the stores keep (an entry, a scoring record with its block, an audit record, an
  outbox message, a retry request): SQLite and MongoDB write and read exactly these, so a datastore moves
  between them and across versions unchanged.
- ``entrywire.answers``: what the admin edges answer (API.md §4: upload summaries, eligibility and
  registration counts, code and block results, dead letters, a fan's data export): the HTTP routes and the CLI
  print the same objects.

Each edge uses them as they are or builds its own converter on top (``documents.copy()``); nothing here does
I/O, and ``entrycore`` never imports this package (the import contracts say so).
"""
