"""The edge of curation: papers in matchable form, TF-IDF spaces and per-chat ranking models.

`models` holds the scikit-learn parts (a feature space per announcement, a linear model per chat);
`store` keeps them, with paper texts, in per-process caches and gathers one chat's signals for the
pure `bot.core.rank`.
"""

from bot.curation.store import Curation, follows_from

__all__ = ["Curation", "follows_from"]
