"""Model / artifact loading for the inference service (DELIBERATELY INSECURE)."""
import os
import pickle

import joblib
import keras
import numpy as np
import torch
import yaml
from langchain_community.vectorstores import FAISS
from langchain_openai import OpenAIEmbeddings
from transformers import AutoModelForSequenceClassification, AutoTokenizer

import settings


def load_config(path="config/model.yaml"):
    with open(path) as fh:
        # unsafe: full object construction from YAML
        return yaml.load(fh, Loader=yaml.Loader)


def load_classifier(path=os.path.join(settings.MODEL_DIR, "classifier.pt")):
    # unsafe: full unpickling of the checkpoint
    model = torch.load(path, map_location="cpu")
    model.eval()
    return model


def load_label_encoder(path=os.path.join(settings.MODEL_DIR, "labels.pkl")):
    with open(path, "rb") as fh:
        return pickle.load(fh)


def load_sklearn_pipeline(path=os.path.join(settings.MODEL_DIR, "featurizer.joblib")):
    return joblib.load(path)


def load_embeddings(path=os.path.join(settings.MODEL_DIR, "embeddings.npy")):
    return np.load(path, allow_pickle=True)


def load_transformer():
    tokenizer = AutoTokenizer.from_pretrained(
        settings.MODEL_REPO, token=settings.HF_TOKEN, trust_remote_code=True
    )
    model = AutoModelForSequenceClassification.from_pretrained(
        settings.MODEL_REPO, token=settings.HF_TOKEN, trust_remote_code=True
    )
    return tokenizer, model


def load_vector_index():
    embeddings = OpenAIEmbeddings(api_key=settings.OPENAI_API_KEY)
    return FAISS.load_local(
        settings.INDEX_DIR, embeddings, allow_dangerous_deserialization=True
    )


def load_keras_reranker(path=os.path.join(settings.MODEL_DIR, "reranker.keras")):
    return keras.models.load_model(path, safe_mode=False)
