"""The order of a chat's digest: the papers this chat most likely wants first, each with its reason.

A paper's score is a sum of bounded parts, with these weights:

- follow matched (topic, author or institution): +10, and +0.5 for each further match;
- similar to papers you liked (the chat's model, once it has `MIN_POSITIVES` liked or saved
  papers): +1 per standard deviation above the day's mean, clipped to -2 .. +4;
- primary submission to one of the chat's categories (not only cross-listed): +1;
- listed in more of the chat's categories: +0.3 for each beyond the first;
- liked by readers in every chat of the bot: +0.5 per doubling of likes, at most +1.5;
- a venue ("Accepted at KDD 2022", a journal reference): +0.2;
- code (a code link in the comment or abstract): +0.1;
- this chat tapped 👎 on it: -10.

Ties keep arXiv's order (id ascending). Without any personal signal this is the mechanical order
of `bot.core.digest` with community likes and code as small nudges. The model's score is
standardized over the day's candidates, so "similar" means "stands out today", whatever the
model's calibration.

Pure: the edge supplies follows matches, model scores and like counts as plain values.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bot.core.digest import Digest, DigestEntry, Reason, arxiv_order
from bot.core.follows import FollowMatch
from bot.core.i18n import N_

FOLLOW = 10.0
FOLLOW_EXTRA = 0.5
SIMILAR = 1.0
SIMILAR_RANGE = (-2.0, 4.0)
SIMILAR_REASON = 1.5  # standard deviations above the day's mean for "similar to papers you liked"
PRIMARY = 1.0
EXTRA_CATEGORY = 0.3
LIKED = 0.5
LIKED_CAP = 1.5
VENUE = 0.2
CODE = 0.1
DISLIKED = -10.0
MIN_POSITIVES = 3  # liked or saved papers before the chat's model is used
ANNOTATED = 30  # entries from the top that get their reason: featured blocks are far shorter


@dataclass(frozen=True, slots=True)
class Signals:
    """What the edge knows about one paper for one chat."""

    matches: tuple[FollowMatch, ...] = ()
    liked_by: int = 0  # readers who liked or saved it, in every chat
    has_code: bool = False
    disliked: bool = False  # this chat tapped 👎 on it


NO_SIGNALS = Signals()


def rank(
    digest: Digest,
    signals: Mapping[str, Signals],
    *,
    similarity: Mapping[str, float] | None = None,
    outside: Sequence[DigestEntry] = (),
) -> Digest:
    """The digest in the chat's order, with reasons and highlighted titles on entries that have them.

    Reasons are worked out for the top `ANNOTATED` entries (only featured entries show one) and for
    every entry a follow matched (its title shows the matched words in bold wherever it appears).

    `signals` need only name papers that have any; `similarity` holds the chat model's raw scores
    (none without a model). `outside` are papers from categories the chat does not follow that
    matched a follow; they are ranked with the rest and marked as such.
    """
    entries = list(digest.entries) + [dataclasses.replace(entry, outside=True) for entry in outside]
    scores = similarity or {}
    standardized = _standardize(
        {
            entry.paper.arxiv_id: value
            for entry in entries
            if (value := scores.get(entry.paper.arxiv_id)) is not None
        }
    )
    scored = []
    for entry in entries:
        paper_signals = signals.get(entry.paper.arxiv_id, NO_SIGNALS)
        similar = standardized.get(entry.paper.arxiv_id)
        scored.append((-_score(entry, paper_signals, similar), arxiv_order(entry.paper.arxiv_id), entry))
    scored.sort(key=lambda item: (item[0], item[1]))
    ordered = []
    for position, (_, _, entry) in enumerate(scored):
        paper_signals = signals.get(entry.paper.arxiv_id, NO_SIGNALS)
        if position < ANNOTATED or paper_signals.matches:
            entry = _annotated(entry, paper_signals, standardized.get(entry.paper.arxiv_id))
        ordered.append(entry)
    return dataclasses.replace(digest, entries=tuple(ordered))


def _score(entry: DigestEntry, signals: Signals, similar: float | None) -> float:
    score = 0.0
    if signals.matches:
        score += FOLLOW + FOLLOW_EXTRA * (len(signals.matches) - 1)
    if similar is not None:
        score += SIMILAR * similar
    if entry.new_in:
        score += PRIMARY
    score += EXTRA_CATEGORY * max(len(entry.tags) - 1, 0)
    if signals.liked_by:
        score += min(LIKED * math.log2(1 + signals.liked_by), LIKED_CAP)
    if entry.venue:
        score += VENUE
    if signals.has_code:
        score += CODE
    if signals.disliked:
        score += DISLIKED
    return score


def _standardize(values: Mapping[str, float]) -> dict[str, float]:
    if len(values) < 2:
        return {}
    mean = math.fsum(values.values()) / len(values)
    spread = math.sqrt(math.fsum((value - mean) ** 2 for value in values.values()) / len(values))
    if spread == 0:
        return {}
    low, high = SIMILAR_RANGE
    return {key: min(max((value - mean) / spread, low), high) for key, value in values.items()}


def _annotated(entry: DigestEntry, signals: Signals, similar: float | None) -> DigestEntry:
    reason = reason_for(entry, signals, similar)
    spans = tuple(span for match in signals.matches for span in match.spans)
    if reason is None and not spans:
        return entry
    return dataclasses.replace(entry, reason=reason, highlights=tuple(sorted(set(spans))))


def reason_for(entry: DigestEntry, signals: Signals, similar: float | None) -> Reason | None:
    """Why the paper is where it is, strongest reason first."""
    if signals.matches:
        labels = tuple(dict.fromkeys(match.label for match in signals.matches))
        return Reason(follows=labels, outside=entry.outside)
    if similar is not None and similar >= SIMILAR_REASON:
        return Reason(phrase=N_("similar to papers you liked"))
    if signals.liked_by == 1:
        return Reason(phrase=N_("liked by 1 reader"))
    if signals.liked_by:
        return Reason(phrase=N_("liked by {count} readers"), count=signals.liked_by)
    if entry.venue:
        return Reason(phrase=N_("accepted at a venue"))
    if signals.has_code:
        return Reason(phrase=N_("code available"))
    return None


# --- learning from taps --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaperFeedback:
    """A chat's taps on one paper, summed over its members."""

    arxiv_id: str
    votes: int  # 👍 minus 👎
    saves: int  # 🔖


def training_labels(feedback: Iterable[PaperFeedback], shown: Iterable[str]) -> dict[str, int]:
    """1 for papers the chat liked or saved, 0 for papers it disliked or was shown and left untapped."""
    labels = {arxiv_id: 0 for arxiv_id in shown}
    for paper in feedback:
        if paper.saves > 0 or paper.votes > 0:
            labels[paper.arxiv_id] = 1
        elif paper.votes < 0:
            labels[paper.arxiv_id] = 0
    return labels


def model_ready(labels: Mapping[str, int]) -> bool:
    """A handful of liked papers, and something to tell them from."""
    positives = sum(labels.values())
    return positives >= MIN_POSITIVES and positives < len(labels)
