// A reader that stops early (`sweep query ... | head`) closes our pipe, and the next write fails
// with EPIPE. Like any Unix tool we then stop quietly instead of dying on an unhandled 'error'
// event with a stack trace: a sweep in flight is interrupted as by Ctrl-C (its runners stopped,
// its finished points kept, status 'interrupted'); any other command exits at once with 141
// (128 + SIGPIPE, what a shell reports for a process the pipe killed), never with 0, so a
// `set -o pipefail` script cannot mistake a cut-off compare for a pass.

export const EXIT_PIPE_CLOSED = 141;

export function stopQuietlyWhenOutputCloses(): void {
  let closed = false;
  const onError = (err: NodeJS.ErrnoException): void => {
    if (closed) return; // later writes to the dead pipe fail too; one stop is enough
    if (err.code !== 'EPIPE') throw err;
    closed = true;
    // The sweep command listens for SIGTERM while it runs; nothing else does.
    if (process.listenerCount('SIGTERM') > 0) process.emit('SIGTERM', 'SIGTERM');
    else process.exit(EXIT_PIPE_CLOSED);
  };
  process.stdout.on('error', onError);
  process.stderr.on('error', onError);
}
