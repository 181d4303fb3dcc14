"""4. Many jobs (placeholder until written)."""
