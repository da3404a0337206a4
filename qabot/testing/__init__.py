"""Test support that ships with qabot: the stand-in Bot API server for tests and benchmarks
(`qabot.testing.botapi`); needs the dev extra (aiohttp). Nothing else in qabot imports it."""
