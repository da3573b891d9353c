"""The one naming rule of the wire shapes: a Python attribute ``date_phone_confirmed`` is ``datePhoneConfirmed``."""

from __future__ import annotations

from typing import Any

import attrs
from cattrs import Converter
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def register_camel(converter: Converter, *classes: type[Any], structure: bool = True) -> None:
    """Unstructure (and unless not ``structure``, structure) each attrs class as a dict of its attributes under
    camelCase names."""
    for cls in classes:
        renames = {a.name: override(rename=camel(a.name)) for a in attrs.fields(cls) if camel(a.name) != a.name}
        converter.register_unstructure_hook(cls, make_dict_unstructure_fn(cls, converter, **renames))  # type: ignore[arg-type]
        if structure:
            converter.register_structure_hook(cls, make_dict_structure_fn(cls, converter, **renames))  # type: ignore[arg-type]
