"""secgate's classifier runner: attacks a live classifier endpoint with the Adversarial Robustness
Toolbox (ART 1.20.x) under a hard query budget and writes a JSON report (schema
"secgate-adversarial-classifier/1", documented in packages/adversarial/runner/README.md).

    <venv python> secgate_art.py --config <json> --output <report.json>

The API key is read from the environment (SECGATE_TARGET_API_KEY), never from the config, and is
never written anywhere. Exit codes: 0 report written (findings or not, budget exhausted or not);
2 configuration error; 3 the endpoint failed after bounded retries (report written with what was
reached); anything else a crash.
"""

import argparse
import concurrent.futures
import json
import math
import os
import random
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

RUNNER_VERSION = "1"
SCHEMA = "secgate-adversarial-classifier/1"
KEY_ENV = "SECGATE_TARGET_API_KEY"
INSTANCES = "$INSTANCES"
ATTACK_NAMES = ("hopskipjump", "square", "fgsm", "pgd")
# Instances per HTTP request; ART's own batches are split into requests of this size, sent
# `concurrency` at a time.
REQUEST_BATCH = 64
TRIES = 3
TIMEOUT_S = 30.0
BACKOFF_S = (0.5, 1.5)
MAX_RETRY_AFTER_S = 5.0
# Samples attacked per ART generate() call: results accumulate chunk by chunk, so a budget or an
# endpoint failure mid-attack still reports the samples finished before it.
ATTACK_CHUNK = 4
EXAMPLES = 3
# Float32 round-off: a perturbation this close above epsilon is still within it (ART's L-inf
# attacks land on 0.10000002 at eps 0.1).
NORM_TOLERANCE = 1e-5
PROBABILITY_SUM_TOLERANCE = 1e-2

# Attack parameters per profile. HopSkipJump's fast values are the measured ~350 queries a sample
# (adversarial-tools.md §2.5); ART's defaults take hours.
PROFILES = {
    "fast": {
        "hsj": {"max_iter": 10, "max_eval": 200, "init_eval": 10, "init_size": 20},
        "square": {"max_iter": 50, "nb_restarts": 1, "p_init": 0.3},
        "pgd": {"max_iter": 10, "num_random_init": 0},
    },
    "deep": {
        "hsj": {"max_iter": 40, "max_eval": 1000, "init_eval": 100, "init_size": 100},
        "square": {"max_iter": 400, "nb_restarts": 2, "p_init": 0.3},
        "pgd": {"max_iter": 40, "num_random_init": 2},
    },
}


class ConfigError(Exception):
    """The configuration or the evaluation data cannot be used (exit 2)."""


class EndpointError(Exception):
    """The endpoint failed after bounded retries, refused the key, or answered garbage (exit 3)."""


class BudgetExhausted(Exception):
    """The next request would exceed max_queries."""


# --------------------------------------------------------------------------------------------
# Configuration and data


