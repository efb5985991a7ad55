"""Evaluation-metric fixtures for deepscope's Detection module, computed by scikit-learn.

Run with the oracle venv: /root/.cache/deepscope-oracle/venv/bin/python Tests/Fixtures/make_detection_metrics.py

Writes Tests/Fixtures/detection/metrics.json: for several labelled score lists (random, heavy ties, perfectly
separated, one class only) the values of roc_auc_score, roc_curve(drop_intermediate=False), log_loss and, at
0.5 and at the EER threshold, accuracy, precision, recall, F1 (zero_division=0), FPR, FNR and HTER from the
confusion matrix (score >= threshold predicts fake). EER is deepscope's written definition: on the ROC points,
the first threshold minimising |FNR - FPR| (numpy argmin), EER = (FPR + FNR) / 2 there.
"""
import json
import os

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, f1_score, log_loss, precision_score, recall_score,
                             roc_auc_score, roc_curve)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "detection", "metrics.json")
rng = np.random.default_rng(7)


def at(y, s, t):
    pred = (s >= t).astype(int)
    tn, fp, fn, tp = confusion_matrix(y, pred, labels=[0, 1]).ravel()
    fpr = fp / (fp + tn) if fp + tn else None
    fnr = fn / (fn + tp) if fn + tp else None
    return {"threshold": None if np.isinf(t) else float(t), "accuracy": accuracy_score(y, pred),
            "precision": precision_score(y, pred, zero_division=0), "recall": recall_score(y, pred, zero_division=0),
            "f1": f1_score(y, pred, zero_division=0), "fpr": fpr, "fnr": fnr,
            "hter": (fpr + fnr) / 2 if fpr is not None and fnr is not None else None,
            "tp": int(tp), "fp": int(fp), "tn": int(tn), "fn": int(fn)}


def case(y, s):
    y = np.asarray(y, int)
    s = np.asarray(s, np.float64)
    out = {"labels": y.tolist(), "scores": s.tolist(), "log_loss": log_loss(y, s, labels=[0, 1]), "at_half": at(y, s, 0.5)}
    if len(set(y.tolist())) < 2:
        out["auc"] = None  # roc_auc_score raises: "Only one class present in y_true"
        return out
    out["auc"] = roc_auc_score(y, s)
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    fnr = 1 - tpr
    i = int(np.argmin(np.abs(fnr - fpr)))
    out["eer"] = (fpr[i] + fnr[i]) / 2
    out["eer_threshold"] = None if np.isinf(thr[i]) else float(thr[i])
    out["at_eer"] = at(y, s, thr[i])
    out["roc"] = {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": [None if np.isinf(t) else float(t) for t in thr]}
    return out


cases = {}
y = rng.integers(0, 2, 40)
cases["random"] = case(y, np.round(np.clip(rng.normal(0.35 + 0.3 * y, 0.2), 0, 1), 4))
y = rng.integers(0, 2, 30)
cases["ties"] = case(y, np.round(np.clip(rng.normal(0.4 + 0.2 * y, 0.25), 0.05, 0.95), 1))
cases["perfect"] = case([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
cases["extremes"] = case([0, 1, 0, 1, 1], [0.0, 1.0, 1.0, 0.0, 0.6])
cases["single"] = case([1, 1, 1], [0.2, 0.7, 0.9])
with open(OUT, "w") as f:
    json.dump(cases, f, indent=1)
print({k: (v["auc"], v.get("eer")) for k, v in cases.items()})
