import itertools

from qabot.embedders.hashing import HashingEmbedder
from qabot.ingest.chunking import ChunkParams, chunk_document, guess_language, split_sentences
from qabot.types import Document


def _doc(text, title="T"):
    return Document("d.txt", title, text, "d.txt", "x")


def _count(texts):
    return HashingEmbedder().count_tokens(texts)


def test_sentences_have_exact_offsets_and_lines_end_sentences():
    text = "Dr. Smith arrived. He spoke!\nNew paragraph without stop\nLast one?"
    spans = split_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Smith arrived.",
        "He spoke!",
        "New paragraph without stop",
        "Last one?",
    ]


def test_cyrillic_sentences():
    text = "Міністр Андрій Сибіга взяв участь у засіданні. Це було в Брюсселі! Що далі?"
    spans = split_sentences(text)
    assert len(spans) == 3
    assert guess_language(text) == "uk"
    assert guess_language("Министр принял участие в заседании совета.") == "ru"
    assert guess_language("The minister took part.") == "en"


def test_chunks_respect_budget_offsets_and_overlap():
    sentences = [f"Sentence number {i} has exactly seven words." for i in range(40)]
    doc = _doc(" ".join(sentences))
    params = ChunkParams(max_tokens=40, overlap=1)
    chunks = chunk_document(doc, params, _count)
    assert len(chunks) > 5
    for c in chunks:
        assert c.text == doc.text[c.start : c.end]
        assert _count([c.text])[0] + _count([doc.title])[0] + 1 <= 40
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end  # one sentence shared with the neighbour
        assert b.start > a.start  # always progress
    assert chunks[0].start == 0 and chunks[-1].end == len(doc.text)


def test_overlong_sentence_is_cut_into_word_windows():
    doc = _doc("word " * 500 + "end.")
    chunks = chunk_document(doc, ChunkParams(max_tokens=50, overlap=0), _count)
    assert all(_count([c.text])[0] <= 50 for c in chunks)
    covered = "".join(c.text for c in chunks).replace(" ", "")
    assert covered == doc.text.replace(" ", "")


def test_model_limit_wins_over_target_with_a_long_title():
    title = "long title " * 30
    doc = _doc("Short sentence here. " * 50, title=title)
    params = ChunkParams(max_tokens=80, overlap=0, model_max_tokens=90)
    for c in chunk_document(doc, params, _count):
        assert _count([c.text])[0] + _count([title])[0] + 1 <= 90


def test_minilm_chunks_never_exceed_what_the_model_reads(minilm):
    from qabot.ingest.chunking import passage_for_embedding

    text = " ".join(
        f"Paragraph {i}: the Alliance's foreign ministers discussed ammunition, air defence "
        "and the NATO Security Assistance and Training for Ukraine command in Wiesbaden."
        for i in range(60)
    )
    doc = _doc(text, title="NATO foreign ministers meet in Brussels")
    params = ChunkParams(
        max_tokens=minilm.max_tokens, overlap=1, model_max_tokens=minilm.max_tokens
    )
    chunks = chunk_document(doc, params, minilm.count_tokens)
    counts = minilm.count_tokens([passage_for_embedding(c) for c in chunks])
    assert max(counts) <= minilm.max_tokens
