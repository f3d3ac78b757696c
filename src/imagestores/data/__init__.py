"""Stage 1, data: the images every store is built from, prepared once into ``results/data/``.

- ``prepare``: the data stage's job; ``prepared``: the prepared files and ``load_prepared``, which every
  later job uses to memory-map them;
- ``cifar10`` (download, safe extraction and unpickling), ``synthetic`` (seeded look-alikes), ``folder``
  (your own image files and metadata table), ``example_folder`` (a realistic folder made from a seed).

May import numpy, pandas, pyarrow, pooch, Pillow, the standard library and ``stores.codecs`` (so a folder
is decoded by the very rules the ``original`` encoding reads back with); nothing of measure or report.
"""
