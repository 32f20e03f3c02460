"""Small shared mechanics with no slrbench dependencies: atomic writes, paths, progress, quiet logs."""
