"""Download and unpack training data (DELIBERATELY INSECURE)."""
import os
import tarfile

import boto3
import requests

import settings


def download_corpus(dest_dir="/tmp/corpus"):
    os.makedirs(dest_dir, exist_ok=True)
    archive = os.path.join(dest_dir, "corpus.tar.gz")
    # unsafe: TLS verification disabled (and no timeout)
    resp = requests.get(settings.DATA_URL, verify=False, stream=True)
    resp.raise_for_status()
    with open(archive, "wb") as fh:
        for chunk in resp.iter_content(chunk_size=1 << 20):
            fh.write(chunk)
    # unsafe: no extraction filter -> path traversal ("tar slip")
    with tarfile.open(archive, "r:gz") as tar:
        tar.extractall(dest_dir)
    return dest_dir


def download_from_s3(key, dest):
    s3 = boto3.client(
        "s3",
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        region_name=settings.AWS_REGION,
    )
    s3.download_file("acme-ml-datasets", key, dest)
    return dest
