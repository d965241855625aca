"""Labeling archives too big for one process: `shards` (the plan, shard files, resume; plain
functions) and `ray_labeling` (`newsroles label --engine ray`: a pool of labelers on Ray Data)."""
