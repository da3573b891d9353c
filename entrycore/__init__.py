"""entrycore: the rules of fan registration, free of any I/O library.

Other services may import this package directly: models (``entrycore.model``), rule modules
(``phones``, ``fields``, ``markets``, ``gates``, ``referrals``), ports (``entrycore.ports``) and the
application services in ``entrycore.usecases``.
"""

__version__ = "0.1.0"
