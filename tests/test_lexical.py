"""BM25: analysis, search, coverage, and persistence with each index version."""

from __future__ import annotations

from qabot.indexer import BuildOptions, build
from qabot.lexical import FOLDER, LexicalIndex, analyze
from qabot.store import IndexStore
from tests.conftest import write

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
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path / "bm25")
    loaded = LexicalIndex.load(tmp_path / "bm25")
    assert loaded is not None and loaded.n_rows == len(TEXTS)
    assert loaded.search("photosynthesis sugar", 2).rows[0] == 1


def test_load_refuses_another_analyzer(tmp_path):
    index = LexicalIndex.build(TEXTS)
    index.save(tmp_path / "bm25")
    (tmp_path / "bm25" / "qabot.json").write_text('{"analyzer": "old", "rows": 4}')
    assert LexicalIndex.load(tmp_path / "bm25") is None


def test_each_build_writes_bm25_into_its_version(settings, seeds):
    from qabot.embedders.hashing import HashingEmbedder

    store = IndexStore(settings.index_dir)
    options = BuildOptions(seeds_dir=seeds, chunk_tokens=64, chunk_overlap=0)
    write(seeds / "a.txt", "Zebras live in Africa. They have stripes.")
    build(store=store, embedder=HashingEmbedder(), options=options)
    first = store.current_version()
    assert (settings.index_dir / first / FOLDER / "qabot.json").is_file()
    write(seeds / "b.txt", "Penguins live in Antarctica and cannot fly.")
    build(store=store, embedder=HashingEmbedder(), options=options)
    data = store.load()
    assert data.version != first
    assert data.lexical is not None and data.lexical.n_rows == len(data.chunks)
    row = int(data.lexical.search("penguins antarctica", 1).rows[0])
    assert data.chunk(row).doc_id == "b.txt"
