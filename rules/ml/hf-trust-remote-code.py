from transformers import AutoModel, AutoModelForCausalLM, AutoTokenizer, pipeline
from datasets import load_dataset


def load_remote(name):
    # ruleid: secgate.ml.hf-trust-remote-code
    model = AutoModelForCausalLM.from_pretrained(name, trust_remote_code=True)
    # ruleid: secgate.ml.hf-trust-remote-code
    tok = AutoTokenizer.from_pretrained(name, revision="main", trust_remote_code=True)
    # ruleid: secgate.ml.hf-trust-remote-code
    enc = AutoModel.from_pretrained(
        name,
        torch_dtype="auto",
        trust_remote_code=True,
    )
    # ruleid: secgate.ml.hf-trust-remote-code
    gen = pipeline("text-generation", model=name, trust_remote_code=True)
    # ruleid: secgate.ml.hf-trust-remote-code
    ds = load_dataset("some/dataset", trust_remote_code=True)
    return model, tok, enc, gen, ds


def load_native(name):
    # ok: secgate.ml.hf-trust-remote-code
    model = AutoModelForCausalLM.from_pretrained(name, revision="0123456789abcdef0123456789abcdef01234567")
    # ok: secgate.ml.hf-trust-remote-code
    tok = AutoTokenizer.from_pretrained(name, trust_remote_code=False)
    # ok: secgate.ml.hf-trust-remote-code
    gen = pipeline("text-generation", model=name)
    return model, tok, gen
