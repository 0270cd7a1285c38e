import ast
import os
import subprocess

from langchain.tools import BaseTool, tool


class PythonAstTool(BaseTool):
    name = "python_ast"

    def _run(self, query: str, run_manager=None) -> str:
        tree = ast.parse(query)
        module = ast.Module(tree.body[:-1], type_ignores=[])
        # ruleid: secgate.ml.llm-tool-code-exec
        exec(ast.unparse(module), {}, {})
        # ruleid: secgate.ml.llm-tool-code-exec
        return str(eval(ast.unparse(ast.Module(tree.body[-1:], type_ignores=[]))))

    async def _arun(self, command: str) -> str:
        # ruleid: secgate.ml.llm-tool-code-exec
        return subprocess.check_output(command[2:], shell=True).decode()


@tool
def shell(command: str) -> str:
    """Run a shell command."""
    # ruleid: secgate.ml.llm-tool-code-exec
    return str(os.system(command.strip()[1:]))


class SafeTool(BaseTool):
    name = "safe"

    def _run(self, query: str, run_manager=None) -> str:
        # ok: secgate.ml.llm-tool-code-exec
        os.system("uptime")
        # ok: secgate.ml.llm-tool-code-exec
        return str(ast.literal_eval(query))


def not_a_tool(code):
    # ok: secgate.ml.llm-tool-code-exec
    exec(code)
