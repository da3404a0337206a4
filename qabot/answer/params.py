"""The tuning of the answer sentence (qabot/answer/compose.py), as one frozen value.

`DEFAULT_ANSWER` is what qabot ships; an experiment builds a variant with
``dataclasses.replace(DEFAULT_ANSWER, rank_penalty=0.06)`` and passes it in
(`make_answer(params=...)`, `QAService.answer(answer_params=...)`) instead of changing modules.

Plain data (imports nothing of qabot). `overlap_weight` also sets what the confidence can add
up to (`Calibration.ceiling`), so a variant of it keeps the confidence between 0 and 1.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerParams:
    """How the answer sentence is scored and chosen. The numbers are measured in
    bench/RESULTS-quality.md (the sections named on each field)."""

    # Sentence score = cosine(question, "title: sentence") + overlap_weight x term_overlap.
    # Measured on all of xquad_en with MiniLM, hybrid retrieval: answer-in-first-sentence 0.734
    # by the bare sentence's cosine, 0.787 adding overlap x 1.0, 0.795 with the title before the
    # sentence (it says what "it" and "he" are), 0.798 with x 0.5.
    overlap_weight: float = 0.5
    # Picking the sentence, the question's terms that only the previous sentence holds count at
    # this share: "It was re-established in 1991" answers a question naming what "it" is, and
    # names it one sentence earlier. Below 1, so a sentence holding the terms itself still beats
    # the one after it (at 1 both get the same overlap and the cosine alone decides). xquad_en
    # 0.798 -> 0.807 (section 4.1). The score returned (the not-found confidence) stays the
    # passage's best sentence score without context: counted in, it moved no out-of-scope rate
    # by more than 2 questions and would have needed a new threshold.
    context_weight: float = 0.5
    # The answer sentence is chosen among the sentences of the first `answer_passages` distinct
    # passages, not only the first one: the passage ranking weighs a whole passage, and on news
    # several passages of several articles tell the same event, one of them in the sentence
    # that answers. A sentence of a lower passage pays `rank_penalty` per rank, so a tie stays
    # with the better passage. bench/experiments/sweep_answer_news.py, section 7.
    answer_passages: int = 3
    rank_penalty: float = 0.03
    # A line this short is a byline, a dateline or a caption ("CNN —", "USA TODAY"), not an
    # answer; nor is a line ending in a dash (a longer dateline: "New York CNN Business —"), the
    # document's title repeated as its first line, or a sentence whose every term is the
    # question's. Chosen only when nothing else is left, and never shown before the answer.
    min_answer_words: int = 4
    # Of the passages after the first, only this many sentences are scored: those sharing most
    # of the question's terms. Embedding every sentence of three news passages tripled the time
    # of an answer (~20 sentences); on the news dev set and xquad_en the two best by overlap
    # chose the same sentences (bench/experiments/sweep_answer_news.py --cascade-only).
    other_sentences: int = 2
    # And of the first passage, the `first_sentences` sharing most (a 256-token news passage
    # holds ~10): news p50 93 -> 78 ms, the same answers on news and xquad_en (4 cost xquad_en 2
    # sentences).
    first_sentences: int = 6
    # A question asking for a number ("how many", "what year"): a sentence holding no number the
    # question lacks pays this in the choice (not in the confidence), so the sentence with the
    # count beats the one restating the premise (qabot/answer/wording.py).
    quantity_penalty: float = 0.1
    # The sentence shown starts one earlier when it leans on its predecessor: the question's
    # terms only the predecessor holds (`context_weight`) decided its choice (without them
    # another sentence of the passage scores higher), or it calls the asked-for thing "the
    # <noun>". The predecessor names what "it" or "the show" is. Section 7.9.
    extend_on_context: bool = True
    extend_on_reference: bool = True
    # Sentences embedded per batch: batches of similar length pad less.
    embed_batch: int = 16


DEFAULT_ANSWER = AnswerParams()