def read_config(path):
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the configuration {path}: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError("the configuration is not a JSON object")

    def get(name, kind, optional=False):
        value = raw.get(name)
        if value is None and optional:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            raise ConfigError(f"config.{name} is {json.dumps(value)[:60]}, expected {kind.__name__}")
        return value

    config = {
        "target": get("target", str),
        "api_key_header": get("api_key_header", str, optional=True),
        "api_key_bearer": get("api_key_bearer", bool, optional=True) or False,
        "profile": get("profile", str),
        "seed": get("seed", int),
        "max_queries": get("max_queries", int),
        "concurrency": get("concurrency", int),
        "rate_limit": get("rate_limit", float, optional=True),
        "eval_data": get("eval_data", str),
        "model_file": get("model_file", str, optional=True),
        "request_template": get("request_template", str),
        "response_path": get("response_path", str),
        "input_range": get("input_range", list),
        "norm": get("norm", str),
        "eps": get("eps", float),
        "attacks": get("attacks", list),
        "samples": get("samples", int),
        # Optional, seconds per HTTP request (default 30).
        "request_timeout_s": get("request_timeout_s", float, optional=True) or TIMEOUT_S,
    }
    url = urllib.parse.urlsplit(config["target"])
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ConfigError("config.target is not an http(s) URL")
    if url.username or url.password:
        raise ConfigError("config.target carries credentials; pass the key through the api-key input")
    if config["profile"] not in PROFILES:
        raise ConfigError(f"config.profile is {config['profile']!r}, expected fast or deep")
    if config["norm"] not in ("inf", "2"):
        raise ConfigError(f"config.norm is {config['norm']!r}, expected inf or 2")
    for name, low in (("max_queries", 1), ("concurrency", 1), ("samples", 1), ("seed", 0)):
        if config[name] < low:
            raise ConfigError(f"config.{name} is {config[name]}, expected at least {low}")
    if not config["eps"] > 0:
        raise ConfigError("config.eps must be above 0")
    if config["rate_limit"] is not None and not config["rate_limit"] > 0:
        raise ConfigError("config.rate_limit must be above 0 (or null)")
    bounds = config["input_range"]
    if len(bounds) != 2 or not all(isinstance(b, (int, float)) and not isinstance(b, bool) for b in bounds) or not bounds[0] < bounds[1]:
        raise ConfigError("config.input_range is not [low, high] with low < high")
    config["input_range"] = [float(bounds[0]), float(bounds[1])]
    for name in config["attacks"]:
        if name not in ATTACK_NAMES:
            raise ConfigError(f"config.attacks names {name!r}; known: {', '.join(ATTACK_NAMES)}")
    if config["request_template"].count(INSTANCES) != 1:
        raise ConfigError(f"config.request_template must hold {INSTANCES} exactly once")
    try:
        json.loads(config["request_template"].replace(INSTANCES, "[]"))
    except ValueError:
        raise ConfigError(f"config.request_template is not JSON once {INSTANCES} is a list") from None
    if config["api_key_header"] is not None and not os.environ.get(KEY_ENV):
        raise ConfigError(f"config.api_key_header is set but {KEY_ENV} is empty")
    try:
        from jsonpath_ng import parse as jsonpath_parse

        config["response_matcher"] = jsonpath_parse(config["response_path"])
    except Exception as error:  # jsonpath-ng raises its own lexer/parser exceptions
        raise ConfigError(f"config.response_path is not a JSONPath: {error}") from None
    return config


def load_eval_data(path):
    """`.npz` with arrays x and y, or `.csv` (numbers only, last column the label; a header row is skipped)."""
    import numpy as np

    if not os.path.isfile(path):
        raise ConfigError(f"eval-data {path} does not exist")
    try:
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as data:
                if "x" not in data or "y" not in data:
                    raise ConfigError(f"eval-data {os.path.basename(path)} has no arrays x and y (found {', '.join(data.files)})")
                x, y = data["x"], data["y"]
        elif path.endswith(".csv"):
            with open(path, encoding="utf-8") as handle:
                first = handle.readline()
            skip = 0 if all(_is_number(cell) for cell in first.strip().split(",")) else 1
            table = np.loadtxt(path, delimiter=",", skiprows=skip, ndmin=2)
            x, y = table[:, :-1], table[:, -1]
        else:
            raise ConfigError("eval-data must be a .npz (arrays x, y) or a .csv (last column the label)")
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(f"eval-data {os.path.basename(path)} cannot be read: {error}") from None
    x = np.asarray(x, dtype=np.float32)
    y = np.asarray(y).reshape(-1)
    if x.ndim < 2 or len(x) != len(y) or len(x) == 0:
        raise ConfigError(f"eval-data x has shape {x.shape} and y {y.shape}: expected one label per row, at least one row")
    if not np.all(np.isfinite(x)):
        raise ConfigError("eval-data x holds NaN or infinite values")
    if not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0:
        raise ConfigError("eval-data y must hold class indices (integers from 0)")
    return x, y.astype(np.int64)


def _is_number(text):
    try:
        float(text)
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------------------------
# The endpoint


