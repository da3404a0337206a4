"""The command line (typer): `qabot ask`, `qabot index ...`, `qabot eval`, `qabot report`,
`qabot bot`. `main.app` puts the command groups together; `common` holds what they share."""
