// Weights: safetensors and PyTorch checkpoint readers giving named tensors; .npy read and write.
