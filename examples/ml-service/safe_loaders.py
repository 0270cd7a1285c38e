"""Safe counterparts of the loaders in model_loader.py / data_download.py.

Nothing in this file should be reported by secgate's ML rules or bandit.
"""
import os
import tarfile

import numpy as np
import requests
import torch
import yaml
from huggingface_hub import hf_hub_download
from safetensors.torch import load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

MODEL_REPO = "acme-ml/sentiment-large"
# Full commit SHA of the reviewed model revision.
MODEL_REVISION = "3f9c2b7a1d4e8f6052c1a9b8e7d6c5f4a3b2c1d0"


def load_config(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


def load_classifier(path):
    return torch.load(path, map_location="cpu", weights_only=True)


def load_weights(path):
    return load_file(path)


def load_embeddings(path):
    return np.load(path)


def load_transformer():
    tokenizer = AutoTokenizer.from_pretrained(MODEL_REPO, revision=MODEL_REVISION)
    model = AutoModelForSequenceClassification.from_pretrained(
        MODEL_REPO, revision=MODEL_REVISION
    )
    return tokenizer, model


def fetch_file(filename):
    return hf_hub_download(repo_id=MODEL_REPO, filename=filename, revision=MODEL_REVISION)


def download_corpus(url, dest_dir):
    os.makedirs(dest_dir, exist_ok=True)
    archive = os.path.join(dest_dir, "corpus.tar.gz")
    resp = requests.get(url, timeout=10)
    resp.raise_for_status()
    with open(archive, "wb") as fh:
        fh.write(resp.content)
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest_dir, filter="data")
    return dest_dir
