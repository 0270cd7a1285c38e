from langchain.python import PythonREPL
from langchain.tools.python.tool import PythonAstREPLTool


def process_llm_result(t):
    python_executor = PythonREPL()
    code = t[9:-4]
    # ruleid: secgate.ml.python-repl-exec
    return python_executor.run(code)


def agent_tool(query):
    # ruleid: secgate.ml.python-repl-exec
    return PythonAstREPLTool().run(query)


def constant():
    repl = PythonREPL()
    # ok: secgate.ml.python-repl-exec
    return repl.run("print(1 + 1)")


def not_a_repl(runner, job):
    # ok: secgate.ml.python-repl-exec
    return runner.run(job)
