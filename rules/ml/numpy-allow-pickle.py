import numpy as np
import numpy


def load_embeddings(path):
    # ruleid: secgate.ml.numpy-load-allow-pickle
    arr = np.load(path, allow_pickle=True)
    # ruleid: secgate.ml.numpy-load-allow-pickle
    arr = numpy.load(path, mmap_mode="r", allow_pickle=True)
    # ruleid: secgate.ml.numpy-load-allow-pickle
    arr = np.load(path, None, True)
    return arr


def load_embeddings_safe(path):
    # ok: secgate.ml.numpy-load-allow-pickle
    arr = np.load(path)
    # ok: secgate.ml.numpy-load-allow-pickle
    arr = np.load(path, allow_pickle=False)
    # ok: secgate.ml.numpy-load-allow-pickle
    arr = np.load(path, mmap_mode="r")
    return arr
