import huggingface_hub
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer

PINNED = "0123456789abcdef0123456789abcdef01234567"


def fetch(name):
    # ruleid: secgate.ml.hf-unpinned-revision
    model = AutoModelForSequenceClassification.from_pretrained(name)
    # ruleid: secgate.ml.hf-unpinned-revision
    tok = AutoTokenizer.from_pretrained("bert-base-uncased", use_fast=True)
    # ruleid: secgate.ml.hf-unpinned-revision
    path = hf_hub_download(repo_id="org/model", filename="model.safetensors")
    # ruleid: secgate.ml.hf-unpinned-revision
    local_dir = snapshot_download("org/model")
    # ruleid: secgate.ml.hf-unpinned-revision
    local_dir = huggingface_hub.snapshot_download(repo_id="org/model", allow_patterns=["*.json"])
    api = HfApi()
    # ruleid: secgate.ml.hf-unpinned-revision
    path = api.hf_hub_download("org/model", "config.json")
    return model, tok, path, local_dir


def fetch_pinned(name):
    # ok: secgate.ml.hf-unpinned-revision
    model = AutoModel.from_pretrained(name, revision="0123456789abcdef0123456789abcdef01234567")
    # ok: secgate.ml.hf-unpinned-revision
    tok = AutoTokenizer.from_pretrained(name, revision=PINNED)
    # ok: secgate.ml.hf-unpinned-revision
    path = hf_hub_download(repo_id="org/model", filename="model.safetensors", revision=PINNED)
    # ok: secgate.ml.hf-unpinned-revision
    local_dir = snapshot_download("org/model", revision=PINNED)
    # ok: secgate.ml.hf-unpinned-revision
    local = AutoModel.from_pretrained("./checkpoints/final")
    # ok: secgate.ml.hf-unpinned-revision
    local = AutoModel.from_pretrained(name, local_files_only=True)
    return model, tok, path, local_dir, local
