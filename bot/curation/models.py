"""The learned parts of ranking, in the spirit of arxiv-sanity: a TF-IDF space of title and abstract
fitted once per announcement, and per chat a small logistic regression in that space.

scikit-learn lives here and nowhere else; `bot.curation.store` decides when to fit and train.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import numpy as np
from scipy.sparse import vstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

MAX_FEATURES = 30_000
C = 10.0  # inverse regularisation of a chat model
UNLABELLED_WEIGHT = 0.1  # weight of each of the day's untapped papers, as a negative
UNLABELLED = 200  # the day's papers drawn as unlabelled negatives: keeps training a few milliseconds


@dataclass(frozen=True, slots=True)
class FeatureSpace:
    """A TF-IDF vectorizer fitted on one announcement's papers, with their rows kept.

    `by_word` is the announcement's matrix transposed (words x papers, CSR): a chat model's weights
    touch only its own words, so scoring every paper of the day is one small sparse product.
    """

    announced: date
    vectorizer: TfidfVectorizer
    rows: dict[str, int]  # arXiv id -> column of by_word
    by_word: Any

    @classmethod
    def fit(cls, announced: date, ids: Sequence[str], texts: Sequence[str]) -> FeatureSpace:
        vectorizer = TfidfVectorizer(
            sublinear_tf=True,
            stop_words="english",
            ngram_range=(1, 2),
            min_df=1,
            max_df=0.5,
            max_features=MAX_FEATURES,
            dtype=np.float32,
        )
        matrix = vectorizer.fit_transform(texts or [""])
        rows = {arxiv_id: index for index, arxiv_id in enumerate(ids)}
        return cls(announced, vectorizer, rows, matrix.T.tocsr())

    def transform(self, texts: Sequence[str]) -> Any:
        return self.vectorizer.transform(texts)


@dataclass(frozen=True, slots=True)
class ChatModel:
    """A chat's linear model in one feature space: weights only where it has any."""

    version: int
    announced: date  # the feature space it was trained in
    columns: np.ndarray
    weights: np.ndarray
    intercept: float

    @classmethod
    def train(
        cls, version: int, space: FeatureSpace, texts: Sequence[str], labels: Sequence[int]
    ) -> ChatModel:
        """Fit on the chat's labelled papers, and on the day's other papers as unlabelled negatives of
        little weight (positive-unlabeled learning, as arxiv-sanity does): a handful of taps alone
        cannot tell which words matter, the day's papers show which words are merely common."""
        labelled = space.transform(texts)
        rows = space.by_word.shape[1]
        sample = np.random.default_rng(version).choice(rows, min(rows, UNLABELLED), replace=False)
        background = space.by_word[:, np.sort(sample)].T.tocsr()
        features = vstack([labelled, background], format="csr")
        targets = np.concatenate([np.asarray(labels), np.zeros(background.shape[0], dtype=int)])
        weights = np.concatenate(
            [np.ones(labelled.shape[0]), np.full(background.shape[0], UNLABELLED_WEIGHT)]
        )
        model = LogisticRegression(C=C, class_weight="balanced", max_iter=1000)
        model.fit(features, targets, sample_weight=weights)
        coefficients = model.coef_[0]
        columns = np.flatnonzero(coefficients)
        return cls(
            version,
            space.announced,
            columns,
            coefficients[columns].astype(np.float32),
            float(model.intercept_[0]),
        )

    def scores(self, space: FeatureSpace) -> np.ndarray:
        """The model's score of every paper of the space's announcement, by `space.rows`."""
        return space.by_word[self.columns].T @ self.weights + self.intercept
