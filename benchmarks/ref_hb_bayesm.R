# Reference for the hierarchical Bayes logit: bayesm::rhierMnlRwMixture on bayesm's own `camera` data.
#
#   Rscript benchmarks/ref_hb_bayesm.R OUTDIR [ITERATIONS=20000] [KEEP=10] [SEED=66]
#
# Default priors (ncomp = 1, mubar = 0, Amu = 0.01, nu = k + 3, V = nu I), R iterations, every KEEP-th
# draw kept, the second half of the kept draws used (bayesm's own example).  Writes to OUTDIR:
#   camera_long.csv            the data as bayesm has them, one row per alternative (id, task, alt, X, choice)
#   population.csv             per coefficient: posterior mean and sd of the population mean and of the
#                              population sd (sqrt of the diagonal of Sigma), over the kept second half
#   correlation.csv            posterior mean of the population correlation matrix
#   individual.csv             each respondent's posterior mean coefficients (id = position in `camera`)
#   loglike.csv                bayesm's log-likelihood trace (every kept draw)
#   timing.csv                 seconds of rhierMnlRwMixture itself (the wrapper times the whole process)
# Needs R and r-cran-bayesm (apt-get install r-base-core r-cran-bayesm).
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) >= 1) args[1] else "."
R <- if (length(args) >= 2) as.integer(args[2]) else 20000L
keep <- if (length(args) >= 3) as.integer(args[3]) else 10L
seed <- if (length(args) >= 4) as.integer(args[4]) else 66L
dir.create(out, showWarnings = FALSE, recursive = TRUE)
suppressPackageStartupMessages(library(bayesm))
data(camera)
nlgt <- length(camera)
names_x <- colnames(camera[[1]]$X)
p <- 5

# the data, long, in bayesm's order (respondent = position in the list, task = position in y)
rows <- vector("list", nlgt)
for (i in seq_len(nlgt)) {
  X <- camera[[i]]$X
  y <- camera[[i]]$y
  nt <- length(y)
  task <- rep(seq_len(nt), each = p)
  alt <- rep(seq_len(p), nt)
  rows[[i]] <- data.frame(id = i, task = task, alt = alt, X, choice = as.integer(alt == y[task]))
}
write.csv(do.call(rbind, rows), file.path(out, "camera_long.csv"), row.names = FALSE)

set.seed(seed)
t0 <- proc.time()[["elapsed"]]
fit <- rhierMnlRwMixture(Data = list(lgtdata = camera, p = p), Prior = list(ncomp = 1),
                         Mcmc = list(R = R, keep = keep, nprint = 0))
seconds <- proc.time()[["elapsed"]] - t0

nkeep <- R / keep
kept <- (nkeep / 2 + 1):nkeep
k <- length(names_x)
mu <- matrix(NA, length(kept), k)
sds <- matrix(NA, length(kept), k)
cor_sum <- matrix(0, k, k)
for (d in seq_along(kept)) {
  comp <- fit$nmix$compdraw[[kept[d]]][[1]]
  Sigma <- solve(comp$rooti %*% t(comp$rooti))   # rooti: inverse of the upper Cholesky root of Sigma
  mu[d, ] <- comp$mu
  sds[d, ] <- sqrt(diag(Sigma))
  cor_sum <- cor_sum + cov2cor(Sigma)
}
pop <- data.frame(name = names_x, mean = colMeans(mu), mean_sd = apply(mu, 2, sd),
                  sd = colMeans(sds), sd_sd = apply(sds, 2, sd))
write.csv(pop, file.path(out, "population.csv"), row.names = FALSE)
cm <- cor_sum / length(kept)
dimnames(cm) <- list(names_x, names_x)
write.csv(cm, file.path(out, "correlation.csv"))
ind <- apply(fit$betadraw[, , kept, drop = FALSE], c(1, 2), mean)
colnames(ind) <- names_x
write.csv(data.frame(id = seq_len(nlgt), ind), file.path(out, "individual.csv"), row.names = FALSE)
write.csv(data.frame(draw = seq_len(nkeep) * keep, loglike = fit$loglike), file.path(out, "loglike.csv"),
          row.names = FALSE)
write.csv(data.frame(seconds = seconds, iterations = R, keep = keep, seed = seed,
                     bayesm = as.character(packageVersion("bayesm")), r = R.version.string),
          file.path(out, "timing.csv"), row.names = FALSE)
cat(sprintf("rhierMnlRwMixture: %d iterations in %.2f s\n", R, seconds))
