// Neural: float32 tensors, primitive ops with forward and backward side by side, BLAS kernels, gradient tape.
