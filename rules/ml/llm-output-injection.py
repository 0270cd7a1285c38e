import ast
import json
import os
import shlex
import sqlite3
import subprocess

import anthropic
from langchain_openai import ChatOpenAI
from openai import OpenAI
from transformers import AutoModelForCausalLM, AutoTokenizer, pipeline

client = OpenAI()
claude = anthropic.Anthropic()
llm = ChatOpenAI(model="gpt-4o-mini")
conn = sqlite3.connect("app.db")


def openai_eval(question):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": question}],
    )
    code = resp.choices[0].message.content
    # ruleid: secgate.ml.llm-output-injection
    return eval(code)


def openai_responses_exec(task):
    out = client.responses.create(model="gpt-4o-mini", input=task).output_text
    # ruleid: secgate.ml.llm-output-injection
    exec(out)


def anthropic_shell(task):
    msg = claude.messages.create(
        model="claude-sonnet-4-5", max_tokens=256, messages=[{"role": "user", "content": task}]
    )
    cmd = msg.content[0].text
    # ruleid: secgate.ml.llm-output-injection
    os.system(cmd)
    # ruleid: secgate.ml.llm-output-injection
    subprocess.run(cmd, shell=True, check=True)
    # ruleid: secgate.ml.llm-output-injection
    subprocess.check_output("echo " + cmd, shell=True)


def langchain_sql(question):
    table = llm.invoke(f"Which table answers: {question}?").content
    cur = conn.cursor()
    # ruleid: secgate.ml.llm-output-injection
    cur.execute(f"SELECT * FROM {table} LIMIT 10")
    # ruleid: secgate.ml.llm-output-injection
    cur.execute("SELECT * FROM %s" % table)
    # ruleid: secgate.ml.llm-output-injection
    cur.execute("SELECT * FROM {}".format(table))
    # ruleid: secgate.ml.llm-output-injection
    cur.execute("SELECT * FROM " + table)
    # ok: secgate.ml.llm-output-injection
    cur.execute("SELECT * FROM docs WHERE title = ?", (table,))
    return cur.fetchall()


def langchain_call(question):
    answer = llm(question)
    # ruleid: secgate.ml.llm-output-injection
    eval(answer)


def hf_generate(prompt):
    tok = AutoTokenizer.from_pretrained("gpt2")
    model = AutoModelForCausalLM.from_pretrained("gpt2")
    ids = model.generate(**tok(prompt, return_tensors="pt"), max_new_tokens=64)
    text = tok.decode(ids[0], skip_special_tokens=True)
    # ruleid: secgate.ml.llm-output-injection
    exec(text)


def hf_pipeline(prompt):
    gen = pipeline("text-generation", model="gpt2")
    result = gen(prompt)[0]["generated_text"]
    # ruleid: secgate.ml.llm-output-injection
    os.system(result)


def safe_handling(question, raw_bytes):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": question}],
    )
    text = resp.choices[0].message.content
    # ok: secgate.ml.llm-output-injection
    data = json.loads(text)
    # ok: secgate.ml.llm-output-injection
    value = ast.literal_eval(text)
    # ok: secgate.ml.llm-output-injection
    subprocess.run(["grep", "-r", text, "docs/"], check=True)
    # ok: secgate.ml.llm-output-injection
    os.system("ls " + shlex.quote(text))
    # ok: secgate.ml.llm-output-injection
    eval("1 + 1")
    local = raw_bytes.decode("utf-8")
    # ok: secgate.ml.llm-output-injection
    os.system(local)
    return data, value


# --- precision: generic method names on objects that are not models ---------------------------


def constant_shell_and_sklearn(clf, X, worker):
    # ok: secgate.ml.llm-output-injection
    subprocess.run("ls -l", shell=True)
    out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True).stdout.decode()
    # ok: secgate.ml.llm-output-injection
    subprocess.run("echo " + out, shell=True)
    labels = clf.predict(X)
    # ok: secgate.ml.llm-output-injection
    os.system("echo %s" % labels)
    status = worker.run()
    # ok: secgate.ml.llm-output-injection
    eval(status)


def chain_receivers(question):
    from langchain.chains import LLMChain

    llm_chain = LLMChain(llm=llm, prompt=None)
    code = llm_chain.predict(question=question)
    # ruleid: secgate.ml.llm-output-injection
    exec(code)
    agent_answer = agent_executor.run(question)
    # ruleid: secgate.ml.llm-output-injection
    os.system(agent_answer)


class ChainLike:
    def _call(self, inputs):
        sql_cmd = self.llm_chain.predict(**inputs)
        # ruleid: secgate.ml.llm-output-injection
        return self.database.run(sql_cmd)


# --- argv-form shells and interpreters -----------------------------------------------------------


def argv_shells(task):
    out = llm.invoke(task).content
    # ruleid: secgate.ml.llm-output-injection
    subprocess.run(["bash", "-c", out])
    # ruleid: secgate.ml.llm-output-injection
    subprocess.check_output(["/bin/sh", "-c", out])
    # ruleid: secgate.ml.llm-output-injection
    subprocess.Popen(["python3", "-c", out])
    # ok: secgate.ml.llm-output-injection
    subprocess.run(["grep", "-c", out, "file.txt"])


# --- Python REPLs and local exec helpers ---------------------------------------------------------


def run_code(code):
    exec(code)


def repl_and_helpers(task):
    from langchain.utilities import PythonREPL

    code = llm.invoke(task).content
    repl = PythonREPL()
    # ruleid: secgate.ml.llm-output-injection
    repl.run(code)
    # ruleid: secgate.ml.llm-output-injection
    run_code(code)
    # ok: secgate.ml.llm-output-injection
    run_code("print(1)")


# --- LangChain tools: the model chooses their arguments ------------------------------------------

from langchain.agents import Tool
from langchain.tools import BaseTool, StructuredTool, tool


@tool
def lookup_user(user_id: str) -> str:
    """Look a user up."""
    cur = conn.cursor()
    # ruleid: secgate.ml.llm-output-injection
    cur.execute(f"SELECT * FROM users WHERE id = '{user_id}'")
    # ok: secgate.ml.llm-output-injection
    cur.execute("SELECT * FROM users WHERE id = ?", (user_id,))
    return str(cur.fetchall())


def get_transactions(userId: str) -> str:
    cur = conn.cursor()
    # ruleid: secgate.ml.llm-output-injection
    cur.execute(f"SELECT * FROM Transactions WHERE userId = '{str(userId)}'")
    return str(cur.fetchall())


transactions_tool = Tool(name="GetUserTransactions", func=get_transactions, description="...")


def shell_tool(command: str) -> str:
    # ruleid: secgate.ml.llm-output-injection
    return subprocess.check_output(command, shell=True).decode()


structured = StructuredTool.from_function(shell_tool)


class SqlTool(BaseTool):
    name = "sql"

    def _run(self, query: str, run_manager=None) -> str:
        # ruleid: secgate.ml.llm-output-injection
        return str(conn.execute(query).fetchall())


def not_a_tool(query: str) -> str:
    # ok: secgate.ml.llm-output-injection
    return str(conn.execute(query).fetchall())
