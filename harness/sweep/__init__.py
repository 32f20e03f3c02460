"""Grids of runs: the plan and its resume key, the local and Ray backends, the live view."""
