"""skelpipe: skeleton-based action recognition as a cached, reproducible DVC pipeline."""
