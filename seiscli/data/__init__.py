"""Data handling: normalization, patches, image tiles, loaders."""
