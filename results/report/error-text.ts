// A failed point's stored error is the orchestrator's headline ("runner 0 exited with code 1")
// followed by the tail of the runner's stderr, which may hold a JavaScript stack or a diagnostic
// trace of the HDF5 library. The report shows the message in our words: the headline and the
// runner's own "error:" lines (with their value and hint), without stack frames or traces.

const STACK_FRAME = /^\s+at\s/;
const NOISE = [/^--- stderr of runner \d+/, /^\[runner \d+\]/, /^HDF5-DIAG/, /^\s+#\d+:/, /^\s+(major|minor):/, /^, filename = /];

export function errorInWords(stored: string): string {
  const [headline = '', ...tail] = stored.split('\n');
  const lines = tail.filter((line, i) => {
    if (STACK_FRAME.test(line) || NOISE.some((re) => re.test(line))) return false;
    // "RangeError: ..." heads the frames below it and repeats the message above it.
    return !STACK_FRAME.test(tail[i + 1] ?? '');
  });
  const lastError = lines.map((l) => l.startsWith('error:')).lastIndexOf(true);
  if (lastError < 0) return [headline, ...lines].filter((l) => l.trim() !== '').join('\n');
  const block = [lines[lastError]!];
  for (const line of lines.slice(lastError + 1)) {
    if (!/^\s+(value|hint):/.test(line)) break;
    block.push(line);
  }
  return [headline, ...block].join('\n');
}
