"""Load built-in meter profiles (YAML files next to this module)."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from pydantic import ValidationError

from connectors.profiles.model import Profile

SUNSPEC_AUTO = "sunspec"  # pseudo-profile: use whichever SunSpec meter model discovery finds


class ProfileError(ValueError):
    pass


def builtin_names() -> list[str]:
    folder = resources.files("connectors.profiles")
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


@cache
def load_builtin(name: str) -> Profile:
    if name not in builtin_names():
        raise ProfileError(f"unknown profile {name!r}; built-in profiles: {', '.join(builtin_names())}")
    text = resources.files("connectors.profiles").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return parse_profile(text, origin=f"{name}.yaml")


def parse_profile(text: str, origin: str = "<profile>") -> Profile:
    try:
        return Profile.model_validate(yaml.safe_load(text))
    except ValidationError as exc:
        raise ProfileError(f"{origin}: {exc}") from exc


def sunspec_profiles() -> dict[int, Profile]:
    """Built-in SunSpec meter profiles keyed by model id."""
    found: dict[int, Profile] = {}
    for name in builtin_names():
        profile = load_builtin(name)
        if profile.sunspec_model is not None:
            found[profile.sunspec_model] = profile
    return found
