"""Verification: the automatic checks, the caseworkers' review queue and the written refusal notices."""
