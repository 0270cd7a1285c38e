"""Two small digit classifiers for the adversarial-stage tests: a brittle MLP and a PGD-adversarially
trained twin, both trained here in numpy on scikit-learn's bundled `load_digits` (offline,
deterministic, a few seconds), exported to ONNX with the `onnx` helper API (no torch).

Usage: python classifier-models.py <out-dir>
Writes <out-dir>/{brittle,robust}.npz (weights the loopback server loads), {brittle,robust}.onnx
(Gemm-Relu-Gemm-Softmax, the runner's white-box model-file), eval.npz (held-out x, y) and eval.csv
(same rows, last column the label), and prints one JSON line of clean accuracies.
Runs with the ART runner's venv (numpy, scikit-learn, onnx are in its lock).
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.datasets import load_digits

SEED = 7
HIDDEN = 128
EPOCHS = 40
BATCH = 64
# PGD adversarial training (L-inf): trained a bit beyond the tested epsilon so the gap is clear.
TRAIN_EPS = 0.2
PGD_STEPS = 5


def data():
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(SEED).permutation(len(x))
    x, y = x[order], y[order]
    return (x[:1400], y[:1400]), (x[1400:], y[1400:])


def init(rng):
    return {
        "w1": (rng.standard_normal((64, HIDDEN)) * np.sqrt(2.0 / 64)).astype(np.float32),
        "b1": np.zeros(HIDDEN, np.float32),
        "w2": (rng.standard_normal((HIDDEN, 10)) * np.sqrt(2.0 / HIDDEN)).astype(np.float32),
        "b2": np.zeros(10, np.float32),
    }


def forward(p, x):
    h_pre = x @ p["w1"] + p["b1"]
    h = np.maximum(h_pre, 0)
    z = h @ p["w2"] + p["b2"]
    z = z - z.max(axis=1, keepdims=True)
    prob = np.exp(z)
    prob /= prob.sum(axis=1, keepdims=True)
    return h_pre, h, prob


def grads(p, x, y):
    """Cross-entropy gradients for the weights and the input."""
    h_pre, h, prob = forward(p, x)
    dz = prob.copy()
    dz[np.arange(len(y)), y] -= 1
    dz /= len(y)
    dh = dz @ p["w2"].T
    dh[h_pre <= 0] = 0
    return {"w2": h.T @ dz, "b2": dz.sum(0), "w1": x.T @ dh, "b1": dh.sum(0)}, dh @ p["w1"].T


def pgd(p, x, y, eps, steps):
    step = eps / 2
    x_adv = np.clip(x + np.random.default_rng(0).uniform(-eps, eps, x.shape).astype(np.float32), 0, 1)
    for _ in range(steps):
        _, gx = grads(p, x_adv, y)
        x_adv = np.clip(np.clip(x_adv + step * np.sign(gx), x - eps, x + eps), 0, 1)
    return x_adv.astype(np.float32)


def train(x, y, adversarial):
    rng = np.random.default_rng(SEED)
    p = init(rng)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(w) for k, w in p.items()}
    lr, b1, b2, t = 0.005, 0.9, 0.999, 0
    for _ in range(EPOCHS):
        order = rng.permutation(len(x))
        for start in range(0, len(x), BATCH):
            idx = order[start : start + BATCH]
            xb, yb = x[idx], y[idx]
            if adversarial:
                # Half clean, half PGD: keeps clean accuracy while closing the L-inf gap.
                xb = np.concatenate([xb, pgd(p, xb, yb, TRAIN_EPS, PGD_STEPS)])
                yb = np.concatenate([yb, yb])
            g, _ = grads(p, xb, yb)
            t += 1
            for k in p:
                m[k] = b1 * m[k] + (1 - b1) * g[k]
                v[k] = b2 * v[k] + (1 - b2) * g[k] ** 2
                p[k] -= lr * (m[k] / (1 - b1**t)) / (np.sqrt(v[k] / (1 - b2**t)) + 1e-8)
    return p


def to_onnx(p, path):
    init_tensors = [numpy_helper.from_array(p[k].astype(np.float32), name=k) for k in ("w1", "b1", "w2", "b2")]
    nodes = [
        helper.make_node("Gemm", ["input", "w1", "b1"], ["h_pre"]),
        helper.make_node("Relu", ["h_pre"], ["h"]),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "digits_mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 64])],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["N", 10])],
        init_tensors,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="secgate-tests")
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    (x_train, y_train), (x_test, y_test) = data()
    accuracy = {}
    for name, adversarial in (("brittle", False), ("robust", True)):
        p = train(x_train, y_train, adversarial)
        np.savez(os.path.join(out, f"{name}.npz"), **p)
        to_onnx(p, os.path.join(out, f"{name}.onnx"))
        accuracy[name] = float((forward(p, x_test)[2].argmax(1) == y_test).mean())
    np.savez(os.path.join(out, "eval.npz"), x=x_test, y=y_test)
    np.savetxt(os.path.join(out, "eval.csv"), np.column_stack([x_test, y_test]), delimiter=",", fmt="%.6g")
    print(json.dumps({"clean_accuracy": accuracy, "eval_rows": int(len(y_test))}))


if __name__ == "__main__":
    main()
