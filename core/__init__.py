"""Energy Grid Load Optimizer: everything that is not UI."""
