"""Stage 3, measure: time, size and peak memory of every store, one job per method and store size.

- a module per Snakemake job: ``store_job`` (write, read and measure one store), ``head_to_head`` (the
  largest cutoff, every method raced), ``paper`` (the study's way), ``environment`` (the machine
  record), ``describe`` (``methods.csv``); ``fit`` (which methods hold the images);
- ``tables``: the columns of the jobs' CSV files; ``disk``: where stores go, free space, disk usage;
- ``cases``: every timed case of a set of methods, raced; ``sampling``: how many samples each case gets;
- ``timing``: the timed calls and the verification of every read;
- ``floor``: the physical floor no read can beat; ``cache``: cold reads, evicted and checked;
- ``memory``: peak memory in a fresh process forked from a clean one;
- ``first_touch``: what fresh memory costs on this machine, paid before each timed call;
- ``machine``: the record of machine and software; ``drift``: how far the machine's own speed drifts.

May import ``stores`` and ``data``'s prepared files; nothing from ``report``.
"""
