import pytest

from qabot.embedders.hashing import HashingEmbedder
from qabot.service import QAService
from tests.helpers import write


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


def test_build_starts_from_the_held_version_and_switches_without_reading(
    settings, seeds, monkeypatch
):
    from qabot.stores.files.folders import VersionFolders

    settings = settings.model_copy(update={"vector_index": "ivf"})
    for i in range(120):
        write(seeds / f"doc{i:03}.txt", f"Doc {i}\nTopic word{i} appears here with filler{i}.")
    svc = QAService(settings, embedder=HashingEmbedder())
    svc.build()
    svc.ask("word42 filler42")
    held = svc._index().data
    held_ann, held_vectors = held.ann.ntotal, held.vectors.copy()

    loads = []
    real_load = VersionFolders.load
    monkeypatch.setattr(
        VersionFolders, "load", lambda self, **kw: loads.append(1) or real_load(self, **kw)
    )
    write(seeds / "zzz.txt", "Zeta\nA brand new volcano document.")
    svc.build()
    assert loads == []  # neither the previous version nor the new one was read back
    # Unchanged documents and vectors stay in the files they were in (hard links), new ones
    # are written to files of their own.
    old_folder, new_folder = (settings.index_dir / v for v in (held.version, svc.index_version))
    for name in ("docs.jsonl", "vectors.npy"):
        assert (old_folder / name).stat().st_ino == (new_folder / name).stat().st_ino
    assert "volcano" in (new_folder / "docs.1.jsonl").read_text(encoding="utf-8")
    assert svc.index_version == VersionFolders(settings.index_dir).current_version() != held.version
    assert svc.ask("brand new volcano").hits[0].chunk.source == "zzz.txt"
    # The held version was only read: a search still running on it sees it unchanged.
    assert held.ann.ntotal == held_ann
    assert (held.vectors == held_vectors).all()
    # What the service switched to is what a fresh process reads from disk.
    fresh = QAService(settings, embedder=HashingEmbedder())
    for question in ("brand new volcano", "word7 filler7", "word119"):
        a, b = svc.ask(question), fresh.ask(question)
        assert [(h.chunk.source, h.chunk.start) for h in a.hits] == [
            (h.chunk.source, h.chunk.start) for h in b.hits
        ]
        assert a.best_score == pytest.approx(b.best_score, abs=1e-6)


def test_a_build_by_another_process_is_read_from_disk(settings, seeds):
    write(seeds / "a.txt", "A\nAlpha text about rivers.")
    svc = QAService(settings, embedder=HashingEmbedder())
    svc.build()
    svc.ask("rivers")
    other = QAService(settings, embedder=HashingEmbedder())
    write(seeds / "b.txt", "B\nBeta text about mountains.")
    other.build()
    # svc's held version is no longer current: its build must not start from it.
    write(seeds / "c.txt", "C\nGamma text about deserts.")
    report = svc.build()
    assert report.added == ["c.txt"]
    assert svc.ask("mountains").hits[0].chunk.source == "b.txt"
    assert svc.ask("deserts").hits[0].chunk.source == "c.txt"


def test_asking_without_reranker_or_reader_imports_neither(settings, seeds, tmp_path, tiny_models):
    """The optional models cost seconds of imports: with their settings empty, a one-shot ask
    (here with the model-free embedder) loads neither torch nor transformers; the probe does see
    them when a reranker is set."""
    import json
    import os
    import subprocess
    import sys

    write(seeds / "cats.txt", "Pets\nCats sleep for most of the day in warm places.")
    QAService(settings, embedder=HashingEmbedder()).build()
    env = {
        **os.environ,
        "QABOT_EMBEDDER": "hashing",
        "QABOT_SCORE_THRESHOLD": "0.1",
        "QABOT_SEEDS_DIR": str(seeds),
        "QABOT_INDEX_DIR": str(settings.index_dir),
        "QABOT_RERANKER_MODEL": "",
        "QABOT_READER_MODEL": "",
    }
    probe = (
        "import sys, json; from qabot.cli.main import main\n"
        "sys.argv = ['qabot', 'ask', 'Where do cats sleep?', '--json']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = ('torch', 'transformers', 'sentence_transformers')\n"
        "print(json.dumps(sorted(m for m in heavy if m in sys.modules)))"
    )

    def heavy_modules(**extra: str) -> list[str]:
        run = subprocess.run(
            [sys.executable, "-c", probe],
            env={**env, **extra},
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        *answer, modules = run.stdout.strip().splitlines()
        assert json.loads("\n".join(answer))["answer"].startswith("Cats sleep")
        return json.loads(modules)

    assert heavy_modules() == []
    reranked = heavy_modules(QABOT_RERANKER_MODEL=str(tiny_models["reranker"]))
    assert {"torch", "sentence_transformers"} <= set(reranked)


def test_stored_sentence_vectors_pick_the_same_sentence_without_embedding_any(settings, seeds):
    text = (
        "Rivers\nThe Rhine flows north through Basel. It reaches the North Sea at Rotterdam. "
        "Barges carry coal and grain on it. The Danube flows east to the Black Sea."
    )
    write(seeds / "rivers.txt", text)
    questions = ("Where does the Rhine reach the sea?", "What do barges carry?", "Danube east")
    plain = QAService(settings, embedder=HashingEmbedder())
    plain.build()
    assert plain._index().data.sentence_vectors is None
    expected = [plain.ask(q).sentence for q in questions]

    stored_settings = settings.model_copy(
        update={"sentence_vectors": True, "index_dir": settings.index_dir.with_name("index2")}
    )
    embedder = HashingEmbedder()
    svc = QAService(stored_settings, embedder=embedder)
    svc.build()
    assert svc._index().data.sentence_vectors is not None
    before = embedder.passages_embedded
    answers = [svc.ask(q) for q in questions]
    assert embedder.passages_embedded == before  # only the questions were embedded
    assert [a.sentence for a in answers] == expected
    assert all(a.found and len(a.hits[0].chunk.text) > len(a.sentence) for a in answers)
