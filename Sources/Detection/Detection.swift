// Detection: detector manifests and presets, heads, per-frame scoring, video verdicts, evaluation metrics.