class Endpoint:
    """Batched, concurrent, rate-limited HTTP client with bounded retries and a hard instance budget."""

    def __init__(self, config, instance_shape):
        self.url = config["target"]
        self.template = config["request_template"]
        self.matcher = config["response_matcher"]
        self.instance_shape = instance_shape
        self.max_queries = config["max_queries"]
        self.timeout = config["request_timeout_s"]
        self.headers = {"Content-Type": "application/json", "Accept": "application/json"}
        key = os.environ.get(KEY_ENV)
        if config["api_key_header"] and key:
            self.headers[config["api_key_header"]] = f"Bearer {key}" if config["api_key_bearer"] else key
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=config["concurrency"])
        self.interval = 1.0 / config["rate_limit"] if config["rate_limit"] else 0.0
        self.lock = threading.Lock()
        self.next_slot = 0.0
        self.used = 0
        self.exhausted = False
        self.requests = 0
        self.retries = 0
        self.errors = {}
        self.response_kind = None
        self.nb_classes = None

    def stats(self):
        return {"requests": self.requests, "instances": self.used, "retries": self.retries, "errors": dict(self.errors)}

    def _reserve(self, count):
        with self.lock:
            if self.used + count > self.max_queries:
                self.exhausted = True
                raise BudgetExhausted()
            self.used += count

    def _wait_rate(self):
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def _count_error(self, key):
        with self.lock:
            self.errors[key] = self.errors.get(key, 0) + 1

    def predict(self, x):
        """Rows of x (any leading batch size) -> list of per-instance outputs (probability lists or labels)."""
        rows = x.reshape((len(x),) + tuple(self.instance_shape))
        chunks = [rows[i : i + REQUEST_BATCH] for i in range(0, len(rows), REQUEST_BATCH)]
        # The whole call is reserved up front: either every chunk is sent or none is.
        self._reserve(len(rows))
        futures = [self.pool.submit(self._send, chunk) for chunk in chunks]
        outputs = []
        for future in futures:
            outputs.extend(future.result())
        return outputs

    def _send(self, chunk):
        body = self.template.replace(INSTANCES, json.dumps(chunk.tolist())).encode("utf-8")
        last = None
        for attempt in range(TRIES):
            if attempt:
                # Retries send the instances again: they count against the budget too.
                self._reserve(len(chunk))
                with self.lock:
                    self.retries += 1
            self._wait_rate()
            with self.lock:
                self.requests += 1
            request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
            retry_after = None
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    raw = response.read()
            except urllib.error.HTTPError as error:
                status = error.code
                self._count_error(str(status))
                error.close()
                if status in (401, 403):
                    raise EndpointError(f"HTTP {status} from the endpoint: the API key was refused (check api-key and api-key-header)") from None
                if status != 429 and status < 500:
                    raise EndpointError(f"HTTP {status} from the endpoint (not retried: check target and request-template)") from None
                last = f"HTTP {status}"
                retry_after = _retry_after(error.headers.get("Retry-After"))
            except (TimeoutError, OSError) as error:
                reason = getattr(error, "reason", error)
                kind = "timeout" if isinstance(reason, TimeoutError) or "timed out" in str(reason) else "connection"
                self._count_error(kind)
                last = f"{kind}: {reason}"
            else:
                return self._parse(raw, len(chunk))
            if attempt + 1 < TRIES:
                time.sleep(retry_after if retry_after is not None else BACKOFF_S[attempt])
        raise EndpointError(f"the endpoint failed {TRIES} times in a row (last: {last})")

    def _parse(self, raw, expected):
        try:
            document = json.loads(raw)
        except ValueError:
            self._count_error("malformed-json")
            raise EndpointError(f"the endpoint answered with malformed JSON ({raw[:80]!r})") from None
        values = [match.value for match in self.matcher.find(document)]
        if len(values) == 1 and isinstance(values[0], list) and expected != 1 and len(values[0]) == expected:
            values = values[0]  # a path naming the list itself ($.labels) rather than its items
        if len(values) != expected:
            self._count_error("bad-response")
            raise EndpointError(f"response-path found {len(values)} values for {expected} instances")
        return [self._instance_output(value) for value in values]

    def _instance_output(self, value):
        if isinstance(value, bool):
            kind = None
        elif isinstance(value, int) or isinstance(value, float) and value.is_integer():
            kind = "labels"
            value = int(value)
        elif isinstance(value, list) and len(value) >= 2 and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value):
            if abs(sum(value) - 1.0) > PROBABILITY_SUM_TOLERANCE or min(value) < 0:
                self._count_error("bad-response")
                raise EndpointError(f"response-path yields score lists that are not probabilities (sum {sum(value):.3g}); point it at probabilities or labels")
            kind = "probabilities"
        else:
            kind = None
        if kind is None:
            self._count_error("bad-response")
            raise EndpointError(f"response-path yields {json.dumps(value)[:60]}: neither a label nor a list of probabilities")
        with self.lock:
            if self.response_kind is None:
                self.response_kind = kind
            elif self.response_kind != kind:
                raise EndpointError(f"the endpoint mixes {self.response_kind} and {kind} in its answers")
        if kind == "labels" and value < 0:
            raise EndpointError(f"the endpoint returned the label {value}")
        if kind == "labels" and self.nb_classes is not None and value >= self.nb_classes:
            raise EndpointError(f"the endpoint returned the label {value}, but there are {self.nb_classes} classes")
        if kind == "probabilities" and self.nb_classes is not None and len(value) != self.nb_classes:
            raise EndpointError(f"the endpoint returned {len(value)} probabilities, then {self.nb_classes}")
        return value

    def close(self):
        self.pool.shutdown(wait=False, cancel_futures=True)


