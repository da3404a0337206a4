"""Reading the seeds folder: scanning, one reader per format, dates, duplicates, links, watching, chunking."""
