"""Population and legal-entity registries (人口库, 法人库): one golden record per person and company."""
