"""The build pipeline: from the seeds folder to a plan of what each document reuses or embeds, handed to a store."""
