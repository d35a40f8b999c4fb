"""The mixed logit: the model, its compiled kernels, their numpy reference twins (test oracles) and the
simulation draws."""
