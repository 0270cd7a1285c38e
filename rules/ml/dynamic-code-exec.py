import ast
import importlib.util
from pathlib import Path


def load_prompt_from_file(file_path):
    helper = importlib.util.module_from_spec(importlib.util.spec_from_loader("prompt", loader=None))
    with open(file_path, "rb") as f:
        # ruleid: secgate.ml.dynamic-code-exec
        exec(f.read(), helper.__dict__)
    # ruleid: secgate.ml.dynamic-code-exec
    exec(Path(file_path).read_text(), {})
    return helper


def output_processor(output, local_vars):
    tree = ast.parse(output)
    module = ast.Module(tree.body[:-1], type_ignores=[])
    # ruleid: secgate.ml.dynamic-code-exec
    exec(ast.unparse(module), {}, local_vars)
    module_end_str = ast.unparse(ast.Module(tree.body[-1:], type_ignores=[]))
    # ruleid: secgate.ml.dynamic-code-exec
    return str(eval(module_end_str, {}, local_vars))


def safe(path, expr):
    with open(path) as f:
        text = f.read()
    # ok: secgate.ml.dynamic-code-exec
    value = ast.literal_eval(text)
    # ok: secgate.ml.dynamic-code-exec
    exec("x = 1", {})
    # ok: secgate.ml.dynamic-code-exec
    return value, ast.unparse(ast.parse(expr))
