// Explain: GradCAM family, attention maps, supervoxels with Kernel SHAP, explainer consistency metrics.
