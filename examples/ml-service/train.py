"""Training entry point (DELIBERATELY INSECURE)."""
import hashlib
import pickle
import subprocess
import sys

import pandas as pd
import torch
from huggingface_hub import snapshot_download
from sklearn.linear_model import LogisticRegression

import data_download


def fingerprint(path):
    with open(path, "rb") as fh:
        return hashlib.md5(fh.read()).hexdigest()


def prepare(dataset_name):
    data_dir = data_download.download_corpus()
    # unsafe: shell=True with an interpolated, user-supplied dataset name
    subprocess.call(f"python scripts/clean.py --name {dataset_name} --dir {data_dir}", shell=True)
    base = snapshot_download("acme-ml/sentiment-base")
    return data_dir, base


def train(dataset_name):
    data_dir, base = prepare(dataset_name)
    frame = pd.read_pickle(f"{data_dir}/features.pkl")
    clf = LogisticRegression(max_iter=200).fit(frame.drop(columns=["label"]), frame["label"])
    with open("/srv/models/labels.pkl", "wb") as fh:
        pickle.dump(clf.classes_, fh)
    torch.save({"base": base}, "/srv/models/classifier.pt")
    print("artifact md5:", fingerprint("/srv/models/labels.pkl"))


if __name__ == "__main__":
    train(sys.argv[1] if len(sys.argv) > 1 else "default")
