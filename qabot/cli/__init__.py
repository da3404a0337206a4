"""The command line (typer): `qabot ask`, `qabot index ...`, `qabot eval`, `qabot report`."""
