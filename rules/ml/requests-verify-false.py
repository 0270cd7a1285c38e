import httpx
import requests


def download(url, payload):
    # ruleid: secgate.ml.requests-verify-false
    r = requests.get(url, verify=False)
    # ruleid: secgate.ml.requests-verify-false
    r = requests.post(url, json=payload, verify=False, timeout=5)
    # ruleid: secgate.ml.requests-verify-false
    r = requests.request("GET", url, verify=False)
    # ruleid: secgate.ml.requests-verify-false
    r = requests.Session().get(url, verify=False)
    s = requests.Session()
    # ruleid: secgate.ml.requests-verify-false
    s.verify = False
    # ruleid: secgate.ml.requests-verify-false
    r = s.get(url, verify=False)
    with requests.Session() as sess:
        # ruleid: secgate.ml.requests-verify-false
        r = sess.post(url, data=payload, verify=False)
    # ruleid: secgate.ml.requests-verify-false
    r = httpx.get(url, verify=False)
    return r


def download_safe(url, payload):
    # ok: secgate.ml.requests-verify-false
    r = requests.get(url, timeout=10)
    # ok: secgate.ml.requests-verify-false
    r = requests.post(url, json=payload, verify=True, timeout=10)
    # ok: secgate.ml.requests-verify-false
    r = requests.get(url, verify="/etc/ssl/certs/ca-certificates.crt", timeout=10)
    s = requests.Session()
    # ok: secgate.ml.requests-verify-false
    r = s.get(url, timeout=10)
    return r
