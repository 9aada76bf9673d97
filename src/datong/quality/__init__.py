"""Quality (治理): declared rules, scores and the rectification loop back to the provider."""
