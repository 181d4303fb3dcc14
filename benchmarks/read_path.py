"""2. The read path (placeholder until written)."""
