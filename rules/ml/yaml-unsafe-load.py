import yaml
from yaml import CSafeLoader, SafeLoader


def read_config(path):
    with open(path) as fh:
        text = fh.read()
    # ruleid: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text)
    # ruleid: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=yaml.Loader)
    # ruleid: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=yaml.UnsafeLoader)
    # ruleid: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=yaml.FullLoader)
    # ruleid: secgate.ml.yaml-unsafe-load
    docs = list(yaml.load_all(text, Loader=yaml.Loader))
    # ruleid: secgate.ml.yaml-unsafe-load
    cfg = yaml.unsafe_load(text)
    return cfg, docs


def read_config_safe(path):
    with open(path) as fh:
        text = fh.read()
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.safe_load(text)
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=yaml.SafeLoader)
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=yaml.CSafeLoader)
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=SafeLoader)
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, Loader=CSafeLoader)
    # ok: secgate.ml.yaml-unsafe-load
    cfg = yaml.load(text, yaml.SafeLoader)
    # ok: secgate.ml.yaml-unsafe-load
    docs = list(yaml.safe_load_all(text))
    return cfg, docs
