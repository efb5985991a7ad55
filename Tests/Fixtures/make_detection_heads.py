"""Head fixtures for deepscope's Detection module: embedding classifiers fitted by scikit-learn and a cosine head.

Run with the oracle venv: /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_detection_heads.py

Writes Tests/Fixtures/detection/heads/: per head a safetensors of its parameters in deepscope's bundle layout
(`weight` K×D and `bias` K for logistic / linear-svm / cosine; `gallery` M×D and `labels` M for knn) and
heads.json with query embeddings and scikit-learn's (or, for cosine, numpy's ArcFace formula) outputs:
- logistic (binary): LogisticRegression.predict_proba; logistic3 (3 classes, multinomial) likewise;
- linear-svm: LinearSVC.decision_function (deepscope's logit; p_fake = sigmoid of it);
- knn: KNeighborsClassifier(5) on L2-normalised embeddings, predict_proba;
- cosine: softmax(s * normalize(e) . normalize(W_k)), s = 16.
"""
import json
import os

import numpy as np
from safetensors.numpy import save_file
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.svm import LinearSVC

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "detection", "heads")
os.makedirs(OUT, exist_ok=True)
rng = np.random.default_rng(3)
D = 8
centres = rng.normal(0, 1, (3, D)).astype(np.float32)
labels3 = rng.integers(0, 3, 60)
train = (centres[labels3] + rng.normal(0, 0.9, (60, D))).astype(np.float32)
labels2 = (labels3 > 0).astype(int)  # class 0 real, anything else fake
queries = (centres[rng.integers(0, 3, 6)] + rng.normal(0, 1.0, (6, D))).astype(np.float32)
f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)
result = {"queries": queries.tolist()}

lr = LogisticRegression().fit(train, labels2)
save_file({"weight": f32(lr.coef_), "bias": f32(lr.intercept_)}, os.path.join(OUT, "logistic.safetensors"))
result["logistic"] = lr.predict_proba(queries).tolist()

lr3 = LogisticRegression().fit(train, labels3)
save_file({"weight": f32(lr3.coef_), "bias": f32(lr3.intercept_)}, os.path.join(OUT, "logistic3.safetensors"))
result["logistic3"] = lr3.predict_proba(queries).tolist()

svm = LinearSVC().fit(train, labels2)
save_file({"weight": f32(svm.coef_), "bias": f32(svm.intercept_)}, os.path.join(OUT, "svm.safetensors"))
result["svm"] = svm.decision_function(queries).tolist()

norm = lambda a: a / np.linalg.norm(a, axis=1, keepdims=True)
knn = KNeighborsClassifier(5).fit(norm(train), labels3)
save_file({"gallery": f32(train), "labels": f32(labels3)}, os.path.join(OUT, "knn.safetensors"))
result["knn"] = knn.predict_proba(norm(queries)).tolist()

W = rng.normal(0, 1, (3, D)).astype(np.float32)
save_file({"weight": W}, os.path.join(OUT, "cosine.safetensors"))
z = 16 * norm(queries.astype(np.float64)) @ norm(W.astype(np.float64)).T
e = np.exp(z - z.max(1, keepdims=True))
result["cosine"] = (e / e.sum(1, keepdims=True)).tolist()

with open(os.path.join(OUT, "heads.json"), "w") as f:
    json.dump(result, f, indent=1)
print("ok")
