"""Raw formats in, at the bottom of the package: NTU ``.skeleton`` text, NW-UCLA json, raw file
sources (folders, zips), the HDF5 part files between data stages, and the rejected-file lists."""