def _retry_after(header):
    try:
        return min(MAX_RETRY_AFTER_S, max(0.0, float(header)))
    except (TypeError, ValueError):
        return None


# --------------------------------------------------------------------------------------------
# ONNX -> numpy forward and backward passes, wrapped as an ART estimator (white-box attacks)

SUPPORTED_ONNX_OPS = ("Gemm", "MatMul", "Add", "Sub", "Mul", "Relu", "Sigmoid", "Tanh", "Softmax", "Flatten", "Reshape", "Identity")


class OnnxGraph:
    """Evaluates the small ONNX graphs a dense classifier uses, with reverse-mode gradients to the input."""

    def __init__(self, path):
        import numpy as np
        import onnx
        from onnx import numpy_helper

        try:
            model = onnx.load(path)
        except Exception as error:
            raise ConfigError(f"model-file {os.path.basename(path)} is not a readable ONNX model: {error}") from None
        graph = model.graph
        self.constants = {t.name: numpy_helper.to_array(t).astype(np.float32) for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                self.constants[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
        self.nodes = [node for node in graph.node if node.op_type != "Constant"]
        unsupported = sorted({node.op_type for node in self.nodes if node.op_type not in SUPPORTED_ONNX_OPS})
        if unsupported:
            raise ConfigError(
                f"model-file uses ONNX ops the runner cannot differentiate: {', '.join(unsupported)} "
                f"(supported: {', '.join(SUPPORTED_ONNX_OPS)})"
            )
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise ConfigError("model-file must have exactly one input and one output")
        self.input = inputs[0].name
        self.output = graph.output[0].name
        dims = inputs[0].type.tensor_type.shape.dim
        self.input_shape = tuple(d.dim_value if d.HasField("dim_value") else None for d in dims[1:])
        last = self.nodes[-1] if self.nodes else None
        # Softmax last: the loss is taken on the logits before it (numerically stable cross-entropy).
        self.logits = last.input[0] if last is not None and last.op_type == "Softmax" and last.output[0] == self.output else self.output
        self.outputs_probabilities = self.logits != self.output

    @staticmethod
    def _attr(node, name, default):
        from onnx import helper

        for attribute in node.attribute:
            if attribute.name == name:
                return helper.get_attribute_value(attribute)
        return default

    def forward(self, x, until=None):
        import numpy as np

        values = dict(self.constants)
        values[self.input] = x.astype(np.float32)
        for node in self.nodes:
            a = [values[name] for name in node.input if name]
            op = node.op_type
            if op == "Gemm":
                A = a[0].T if self._attr(node, "transA", 0) else a[0]
                B = a[1].T if self._attr(node, "transB", 0) else a[1]
                out = self._attr(node, "alpha", 1.0) * (A @ B)
                if len(a) > 2:
                    out = out + self._attr(node, "beta", 1.0) * a[2]
            elif op == "MatMul":
                out = a[0] @ a[1]
            elif op == "Add":
                out = a[0] + a[1]
            elif op == "Sub":
                out = a[0] - a[1]
            elif op == "Mul":
                out = a[0] * a[1]
            elif op == "Relu":
                out = np.maximum(a[0], 0)
            elif op == "Sigmoid":
                out = 1 / (1 + np.exp(-a[0]))
            elif op == "Tanh":
                out = np.tanh(a[0])
            elif op == "Softmax":
                out = _softmax(a[0], self._attr(node, "axis", -1))
            elif op == "Flatten":
                axis = self._attr(node, "axis", 1)
                out = a[0].reshape(int(np.prod(a[0].shape[:axis])), -1)
            elif op == "Reshape":
                shape = [a[0].shape[i] if s == 0 else s for i, s in enumerate(a[1].astype(np.int64).tolist())]
                out = a[0].reshape(shape)
            else:  # Identity
                out = a[0]
            values[node.output[0]] = out
            if node.output[0] == until:
                break
        return values

    def backward(self, values, seed_name, seed_grad):
        """Gradient of sum(seed_grad * values[seed_name]) with respect to the input."""
        import numpy as np

        grads = {seed_name: seed_grad}
        upto = next(i for i, node in enumerate(self.nodes) if node.output[0] == seed_name)
        for node in reversed(self.nodes[: upto + 1]):
            g = grads.pop(node.output[0], None)
            if g is None:
                continue
            names = [name for name in node.input if name]
            a = [values[name] for name in names]
            op = node.op_type
            if op == "Gemm":
                ta, tb = self._attr(node, "transA", 0), self._attr(node, "transB", 0)
                alpha = self._attr(node, "alpha", 1.0)
                B = a[1].T if tb else a[1]
                ga = alpha * (g @ B.T)
                parts = [(names[0], ga.T if ta else ga)]
                if len(a) > 2:
                    parts.append((names[2], _unbroadcast(self._attr(node, "beta", 1.0) * g, a[2].shape)))
            elif op == "MatMul":
                parts = [(names[0], g @ np.swapaxes(a[1], -1, -2)), (names[1], np.swapaxes(a[0], -1, -2) @ g)]
            elif op == "Add":
                parts = [(names[0], _unbroadcast(g, a[0].shape)), (names[1], _unbroadcast(g, a[1].shape))]
            elif op == "Sub":
                parts = [(names[0], _unbroadcast(g, a[0].shape)), (names[1], _unbroadcast(-g, a[1].shape))]
            elif op == "Mul":
                parts = [(names[0], _unbroadcast(g * a[1], a[0].shape)), (names[1], _unbroadcast(g * a[0], a[1].shape))]
            elif op == "Relu":
                parts = [(names[0], g * (a[0] > 0))]
            elif op == "Sigmoid":
                s = values[node.output[0]]
                parts = [(names[0], g * s * (1 - s))]
            elif op == "Tanh":
                t = values[node.output[0]]
                parts = [(names[0], g * (1 - t * t))]
            elif op == "Softmax":
                s = values[node.output[0]]
                axis = self._attr(node, "axis", -1)
                parts = [(names[0], s * (g - (g * s).sum(axis=axis, keepdims=True)))]
            else:  # Flatten, Reshape, Identity
                parts = [(names[0], g.reshape(a[0].shape))]
            for name, grad in parts:
                if name in self.constants:
                    continue
                grads[name] = grads[name] + grad if name in grads else grad
        return grads.get(self.input, np.zeros_like(values[self.input]))


def _softmax(z, axis):
    import numpy as np

    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _unbroadcast(grad, shape):
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def onnx_estimator(graph, input_shape, nb_classes, clip_values):
    """An ART classifier over OnnxGraph: enough for ART's FastGradientMethod and ProjectedGradientDescent (numpy)."""
    import numpy as np
    from art.estimators.classification.classifier import ClassGradientsMixin, ClassifierMixin
    from art.estimators.estimator import BaseEstimator, LossGradientsMixin

    class OnnxNumpyClassifier(ClassGradientsMixin, ClassifierMixin, LossGradientsMixin, BaseEstimator):
        estimator_params = BaseEstimator.estimator_params + ClassifierMixin.estimator_params

        def __init__(self):
            super().__init__(model=graph, clip_values=clip_values, preprocessing=None)
            self.nb_classes = nb_classes
            self._input_shape = tuple(input_shape)

        @property
        def input_shape(self):
            return self._input_shape

        def _flat(self, x):
            return x.reshape((len(x),) + tuple(d if d is not None else -1 for d in graph.input_shape)) if graph.input_shape else x

        def predict(self, x, batch_size=128, **kwargs):
            return graph.forward(self._flat(x))[graph.output]

        def fit(self, x, y, **kwargs):
            raise NotImplementedError("the ONNX model is only attacked, never trained")

        def loss_gradient(self, x, y, **kwargs):
            labels = np.argmax(y, axis=1) if y.ndim == 2 else y.astype(np.int64)
            values = graph.forward(self._flat(x), until=graph.logits)
            logits = values[graph.logits]
            # d(cross-entropy)/d(logits) = softmax - onehot
            seed = _softmax(logits, -1)
            seed[np.arange(len(labels)), labels] -= 1
            return graph.backward(values, graph.logits, seed).reshape(x.shape)

        def class_gradient(self, x, label=None, **kwargs):
            values = graph.forward(self._flat(x))
            out = values[graph.output]
            if label is None:
                labels = [[k] * len(x) for k in range(out.shape[1])]
            elif isinstance(label, (int, np.integer)):
                labels = [[int(label)] * len(x)]
            else:
                labels = [np.asarray(label).reshape(-1).tolist()]
            grads = []
            for column in labels:
                seed = np.zeros_like(out)
                seed[np.arange(len(x)), column] = 1
                grads.append(graph.backward(values, graph.output, seed).reshape(x.shape))
            return np.stack(grads, axis=1)

        def get_activations(self, *args, **kwargs):
            raise NotImplementedError

    return OnnxNumpyClassifier()


# --------------------------------------------------------------------------------------------
# Attacks


def norm_of(delta, norm):
    import numpy as np

    flat = delta.reshape(len(delta), -1)
    return np.abs(flat).max(axis=1) if norm == "inf" else np.sqrt((flat.astype(np.float64) ** 2).sum(axis=1))


def project(x, x_adv, norm, eps, bounds):
    """Pulls x_adv back into the eps-ball around x (and the input range)."""
    import numpy as np

    delta = (x_adv - x).astype(np.float64)
    if norm == "inf":
        delta = np.clip(delta, -eps, eps)
    else:
        lengths = norm_of(delta, "2").reshape((-1,) + (1,) * (delta.ndim - 1))
        delta = delta * np.minimum(1.0, eps / np.maximum(lengths, 1e-12))
    return np.clip(x + delta, bounds[0], bounds[1]).astype(np.float32)


class Run:
    def __init__(self, config):
        import numpy as np

        self.np = np
        self.config = config
        self.profile = PROFILES[config["profile"]]
        self.errors = []
        self.attacks = []
        x_all, y_all = load_eval_data(config["eval_data"])
        self.instance_shape = x_all.shape[1:]
        order = np.random.default_rng(config["seed"]).permutation(len(x_all))[: config["samples"]]
        self.indices = order
        self.x = x_all[order]
        self.y = y_all[order]
        self.endpoint = Endpoint(config, self.instance_shape)
        self.nb_classes = int(y_all.max()) + 1
        self.evaluated = 0
        self.clean_pred = None
        self.clean_prob = None
        self.graph = OnnxGraph(config["model_file"]) if config["model_file"] else None
        if self.graph is not None:
            flat = int(np.prod(self.instance_shape))
            expected = [d for d in self.graph.input_shape]
            if None not in expected and int(np.prod(expected)) != flat:
                raise ConfigError(f"model-file takes inputs of shape {tuple(expected)}, eval-data rows have shape {self.instance_shape}")

    # Endpoint answers -> (labels, probabilities or None)
    def scores(self, x):
        np = self.np
        outputs = self.endpoint.predict(x)
        if self.endpoint.response_kind == "probabilities":
            prob = np.asarray(outputs, dtype=np.float64)
            return prob.argmax(axis=1), prob
        return np.asarray(outputs, dtype=np.int64), None

    def clean_pass(self):
        np = self.np
        preds, probs = [], []
        for start in range(0, len(self.x), REQUEST_BATCH * self.config["concurrency"]):
            labels, prob = self.scores(self.x[start : start + REQUEST_BATCH * self.config["concurrency"]])
            preds.extend(labels.tolist())
            if prob is not None:
                probs.extend(prob.tolist())
            self.evaluated = len(preds)
            if start == 0:
                first = prob.shape[1] if prob is not None else int(labels.max()) + 1
                self.nb_classes = max(self.nb_classes, first)
                self.endpoint.nb_classes = self.nb_classes if prob is not None else None
        self.clean_pred = np.asarray(preds, dtype=np.int64)
        self.clean_prob = np.asarray(probs) if probs else None
        if self.endpoint.response_kind == "labels":
            self.nb_classes = max(self.nb_classes, int(self.clean_pred.max()) + 1)
            self.endpoint.nb_classes = self.nb_classes

    def one_hot_predict(self, x):
        np = self.np
        labels, prob = self.scores(x)
        return prob.astype(np.float32) if prob is not None else np.eye(self.nb_classes, dtype=np.float32)[labels]

    def plan(self):
        wanted = list(self.config["attacks"]) or (
            ["hopskipjump"] + (["square"] if self.endpoint.response_kind == "probabilities" else []) + (["fgsm", "pgd"] if self.graph else [])
        )
        return list(dict.fromkeys(wanted))

    def attack_record(self, name, access):
        norm, eps = self.config["norm"], self.config["eps"]
        label = {"hopskipjump": "HopSkipJump", "square": "SquareAttack", "fgsm": "FGSM", "pgd": "PGD"}[name]
        return {
            "id": f"{label}:{norm}@{eps:g}",
            "name": label,
            "access": access,
            "norm": norm,
            "eps": eps,
            "attempted": 0,
            "succeeded": 0,
            "robust_correct": 0,
            "robust_accuracy": None,
            "attack_success_rate": None,
            "mean_confidence_drop": None,
            "median_perturbation": None,
            "queries": 0,
            "seconds": 0.0,
            "status": "complete",
            "error": None,
            "examples": [],
        }

    def run_attack(self, name, stop_reason):
        np = self.np
        access = {"hopskipjump": "black-box-labels", "square": "black-box-scores", "fgsm": "white-box-transfer", "pgd": "white-box-transfer"}[name]
        record = self.attack_record(name, access)
        self.attacks.append(record)
        if stop_reason is not None:
            record.update(status=stop_reason[0], error=stop_reason[1])
            return
        if name == "square" and self.endpoint.response_kind != "probabilities":
            record.update(status="error", error="SquareAttack needs probabilities; the endpoint returns labels (response-path)")
            self.errors.append({"kind": "attack", "message": record["error"]})
            return
        if name in ("fgsm", "pgd") and self.graph is None:
            record.update(status="error", error=f"{record['name']} is white-box: it needs model-file (ONNX)")
            self.errors.append({"kind": "attack", "message": record["error"]})
            return
        correct = np.flatnonzero(self.clean_pred == self.y[: len(self.clean_pred)])
        started, queries_before = time.monotonic(), self.endpoint.used
        perturbations, drops, successes = [], [], []
        try:
            attack = self.build(name)
            for start in range(0, len(correct), ATTACK_CHUNK):
                rows = correct[start : start + ATTACK_CHUNK]
                x, y = self.x[rows], self.y[rows]
                x_adv, found_norms = self.generate(name, attack, x, y)
                # What is scored is always inside the eps-ball: min-norm attacks (HopSkipJump) land
                # outside it when the sample is robust at eps.
                x_sent = project(x, x_adv, self.config["norm"], self.config["eps"], self.config["input_range"])
                adv_pred, adv_prob = self.scores(x_sent)
                sent_norms = norm_of(x_sent - x, self.config["norm"])
                for i, row in enumerate(rows):
                    record["attempted"] += 1
                    fooled = bool(adv_pred[i] != y[i]) and sent_norms[i] <= self.config["eps"] * (1 + NORM_TOLERANCE) + NORM_TOLERANCE
                    if fooled:
                        record["succeeded"] += 1
                        successes.append((int(row), int(adv_pred[i]), float(sent_norms[i])))
                    else:
                        record["robust_correct"] += 1
                    perturbations.append(float(found_norms[i]))
                    if adv_prob is not None and self.clean_prob is not None:
                        drops.append(float(self.clean_prob[row, y[i]] - adv_prob[i, y[i]]))
        except BudgetExhausted:
            record.update(status="budget-exhausted", error=f"max-queries ({self.config['max_queries']}) reached after {record['attempted']} of {len(correct)} samples")
        except EndpointError as error:
            record.update(status="error", error=str(error))
            raise
        except Exception as error:  # an ART or numpy failure inside one attack: the others still run
            record.update(status="error", error=f"{type(error).__name__}: {error}"[:500])
            self.errors.append({"kind": "attack", "message": f"{record['id']}: {record['error']}"})
        finally:
            attempted = record["attempted"]
            record["robust_accuracy"] = round(record["robust_correct"] / attempted, 4) if attempted else None
            record["attack_success_rate"] = round(record["succeeded"] / attempted, 4) if attempted else None
            record["mean_confidence_drop"] = round(float(np.mean(drops)), 4) if drops else None
            record["median_perturbation"] = round(float(np.median(perturbations)), 6) if perturbations else None
            record["queries"] = self.endpoint.used - queries_before
            record["seconds"] = round(time.monotonic() - started, 3)
            record["examples"] = [
                {"index": int(self.indices[row]), "true_label": int(self.y[row]), "clean_pred": int(self.clean_pred[row]), "adv_pred": adv, "perturbation": round(size, 6)}
                for row, adv, size in successes[:EXAMPLES]
            ]

    def build(self, name):
        np = self.np
        from art.attacks.evasion import FastGradientMethod, HopSkipJump, ProjectedGradientDescent, SquareAttack
        from art.estimators.classification import BlackBoxClassifier, BlackBoxClassifierNeuralNetwork

        norm = np.inf if self.config["norm"] == "inf" else 2
        eps = self.config["eps"]
        clip = tuple(self.config["input_range"])
        if name == "hopskipjump":
            classifier = BlackBoxClassifier(self.one_hot_predict, self.instance_shape, self.nb_classes, clip_values=clip)
            return HopSkipJump(classifier, targeted=False, norm=norm, batch_size=REQUEST_BATCH * self.config["concurrency"], verbose=False, **self.profile["hsj"])
        if name == "square":
            classifier = BlackBoxClassifierNeuralNetwork(self.one_hot_predict, self.image_shape(), self.nb_classes, channels_first=True, clip_values=clip)
            return SquareAttack(classifier, norm=norm, eps=eps, batch_size=REQUEST_BATCH * self.config["concurrency"], verbose=False, **self.profile["square"])
        estimator = onnx_estimator(self.graph, self.instance_shape, self.nb_classes, clip)
        if name == "fgsm":
            return FastGradientMethod(estimator, norm=norm, eps=eps, batch_size=REQUEST_BATCH)
        return ProjectedGradientDescent(estimator, norm=norm, eps=eps, eps_step=eps / 4, batch_size=REQUEST_BATCH, verbose=False, random_eps=False, **self.profile["pgd"])

    def image_shape(self):
        """SquareAttack works on images (N, C, H, W): a flat vector of d = k*k values becomes (1, k, k), other d (1, 1, d)."""
        shape = tuple(self.instance_shape)
        if len(shape) == 3:
            return shape
        if len(shape) == 2:
            return (1,) + shape
        side = int(math.isqrt(shape[0]))
        return (1, side, side) if side * side == shape[0] else (1, 1, shape[0])

    def generate(self, name, attack, x, y):
        np = self.np
        labels = np.eye(self.nb_classes, dtype=np.float32)[y]
        if name == "square":
            x_in = x.reshape((len(x),) + self.image_shape())
            x_adv = attack.generate(x=x_in, y=labels).reshape(x.shape)
        else:
            x_adv = attack.generate(x=x, y=labels)
        return x_adv.astype(np.float32), norm_of(x_adv - x, self.config["norm"])

    def report(self):
        np = self.np
        evaluated = self.evaluated
        correct = int((self.clean_pred == self.y[: len(self.clean_pred)]).sum()) if self.clean_pred is not None else 0
        import art

        return {
            "schema": SCHEMA,
            "runner_version": RUNNER_VERSION,
            "art_version": art.__version__,
            "target": display_url(self.config["target"]),
            "profile": self.config["profile"],
            "seed": self.config["seed"],
            "response": self.endpoint.response_kind,
            "nb_classes": self.nb_classes,
            "input_shape": [int(d) for d in self.instance_shape],
            "input_range": self.config["input_range"],
            "samples": {"requested": int(len(self.x)), "evaluated": int(evaluated), "correct": correct},
            "clean_accuracy": round(correct / evaluated, 4) if evaluated else None,
            "budget": {"max_queries": self.config["max_queries"], "used": self.endpoint.used, "exhausted": self.endpoint.exhausted},
            "attacks": self.attacks,
            "http": self.endpoint.stats(),
            "errors": self.errors,
        }

    def execute(self):
        """Returns the exit code; the report is complete whatever happened."""
        try:
            self.clean_pass()
        except BudgetExhausted:
            self.errors.append({"kind": "http", "message": f"max-queries ({self.config['max_queries']}) reached while scoring the clean samples ({self.evaluated} of {len(self.x)})"})
            return 0
        except EndpointError as error:
            self.errors.append({"kind": "http", "message": str(error)})
            return 3
        stop = None
        code = 0
        for name in self.plan():
            try:
                self.run_attack(name, stop)
            except EndpointError as error:
                self.errors.append({"kind": "http", "message": str(error)})
                stop, code = ("error", f"not run: the endpoint failed earlier ({error})"), 3
            if stop is None and self.endpoint.exhausted:
                stop = ("budget-exhausted", f"not run: max-queries ({self.config['max_queries']}) was reached by an earlier attack")
        return code


def display_url(url):
    """The target without query string or fragment (either may carry tokens)."""
    parts = urllib.parse.urlsplit(url)
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def write_report(path, report):
    temporary = f"{path}.partial"
    with open(temporary, "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=1)
    os.replace(temporary, path)


def main(argv):
    parser = argparse.ArgumentParser(description="secgate ART classifier runner")
    parser.add_argument("--config", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    try:
        config = read_config(args.config)
        import numpy as np

        random.seed(config["seed"])
        np.random.seed(config["seed"])  # ART's attacks draw from numpy's global generator
        run = Run(config)
    except ConfigError as error:
        print(f"secgate-art: configuration error: {error}", file=sys.stderr)
        return 2
    try:
        code = run.execute()
    finally:
        run.endpoint.close()
        write_report(args.output, run.report())
    used = run.endpoint.used
    print(f"secgate-art: {len(run.attacks)} attack(s), {used} of {config['max_queries']} queries, exit {code}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
