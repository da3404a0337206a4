"""Names shared by the Qdrant modules: the collection's vector names."""

DENSE = "dense"  # the embedding, L2-normalised (DOT distance = cosine)
SPARSE = "bm25"  # BM25's tf parts per term id of qabot's analyser
