import json
import pickle
import cPickle
import cloudpickle
import dill
import joblib
import pandas as pd
from joblib import load as jl_load


def load_artifacts(path, blob):
    with open(path, "rb") as fh:
        # ruleid: secgate.ml.pickle-deserialization
        model = pickle.load(fh)
    # ruleid: secgate.ml.pickle-deserialization
    obj = pickle.loads(blob)
    # ruleid: secgate.ml.pickle-deserialization
    obj = cPickle.loads(blob)
    # ruleid: secgate.ml.pickle-deserialization
    fn = cloudpickle.loads(blob)
    # ruleid: secgate.ml.pickle-deserialization
    fn = dill.load(open(path, "rb"))
    # ruleid: secgate.ml.pickle-deserialization
    clf = joblib.load(path)
    # ruleid: secgate.ml.pickle-deserialization
    clf = jl_load(path)
    # ruleid: secgate.ml.pickle-deserialization
    df = pd.read_pickle(path)
    return model, obj, fn, clf, df


def save_and_load_safe(path, model, df):
    # ok: secgate.ml.pickle-deserialization
    joblib.dump(model, path)
    # ok: secgate.ml.pickle-deserialization
    data = pickle.dumps({"a": 1})
    # ok: secgate.ml.pickle-deserialization
    cfg = json.load(open(path))
    # ok: secgate.ml.pickle-deserialization
    df2 = pd.read_parquet(path)
    return data, cfg, df2


def marshal_and_shelve(raw_code, path):
    import marshal
    import shelve

    # ruleid: secgate.ml.pickle-deserialization
    code = marshal.loads(raw_code)
    # ruleid: secgate.ml.pickle-deserialization
    db = shelve.open(path)
    # ok: secgate.ml.pickle-deserialization
    blob = marshal.dumps(code)
    return db, blob
