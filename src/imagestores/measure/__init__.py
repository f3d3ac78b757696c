"""Stage 3, measure: time, size and peak memory of every store, one job per method and store size.

- ``jobs``: the Snakemake jobs (measure one store, time the study's way, record the machine);
- ``timing``: the timed operations, warm-ups, repeats and verification of every read;
- ``floor``: the physical floor no read can beat; ``cache``: cold reads, evicted and checked;
- ``memory``: peak memory in a fresh process forked from a clean one;
- ``first_touch``: what fresh memory costs on this machine, paid before each timed call;
- ``machine``: the record of machine and software; ``drift``: how far the machine's own speed drifts.

May import ``stores`` and ``data``'s prepared files; nothing from ``report``.
"""
