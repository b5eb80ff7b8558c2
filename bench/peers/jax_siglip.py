#!/usr/bin/env python3
"""JAX's jit of big_vision's materialized sigmoid loss, fwd+bwd, as a peer for
bench/throughput.js: prints the fastest of SAMPLES timed calls in seconds.

    python3 bench/peers/jax_siglip.py N D SAMPLES

The loss is big_vision's (big_vision/trainers/proj/image_text/siglip.py): the
N x N logits materialized, log_sigmoid of the signed logits, summed and divided
by N; jax.value_and_grad over both embeddings, t' and b. Inputs are the same
unit rows as the JS side's in shape and scale (the values do not change the
time). The first call compiles and is not timed.
"""
import os
import sys
import time

import jax
import jax.numpy as jnp


def sigmoid_loss(x, y, t_prime, bias):
    logits = x @ y.T * jnp.exp(t_prime) + bias
    n = logits.shape[0]
    signs = 2 * jnp.eye(n, dtype=logits.dtype) - 1
    return -jnp.sum(jax.nn.log_sigmoid(signs * logits)) / n


def main():
    n, d, samples = (int(a) for a in sys.argv[1:4])
    keys = jax.random.split(jax.random.PRNGKey(0), 2)
    x, y = (jax.random.normal(k, (n, d), jnp.float32) for k in keys)
    x = x / jnp.linalg.norm(x, axis=1, keepdims=True)
    y = y / jnp.linalg.norm(y, axis=1, keepdims=True)
    step = jax.jit(jax.value_and_grad(sigmoid_loss, argnums=(0, 1, 2, 3)))
    args = (x, y, jnp.float32(jnp.log(10.0)), jnp.float32(-10.0))
    jax.block_until_ready(step(*args))
    best = float("inf")
    for _ in range(samples):
        start = time.perf_counter()
        jax.block_until_ready(step(*args))
        best = min(best, time.perf_counter() - start)
    print(f"{best:.6f} jax {jax.__version__} {jax.devices()[0].platform} {os.cpu_count()} cpus")


if __name__ == "__main__":
    main()
