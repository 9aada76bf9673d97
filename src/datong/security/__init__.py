"""Identity, roles, authorization and the audit chain."""
