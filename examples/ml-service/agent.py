"""LLM "analytics agent" (DELIBERATELY INSECURE).

The model's answer is trusted and executed as Python, shell and SQL.
"""
import os
import sqlite3
import subprocess

from openai import OpenAI

import settings

client = OpenAI(api_key=settings.OPENAI_API_KEY)
db = sqlite3.connect(settings.DB_PATH, check_same_thread=False)


def ask(prompt):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": prompt}],
    )
    return resp.choices[0].message.content


def run_python_tool(task):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Write one Python expression for: {task}"}],
    )
    expression = resp.choices[0].message.content
    return eval(expression)


def run_script_tool(task):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Write a Python script for: {task}"}],
    )
    code = resp.choices[0].message.content
    scope = {}
    exec(code, scope)
    return scope.get("result")


def run_shell_tool(task):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Give one shell command to: {task}"}],
    )
    command = resp.choices[0].message.content.strip()
    out = subprocess.run(command, shell=True, capture_output=True, text=True)
    return out.stdout


def cleanup_tool(task):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Which temp dir should be removed for: {task}"}],
    )
    target = resp.choices[0].message.content.strip()
    os.system("rm -rf " + target)


def sql_tool(question):
    resp = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": f"Which table and column answer: {question}? Reply 'table,column'."}],
    )
    table, column = resp.choices[0].message.content.strip().split(",")
    cur = db.cursor()
    cur.execute(f"SELECT {column}, COUNT(*) FROM {table} GROUP BY {column}")
    return cur.fetchall()
