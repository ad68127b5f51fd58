"""Reading a published build: queries for the pages and the CLI, the work queue, the CSV export."""
