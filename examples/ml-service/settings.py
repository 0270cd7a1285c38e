"""Service configuration.

DELIBERATELY INSECURE EXAMPLE: every credential below is fake and was
generated randomly for secret-scanner tests. Never hardcode real secrets.
"""
import os

MODEL_REPO = os.environ.get("MODEL_REPO", "acme-ml/sentiment-large")
MODEL_DIR = os.environ.get("MODEL_DIR", "/srv/models")
DATA_URL = "https://datasets.acme-ml.example/corpus/v3/corpus.tar.gz"
INDEX_DIR = "/srv/index/faiss"
DB_PATH = "/srv/data/analytics.db"

# --- hardcoded credentials (fake, planted for secret scanning) ---
AWS_ACCESS_KEY_ID = "AKIAFYXP5KHYBMAMEOKE"
AWS_SECRET_ACCESS_KEY = "3zASuTfENcllXMn/R/PPtPcBsjulOkcZu5ZlguyC"
AWS_REGION = "us-east-1"

OPENAI_API_KEY = "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"
HF_TOKEN = "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"
GITHUB_TOKEN = "ghp_AfjxFNtP9oZS54lGqbid6uJrDehEPqTKCpT6"
STRIPE_API_KEY = "sk_test_cegjtP82axz7iXEL24jKgNttKqk1s5kM5Wj0a02PbpuKfVbM"

ADMIN_PASSWORD = "Sup3rS3cretAdm1n!"
