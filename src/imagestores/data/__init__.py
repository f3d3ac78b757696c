"""Stage 1, data: the images every store is built from, prepared once into ``results/data/``.

``prepare`` fetches CIFAR-10 (``cifar10``) or generates look-alikes (``synthetic``) and writes them where
every later job memory-maps them. May import numpy, pooch and the standard library; nothing of the
other stages.
"""
