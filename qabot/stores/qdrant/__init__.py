"""The Qdrant store: versioned collections behind an alias, in a server or in local mode."""
