from qabot.embedders.hashing import HashingEmbedder
from qabot.service import QAService
from tests.conftest import write


def test_context_widens_to_whole_neighbouring_sentences(settings, seeds):
    sentences = [f"Sentence {i} mentions item{i} only." for i in range(30)]
    text = "Items\n" + " ".join(sentences)
    write(seeds / "long.txt", text)
    svc = QAService(settings, embedder=HashingEmbedder())
    svc.build()
    start = text.index("Sentence 15 ")
    end = text.index("Sentence 16 ") - 1
    around = svc.context("long.txt", start, end, chars=200)
    assert text[start:end] in around
    assert around.index(text[start:end]) > 60  # real text before...
    assert len(around) - len(text[start:end]) > 120  # ...and after
    assert around.startswith("Sentence") and around.endswith(".")
