"""Parsing /follow and matching follows against papers: forgiving where readers expect, strict elsewhere."""

from __future__ import annotations

import pytest

from bot.core.follows import (
    MAX_FOLLOW_CHARS,
    MAX_PER_COMMAND,
    Follow,
    FollowError,
    FollowKind,
    match_follows,
    meant_as,
    mentions_code,
    paper_text,
    parse_follows,
)
from storage.models import Author, Paper

TOPIC, AUTHOR, INST = FollowKind.TOPIC, FollowKind.AUTHOR, FollowKind.INSTITUTION


def paper(
    title: str, abstract: str = "", authors: tuple[Author, ...] = (), comment: str | None = None
) -> Paper:
    return Paper("2504.03786", 1, title, abstract, authors, ("cs.CL",), "cs.CL", comment)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ('"retrieval augmented generation"', [(TOPIC, "retrieval augmented generation")]),
        ("RAG", [(TOPIC, "RAG")]),
        ("author:Leskovec", [(AUTHOR, "Leskovec")]),
        ('inst:"Google DeepMind"', [(INST, "Google DeepMind")]),
        ("institution: ETH Zürich", [(INST, "ETH Zürich")]),
        (
            'RAG, graph neural networks author:"J Leskovec" “LLM agents”',
            [(TOPIC, "RAG"), (TOPIC, "graph neural networks"), (AUTHOR, "J Leskovec"), (TOPIC, "LLM agents")],
        ),
        ("RAG, rags", [(TOPIC, "RAG")]),
        # /search's field prefixes mean the same here.
        ("au:Hinton, ti:diffusion models", [(AUTHOR, "Hinton"), (TOPIC, "diffusion models")]),
        ('AU: "Yann LeCun" abs:score matching', [(AUTHOR, "Yann LeCun"), (TOPIC, "score matching")]),
        ("plateau: a study", [(TOPIC, "plateau: a study")]),
    ],
)
def test_what_users_type_becomes_follows(typed, expected):
    assert [(item.kind, item.text) for item in parse_follows(typed)] == expected


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("", "Follow what?"),
        ("  ,  ", "Follow what?"),
        ("author:", "An empty author cannot be followed"),
        ("x" * (MAX_FOLLOW_CHARS + 1), "too long to follow"),
        ("foo.*bar", "plain words, not patterns"),
        ("(a|b)", "plain words, not patterns"),
        ("🦜", "has no letters or digits"),
        ("author:a b c d e f g", "not a person's name"),
        (
            ", ".join(f"topic{n}" for n in range(MAX_PER_COMMAND + 1)),
            f"at most {MAX_PER_COMMAND} per message",
        ),
    ],
)
def test_bad_follows_get_a_clear_answer(typed, answer):
    with pytest.raises(FollowError, match=answer):
        parse_follows(typed)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("author Yann LeCun", "author:“Yann LeCun”"),
        ("Institution Google DeepMind", "inst:“Google DeepMind”"),
        ("author", None),
        ("topic modeling", None),
        ("graph neural networks", None),
        ("author:LeCun", None),
        ("author a b c d e f g", None),  # no person's name: no hint either
    ],
)
def test_a_topic_that_starts_with_a_kinds_word_is_taken_as_written_and_what_it_may_mean_is_offered(
    typed, meant
):
    (follow,) = parse_follows(typed)
    found = meant_as(follow)
    assert (found.label if found else None) == meant


def matched(follow: str, item: Paper) -> list[str]:
    return [match.label for match in match_follows(parse_follows(follow), paper_text(item))]


def test_topics_forgive_case_plurals_hyphens_and_accents():
    item = paper("Retrieval-Augmented Generations for Naïve Graphs", "We study studies of processes.")
    assert matched('"retrieval augmented generation"', item) == ["retrieval augmented generation"]
    assert matched("naive graph", item) == ["naive graph"]
    assert matched("study", item) == ["study"]
    assert matched("process", item) == ["process"]


def test_a_topic_is_whole_words_only():
    item = paper("Storage for dragons", "We drag rags and store them. Also, rage.")
    assert matched("RAG", item) == ["RAG"]  # "rags" is the plural of the word
    assert matched("RAG", paper("Storage for dragons", "We drag bags.")) == []
    assert matched("graph", paper("Paragraphs", "Autographs.")) == []


def test_matched_title_words_are_located_for_bold():
    item = paper("Efficient RAG: retrieval-augmented generation, fast")
    text = paper_text(item)
    (match,) = match_follows(parse_follows('"retrieval augmented generation"'), text)
    assert [text.title[start:end] for start, end in match.spans] == ["retrieval-augmented generation"]


def test_authors_match_by_surname_and_initials():
    item = paper("A paper", authors=(Author("Paul Baltescu"), Author("Jure Leskóvec")))
    assert matched("author:Leskovec", item) == ["J Leskóvec"]
    assert matched('author:"J Leskovec"', item) == ["J Leskóvec"]
    assert matched('author:"Jure Leskovec"', item) == ["J Leskóvec"]
    assert matched('author:"Jane Leskovec"', item) == []
    assert matched("author:Jure", item) == []
    assert matched("author:Lesk", item) == []


def test_surnames_with_particles_match():
    item = paper("A paper", authors=(Author("Johannes Diderik van der Waals"),))
    assert matched('author:"van der Waals"', item) == ["J D van der Waals"]


def test_institutions_match_whole_words_of_affiliations():
    item = paper("A paper", authors=(Author("Ada Lovelace", ("Google DeepMind, London",)),))
    assert matched('inst:"google deepmind"', item) == ["google deepmind"]
    assert matched("inst:Google", item) == ["Google"]
    assert matched("inst:Goog", item) == []


def test_code_links_are_noticed():
    assert paper_text(paper("T", "Code: https://github.com/a/b")).has_code
    assert paper_text(paper("T", "", comment="Our code is available online")).has_code
    assert not paper_text(paper("T", "We write code.")).has_code


@pytest.mark.parametrize(
    ("abstract", "comment", "has_code"),
    [
        ("Models at HuggingFace.co/org/model.", None, True),
        ("", "Accepted at ICML; see GitLab.com/a/b", True),
        ("The code is publicly released.", None, True),
        ("Code are freely available on request.", None, True),
        ("We release our code.", None, True),
        ("", "Source code: see the appendix", True),
        ("The decoder is available as a baseline.", None, False),
        ("Encoders and decoders share codebooks.", "12 pages", False),
        ("Hosted on huggingface.co", None, False),
        ("Open-source code and weights.", None, True),
        ("Xcode is available on macOS; decoders are released.", None, False),
        ("Our codebase and sourcecode stay private.", None, False),
        ("", None, False),
    ],
)
def test_code_is_noticed_in_every_way_it_is_mentioned_and_not_in_look_alikes(abstract, comment, has_code):
    assert mentions_code(comment, abstract) is has_code


def test_labels_quote_phrases_and_name_kinds():
    assert Follow(TOPIC, "graph neural networks").label == "“graph neural networks”"
    assert Follow(AUTHOR, "Leskovec").label == "author:Leskovec"
    assert Follow(TOPIC, "Graph Neural Network").key == Follow(TOPIC, "graph-neural networks").key
