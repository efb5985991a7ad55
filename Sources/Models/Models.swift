// Models: detector and face-network architectures built from Neural, bound strictly to PyTorch key names.
