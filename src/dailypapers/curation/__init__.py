"""Collections of papers that readers curate: the rules (lengths, themes, slugs, positions), no storage."""
