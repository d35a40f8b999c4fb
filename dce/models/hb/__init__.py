"""Hierarchical Bayes logit: the model, the Gibbs/Metropolis sampler, its compiled kernels and their numpy
reference twins (test oracles), the posterior summary and the convergence diagnostics."""
