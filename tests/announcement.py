"""A realistic announcement day for the fake arXiv, shared by chat and push tests."""

from __future__ import annotations

from datetime import date

from tests.fakes.arxiv_server import FakeArxiv

DAY = date(2026, 11, 24)
IR_NEW = [f"2611.{10000 + n}" for n in range(14)]
LG_NEW = [f"2611.{20000 + n}" for n in range(25)]
BOTH = "2611.30000"  # new in cs.IR, cross-listed in cs.LG
TRICKY = "2611.30001"  # a title that must be escaped
REPLACED = "2601.00001"


def seed_day(arxiv: FakeArxiv) -> None:
    """cs.IR: 16 news and a replacement; cs.LG: 26 news (one shared with cs.IR)."""
    for number, arxiv_id in enumerate(IR_NEW):
        arxiv.add_paper(
            arxiv_id,
            f"Retrieval study number {number}",
            authors=[("Ada Lovelace", ["University of Oxford"]), ("Alan Turing", ["Google DeepMind"])],
            categories=["cs.IR"],
        )
    for number, arxiv_id in enumerate(LG_NEW):
        arxiv.add_paper(arxiv_id, f"Learning study number {number}", categories=["cs.LG"])
    arxiv.add_paper(
        BOTH,
        "ItemSage: Learning Product Embeddings for Shopping Recommendations at Pinterest",
        authors=[("Paul Baltescu", ["Pinterest"]), ("Haoyu Chen", ["Pinterest"]), "Jure Leskovec"],
        categories=["cs.IR", "cs.LG"],
        comment="Accepted at KDD 2022",
    )
    arxiv.add_paper(TRICKY, "When <b>bold</b> & $x<y$ meet", categories=["cs.IR"])
    arxiv.add_paper(REPLACED, "An old paper, revised", categories=["cs.IR"], version=3)
    arxiv.set_announcement(
        "cs.IR",
        DAY,
        [(arxiv_id, "new") for arxiv_id in IR_NEW] + [(BOTH, "new"), (TRICKY, "new"), (REPLACED, "replace")],
    )
    arxiv.set_announcement("cs.LG", DAY, [(arxiv_id, "new") for arxiv_id in LG_NEW] + [(BOTH, "cross")])
