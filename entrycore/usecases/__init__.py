"""Application services, one per capability; each a frozen attrs class whose fields are ports."""
