// A one-line progress bar on stderr for bench/ and demo/ (redrawn in place on a terminal, one line
// per step otherwise), so benchmark tables on stdout stay clean.
'use strict';

function createProgress(total, label) {
  let done = 0;
  const tty = process.stderr.isTTY;
  const draw = (what) => {
    const width = 24;
    const filled = Math.round((width * done) / total);
    const line = `${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${done}/${total} ${what}`;
    process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  };
  return {
    start(what) {
      draw(what);
    },
    step(what) {
      done += 1;
      draw(what);
    },
    finish() {
      if (tty) process.stderr.write('\n');
    },
  };
}

module.exports = { createProgress };
