"""3. End-to-end latency (placeholder until written)."""
