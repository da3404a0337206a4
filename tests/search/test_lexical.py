"""BM25: analysis, search, coverage, and persistence with each index version."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qabot.search.lexical import ANALYZER, FOLDER, LexicalIndex, analyze
from tests.helpers import write

TEXTS = [
    "The Normans conquered England in 1066 under William the Conqueror.",
    "Photosynthesis turns light, water and carbon dioxide into sugar.",
    "Київ є столицею України, містом на річці Дніпро.",
    "Москва стоит на реке Москве и является столицей России.",
]


def test_analyze_stems_english_and_cuts_cyrillic():
    assert analyze("The Normans were conquering") == ["norman", "conquer"]
    # Cyrillic words become their first five letters; Ukrainian and Russian stop words go.
    assert analyze("Столицею України") == ["столи", "украї"]
    assert analyze("Кто построил собор и где") == ["постр", "собор"]


MORE = [
    "William of Normandy was crowned king of England at Westminster Abbey.",
    "The Norman conquest changed the English language: French words entered it.",
    "Sugar from photosynthesis feeds the plant; light is the energy source.",
    "Дніпро тече через Київ і впадає в Чорне море.",
    "England England England: a chunk that repeats a term scores it higher.",
    "",
    "Carbon dioxide and water, with light, become sugar and oxygen.",
]
QUESTIONS = [
    "When did the Normans conquer England?",
    "What does photosynthesis turn light and water into?",
    "Через яке місто тече Дніпро?",
    "Какая река в Москве?",
    "England king crowned Westminster",
]


def bm25s_scores(texts: list[str], terms: list[str]) -> np.ndarray:
    """What bm25s (the library this index replaces, BM25() defaults) scores for these terms."""
    import bm25s

    retriever = bm25s.BM25()
    retriever.index([analyze(t) for t in texts], show_progress=False)
    return retriever.get_scores([retriever.vocab_dict[t] for t in terms])


def assert_same_as_bm25s(
    index: LexicalIndex, texts: list[str], questions: list[str] = QUESTIONS
) -> None:
    assert index.n_rows == len(texts)
    for question in questions:
        terms = [t for t in dict.fromkeys(analyze(question)) if t in set(index.vocab)]
        assert terms, question
        expected = bm25s_scores(texts, terms)
        np.testing.assert_allclose(index.scores(terms), expected, rtol=1e-5, atol=1e-6)
        for term in terms:  # the idf answering.py weighs terms by
            df = sum(term in analyze(t) for t in texts)
            assert index.term_idf(term) == pytest.approx(
                np.log(1 + (len(texts) - df + 0.5) / (df + 0.5)), rel=1e-6
            )


def test_scores_are_bm25s_scores():
    texts = TEXTS + MORE
    assert_same_as_bm25s(LexicalIndex.build(texts), texts)


def test_extending_keeps_chosen_rows_and_scores_like_a_fresh_bm25s_index():
    texts = TEXTS + MORE
    base = LexicalIndex.build(texts)
    # Rows 1 and 8 go (photosynthesis leaves with row 1 and comes back with the new text),
    # the rest are reordered, two new texts come after them.
    keep = np.array([5, 0, 2, 3, 4, 6, 7, 9, 10])
    new = ["Photosynthesis happens in chloroplasts.", "Zebras are striped horses of Africa."]
    extended = base.extend(keep, new)
    expected_texts = [texts[i] for i in keep] + new
    assert_same_as_bm25s(extended, expected_texts)
    # The vocabulary holds exactly the terms that occur, as bm25s's does.
    assert sorted(extended.vocab) == sorted({t for x in expected_texts for t in analyze(x)})
    assert extended.search("zebras", 1).rows[0] == len(keep) + 1
    # Appending to all rows, as an add-only build does.
    appended = extended.extend(np.arange(extended.n_rows), ["Normans in Sicily"])
    assert_same_as_bm25s(appended, [*expected_texts, "Normans in Sicily"])


def test_search_ranks_the_matching_chunk_first():
    index = LexicalIndex.build(TEXTS)
    result = index.search("When did the Normans conquer England?", 3)
    assert result.rows[0] == 0
    assert result.coverage > 0.9
    assert 0 < result.scores[0] <= result.max_score * 1.5


def test_inflected_cyrillic_matches():
    index = LexicalIndex.build(TEXTS)
    assert index.search("На якій річці стоїть столиця України?", 3).rows[0] == 2


def test_coverage_is_low_when_the_corpus_lacks_the_words():
    index = LexicalIndex.build(TEXTS)
    result = index.search("Как пекут хлеб на закваске в деревне?", 5)
    assert result.coverage < 0.2
    assert len(result.rows) == 0


def test_empty_question_and_empty_corpus():
    assert len(LexicalIndex.build(TEXTS).search("the and of", 3).rows) == 0
    empty = LexicalIndex.build([])
    assert len(empty.search("anything", 3).rows) == 0


def test_save_and_load_roundtrip(tmp_path):
    index = LexicalIndex.build(TEXTS + MORE)
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded is not None and loaded.n_rows == len(TEXTS + MORE)
    assert loaded.search("photosynthesis sugar", 2).rows[0] == 1
    assert_same_as_bm25s(loaded, TEXTS + MORE)


def test_load_refuses_a_bm25s_folder_and_damaged_arrays(tmp_path):
    import bm25s

    old = bm25s.BM25()
    old.index([analyze(t) for t in TEXTS], show_progress=False)
    old.save(str(tmp_path / "old"))
    # What qabot used to write next to bm25s's files.
    (tmp_path / "old" / "qabot.json").write_text(json.dumps({"analyzer": ANALYZER, "rows": 4}))
    assert LexicalIndex.load(tmp_path / "old") is None
    LexicalIndex.build(TEXTS).save(tmp_path / "new")
    np.save(tmp_path / "new" / "doc_len.npy", np.zeros(3, np.int32))
    assert LexicalIndex.load(tmp_path / "new") is None


def test_load_refuses_another_analyzer(tmp_path):
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path / "bm25")
    (tmp_path / "bm25" / "qabot.json").write_text('{"analyzer": "old", "rows": 4}')
    assert LexicalIndex.load(tmp_path / "bm25") is None


def _service(settings):
    """A service building 64-token chunks without overlap with the hashing embedder."""
    from qabot.service import QAService

    return QAService(settings.model_copy(update={"chunk_tokens": 64, "chunk_overlap": 0}))


def test_each_build_writes_bm25_into_its_version(settings, seeds):
    service = _service(settings)
    store = service.store.folders
    write(seeds / "a.txt", "Zebras live in Africa. They have stripes.")
    service.build()
    first = store.current_version()
    assert (settings.index_dir / first / FOLDER / "qabot.json").is_file()
    write(seeds / "b.txt", "Penguins live in Antarctica and cannot fly.")
    service.build()
    data = store.load()
    assert data.version != first
    assert data.lexical is not None and data.lexical.n_rows == len(data.chunks)
    row = int(data.lexical.search("penguins antarctica", 1).rows[0])
    assert data.chunk(row).doc_id == "b.txt"


def test_an_incremental_build_analyses_only_the_new_chunks(settings, seeds, monkeypatch):
    import qabot.stores.files.assemble as indexer

    analysed: list[int] = []
    real = indexer.lexical_texts
    monkeypatch.setattr(
        indexer,
        "lexical_texts",
        lambda docs, chunks: analysed.append(len(chunks)) or real(docs, chunks),
    )
    service = _service(settings)
    store = service.store.folders
    write(seeds / "a.txt", "Zebras live in Africa. They have stripes.")
    write(seeds / "b.txt", "Penguins live in Antarctica and cannot fly.")
    write(seeds / "c.txt", "Camels cross the Sahara desert.")
    service.build()
    assert analysed == [3]
    write(seeds / "d.txt", "Kangaroos hop across Australia.")
    (seeds / "b.txt").unlink()
    write(seeds / "c.txt", "Camels cross the Gobi desert too.")
    service.build()
    assert analysed == [3, 2]  # the changed c.txt and the new d.txt
    data = store.load()
    texts = indexer.lexical_texts(data.docs, data.chunks)
    assert_same_as_bm25s(data.lexical, texts, ["zebras stripes desert", "kangaroos camels"])
    assert "penguin" not in data.lexical.vocab
    row = int(data.lexical.search("gobi camels", 1).rows[0])
    assert data.chunk(row).doc_id == "c.txt"


def test_irregular_verb_forms_meet_their_base_form():
    # "What did Rutte say?" must share "say" with "Rutte said"; Snowball alone keeps them apart.
    assert analyze("What did Rutte say?") == ["rutt", "say"]
    assert analyze("Rutte said, he says; she told them") == ["rutt", "say", "say", "tell"]
    assert analyze("found") == analyze("find") != analyze("founded")
    assert analyze("Rose") == ["rose"]  # a name as often as a verb: left alone


def test_a_nationality_meets_its_country():
    # "the Ukrainian foreign minister" is the "Minister for Foreign Affairs of Ukraine".
    assert analyze("Ukrainian") == analyze("Ukraine") == analyze("Ukrainians")
    assert analyze("Russian troops") == analyze("Russia troops")
    assert analyze("German") != analyze("Ukraine")
