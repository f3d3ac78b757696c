"""Measure how to store lots of images: every storage method, on your data and your hardware."""
