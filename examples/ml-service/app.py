"""Inference API (DELIBERATELY INSECURE example for secgate)."""
import torch
from fastapi import FastAPI
from pydantic import BaseModel

import agent
import model_loader

app = FastAPI(title="acme-ml inference")
tokenizer, model = model_loader.load_transformer()
label_encoder = model_loader.load_label_encoder()
index = model_loader.load_vector_index()


class PredictRequest(BaseModel):
    text: str


class AgentRequest(BaseModel):
    task: str


@app.post("/predict")
def predict(req: PredictRequest):
    inputs = tokenizer(req.text, return_tensors="pt", truncation=True)
    with torch.no_grad():
        logits = model(**inputs).logits
    label = label_encoder.inverse_transform([int(logits.argmax(-1))])[0]
    return {"label": str(label)}


@app.post("/search")
def search(req: PredictRequest):
    docs = index.similarity_search(req.text, k=5)
    return {"results": [d.page_content for d in docs]}


@app.post("/agent/python")
def agent_python(req: AgentRequest):
    return {"result": repr(agent.run_python_tool(req.task))}


@app.post("/agent/shell")
def agent_shell(req: AgentRequest):
    return {"stdout": agent.run_shell_tool(req.task)}


@app.post("/agent/sql")
def agent_sql(req: AgentRequest):
    return {"rows": agent.sql_tool(req.task)}


if __name__ == "__main__":
    import uvicorn

    uvicorn.run(app, host="0.0.0.0", port=8080)
