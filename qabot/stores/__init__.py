"""Where an index lives: one contract (base.py), the files store and the Qdrant store."""
