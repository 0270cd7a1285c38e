import torch
import torch as T
from torch import load


def load_checkpoint(path, device):
    # ruleid: secgate.ml.torch-load-unsafe
    state = torch.load(path)
    # ruleid: secgate.ml.torch-load-unsafe
    state = torch.load(path, map_location=device)
    # ruleid: secgate.ml.torch-load-unsafe
    state = torch.load(path, weights_only=False)
    # ruleid: secgate.ml.torch-load-unsafe
    state = T.load(path, map_location="cpu", weights_only=False)
    # ruleid: secgate.ml.torch-load-unsafe
    state = load(path)
    return state


def load_checkpoint_safe(path, device):
    # ok: secgate.ml.torch-load-unsafe
    state = torch.load(path, weights_only=True)
    # ok: secgate.ml.torch-load-unsafe
    state = torch.load(path, map_location=device, weights_only=True)
    # ok: secgate.ml.torch-load-unsafe
    state = T.load(path, weights_only=True, mmap=True)
    return state
