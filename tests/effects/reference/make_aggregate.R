# References for trialsynth.effects.aggregate_effects: metafor's aggregate.escalc, which combines the
# correlated estimates of one cluster (a trial's several outcomes, time points or comparisons).
# Run from this folder:  Rscript make_aggregate.R   (writes aggregate.json)
# R 4.2, metafor 3.8-1, metadat, jsonlite. R is not a runtime dependency of trialsynth.
suppressMessages({library(metafor); library(metadat); library(jsonlite)})
cases <- list()
add <- function(name, source, dat, args, inputs) {
  agg <- do.call(aggregate, c(list(x = dat), args))
  cases[[length(cases) + 1]] <<- list(name = name, source = source, inputs = inputs,
    args = args[setdiff(names(args), c("cluster", "time", "obs", "V"))],
    cluster_out = as.character(agg$cluster_out), yi = as.numeric(agg$yi), vi = as.numeric(agg$vi),
    ki = as.numeric(agg$ki))
}
ass <- escalc(yi = yi, vi = vi, data = dat.assink2016)
ass$cluster_out <- ass$study
src_ass <- "Assink et al. 2016, J Youth Adolesc (metadat dat.assink2016)"
inp_ass <- list(yi = as.numeric(ass$yi), vi = as.numeric(ass$vi), cluster = as.character(ass$study),
                time = as.numeric(ass$esid))
add("assink2016-CS-rho=0.6", src_ass, ass, list(cluster = ass$study, rho = 0.6, addk = TRUE), inp_ass)
add("assink2016-CS-rho=0.6-unweighted", src_ass, ass, list(cluster = ass$study, rho = 0.6, weighted = FALSE, addk = TRUE), inp_ass)
add("assink2016-ID", src_ass, ass, list(cluster = ass$study, struct = "ID", addk = TRUE), inp_ass)
add("assink2016-CAR-phi=0.9", src_ass, ass, list(cluster = ass$study, struct = "CAR", time = ass$esid, phi = 0.9, addk = TRUE), inp_ass)
add("assink2016-CS+CAR", src_ass, ass, list(cluster = ass$study, struct = "CS+CAR", time = ass$esid, rho = 0.4, phi = 0.8, addk = TRUE), inp_ass)
nclus <- length(unique(ass$study))
rhos <- round(seq(0.1, 0.9, length.out = nclus), 3)
add("assink2016-CS-rho-per-cluster", src_ass, ass, list(cluster = ass$study, rho = rhos, addk = TRUE), c(inp_ass, list(rho_per_cluster = rhos)))
kon <- escalc(yi = yi, vi = vi, data = dat.konstantopoulos2011)
kon$cluster_out <- kon$district
add("konstantopoulos2011-ID", "Konstantopoulos 2011, Res Synth Methods 2:61 (metadat dat.konstantopoulos2011)", kon,
    list(cluster = kon$district, struct = "ID", addk = TRUE),
    list(yi = as.numeric(kon$yi), vi = as.numeric(kon$vi), cluster = as.character(kon$district)))
# a trial with outcomes at time points: CS*CAR, an NA estimate, and a full V
toy <- escalc(yi = c(0.2, 0.35, 0.1, 0.5, NA, 0.3, -0.1, 0.05, 0.4),
              vi = c(0.04, 0.05, 0.03, 0.06, 0.05, 0.02, 0.03, 0.04, 0.1))
toy$trial <- c("A", "A", "A", "A", "B", "B", "B", "C", "A")
toy$time <- c(1, 2, 1, 2, 1, 1, 3, 1, 4)
toy$outcome <- c("pain", "pain", "function", "function", "pain", "pain", "pain", "pain", "pain")
toy$cluster_out <- toy$trial
inp_toy <- list(yi = as.numeric(toy$yi), vi = as.numeric(toy$vi), cluster = toy$trial, time = toy$time, obs = toy$outcome)
add("toy-CS*CAR", "constructed", toy, list(cluster = toy$trial, struct = "CS*CAR", time = toy$time, obs = toy$outcome,
                                          rho = 0.5, phi = 0.7, addk = TRUE), inp_toy)
add("toy-CS-NA", "constructed", toy, list(cluster = toy$trial, rho = 0.3, addk = TRUE), inp_toy)
R <- outer(seq_len(9), seq_len(9), function(i, j) ifelse(toy$trial[i] == toy$trial[j], ifelse(i == j, 1, 0.25 + 0.05 * ((i + j) %% 3)), 0))
V <- R * sqrt(outer(toy$vi, toy$vi))
add("toy-V", "constructed", toy, list(cluster = toy$trial, V = V, addk = TRUE), c(inp_toy, list(V = unname(split(V, row(V))))))
add("toy-V-unweighted", "constructed", toy, list(cluster = toy$trial, V = V, weighted = FALSE, addk = TRUE), c(inp_toy, list(V = unname(split(V, row(V))))))
writeLines(toJSON(list(software = list(metafor = as.character(packageVersion("metafor")), R = R.version.string),
                       note = "aggregate(escalc object, cluster = ..., ...); clusters in order of first appearance",
                       cases = cases),
                  auto_unbox = TRUE, digits = NA, na = "string", null = "null", pretty = TRUE), "aggregate.json")
cat(length(cases), "cases written\n")
