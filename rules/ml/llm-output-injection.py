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
