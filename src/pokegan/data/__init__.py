"""Data stages of pokegan: download (sources, images, pokedex), grouping, augmentation.

Other packages use :func:`pokegan.data.prepared.load_prepared` (the prepared tensors) and
:func:`pokegan.data.images.decode_image` (robust image decoding).
"""


class DataError(RuntimeError):
    """A data problem a user can fix (bad input, missing tool, integrity mismatch).

    The message names the file or param concerned; stage scripts print it and exit 1.
    """
