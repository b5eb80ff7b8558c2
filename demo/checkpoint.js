// Checkpoints of a training run, so that a run killed at step s resumes where its last
// checkpoint left it and ends with the same bits as a run never killed: the trainable
// variables (the towers, t' and b), Adam's whole state, the step and the data RNG's state.
// Written atomically (a temp file, fsync, rename, the folder fsynced): a kill at any moment
// leaves the previous whole checkpoint. Rank 0 writes; every rank reads the same file.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const FILE = 'checkpoint.json';

/** Float32 values as base64 of their bytes: the exact bits. */
function encode(values) {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decode(text) {
  const bytes = Buffer.from(text, 'base64');
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function writeAtomically(file, text) {
  const temp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(temp, 'w');
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(temp, file);
  const dir = fs.openSync(path.dirname(file), 'r');
  try {
    fs.fsyncSync(dir); // the rename itself survives a crash
  } finally {
    fs.closeSync(dir);
  }
}

/**
 * Saves step `step`'s state. Adam's moments and iteration count come from its own
 * getWeights; its running powers of beta1 and beta2 (accBeta1, accBeta2) are kept too, since
 * its setWeights recomputes them as a power, which differs in the last bits from the
 * products that training accumulated.
 */
async function saveCheckpoint(dir, { step, variables, optimizer, rngState, history }) {
  fs.mkdirSync(dir, { recursive: true });
  const adam = await optimizer.getWeights();
  const state = {
    step,
    rngState,
    history,
    variables: variables.map((v) => ({ name: v.name, shape: v.shape, data: encode(v.dataSync()) })),
    optimizer: adam.map(({ name, tensor }) => ({
      name,
      shape: tensor.shape,
      data: encode(tensor.dataSync()),
    })),
    accBeta: [optimizer.accBeta1, optimizer.accBeta2].map((v) => encode(v.dataSync())),
  };
  writeAtomically(path.join(dir, FILE), JSON.stringify(state));
}

/** The last whole checkpoint in `dir`, or undefined. */
function latestCheckpoint(dir) {
  const file = path.join(dir, FILE);
  return fs.existsSync(file) ? JSON.parse(fs.readFileSync(file, 'utf8')) : undefined;
}

/** Puts a checkpoint's state back into the variables and the optimizer; returns its step and RNG state. */
async function restoreCheckpoint(tf, checkpoint, { variables, optimizer }) {
  if (checkpoint.variables.length !== variables.length) {
    throw new Error(
      `the checkpoint has ${checkpoint.variables.length} variables, the model ${variables.length}`,
    );
  }
  checkpoint.variables.forEach((saved, i) => {
    tf.tidy(() => variables[i].assign(tf.tensor(decode(saved.data), saved.shape)));
  });
  await optimizer.setWeights(
    checkpoint.optimizer.map(({ name, shape, data }) => ({ name, tensor: tf.tensor(decode(data), shape) })),
  );
  [optimizer.accBeta1, optimizer.accBeta2].forEach((v, i) => {
    tf.tidy(() => v.assign(tf.scalar(decode(checkpoint.accBeta[i])[0])));
  });
  return { step: checkpoint.step, rngState: checkpoint.rngState, history: checkpoint.history };
}

module.exports = { saveCheckpoint, latestCheckpoint, restoreCheckpoint };
