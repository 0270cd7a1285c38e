from langchain_community.vectorstores import FAISS, Annoy
from langchain_openai import OpenAIEmbeddings

embeddings = OpenAIEmbeddings()


def load_index(path):
    # ruleid: secgate.ml.langchain-dangerous-deserialization
    store = FAISS.load_local(path, embeddings, allow_dangerous_deserialization=True)
    # ruleid: secgate.ml.langchain-dangerous-deserialization
    store2 = Annoy.load_local(
        path,
        embeddings=embeddings,
        allow_dangerous_deserialization=True,
    )
    return store, store2


def load_index_safe(path, texts):
    # ok: secgate.ml.langchain-dangerous-deserialization
    store = FAISS.load_local(path, embeddings)
    # ok: secgate.ml.langchain-dangerous-deserialization
    store = FAISS.load_local(path, embeddings, allow_dangerous_deserialization=False)
    # ok: secgate.ml.langchain-dangerous-deserialization
    store = FAISS.from_texts(texts, embeddings)
    return store
