import json

import requests
import sseclient


def stream_complete(url, prompt):
    response = requests.post(url, json={"prompt": prompt}, stream=True)
    client = sseclient.SSEClient(response)
    events = client.events()

    def gen():
        for item in events:
            # ruleid: secgate.ml.remote-response-code-exec
            payload = eval(item.data)
            yield payload["choices"][0]["text"]

    return gen()


def complete(url, prompt):
    resp = requests.post(url, json={"prompt": prompt})
    # ruleid: secgate.ml.remote-response-code-exec
    return eval(resp.text)


def safe_complete(url, prompt):
    resp = requests.post(url, json={"prompt": prompt})
    # ok: secgate.ml.remote-response-code-exec
    data = json.loads(resp.text)
    # ok: secgate.ml.remote-response-code-exec
    eval("1 + 1")
    return data


def no_network(expr):
    # ok: secgate.ml.remote-response-code-exec
    return eval(expr)
