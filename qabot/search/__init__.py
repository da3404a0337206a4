"""Finding passages: BM25 analysis and scoring, vector search (FAISS), hybrid retrieval, reranking."""
