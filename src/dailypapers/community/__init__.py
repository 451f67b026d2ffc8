"""Community rules with no web framework and no database: submissions, comment Markdown, authorship."""
