"""Data: clips and their layout, the packed store, splits, index files, dataset loading."""
