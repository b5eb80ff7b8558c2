// The SigLIP loss and its gradients in float64, straight from the definition
// (diagonal positives), for reporting precision 'bf16''s error.
'use strict';

function float64Reference(x, y, n, m, dim, tPrime, bias) {
  const t = Math.exp(tPrime);
  const dx = new Float64Array(n * dim);
  const dy = new Float64Array(m * dim);
  let loss = 0;
  let dTPrime = 0;
  let dBias = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let dot = 0;
      for (let k = 0; k < dim; k++) dot += x[i * dim + k] * y[j * dim + k];
      const logit = t * dot + bias;
      const z = i === j ? -logit : logit;
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z)));
      const g = (1 / (1 + Math.exp(-logit)) - (i === j ? 1 : 0)) / n;
      dBias += g;
      dTPrime += t * g * dot;
      for (let k = 0; k < dim; k++) {
        dx[i * dim + k] += t * g * y[j * dim + k];
        dy[j * dim + k] += t * g * x[i * dim + k];
      }
    }
  }
  return { loss: loss / n, dx, dy, dTPrime, dBias };
}

/** ||got - want|| / ||want|| over all elements. */
function relativeError(got, want) {
  let num = 0;
  let den = 0;
  for (let i = 0; i < want.length; i++) {
    num += (got[i] - want[i]) ** 2;
    den += want[i] ** 2;
  }
  return Math.sqrt(num / den);
}

/** Relative error of each output of a pass against float64Reference. */
function errorsAgainstFloat64(result, x, y, n, m, dim, tPrime, bias) {
  const want = float64Reference(x, y, n, m, dim, tPrime, bias);
  return {
    loss: relativeError([result.loss], [want.loss]),
    dx: relativeError(result.dx, want.dx),
    dy: relativeError(result.dy, want.dy),
    dTPrime: relativeError([result.dTPrime], [want.dTPrime]),
    dBias: relativeError([result.dBias], [want.dBias]),
  };
}

module.exports = { errorsAgainstFloat64, relativeError };
