"""The files store: versioned folders of arrays, a FAISS index and a manifest below index/."""
