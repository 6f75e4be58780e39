import { spawn, type ChildProcess } from 'node:child_process';

// Runs a child process that prints JSON lines on stdout and returns the last line whose
// "event" is the one wanted; any other exit is an Error carrying the child's stderr tail.

const live = new Set<ChildProcess>();

/** Kills the children still running (the bench was interrupted). */
export function killChildren(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const child of live) child.kill(signal);
}

/** Counts a child started elsewhere among those killChildren stops. */
export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.on('close', () => live.delete(child));
}

export function runChild<T extends { event: string }>(file: string, argv: string[], wanted: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      live.delete(child);
      let found: T | undefined;
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        try {
          const event = JSON.parse(line) as T;
          if (event.event === wanted) found = event;
        } catch {
          // not one of ours
        }
      }
      if (code === 0 && found) resolve(found);
      else reject(new Error(`${[file, ...argv.slice(0, 1)].join(' ')}: exit ${code ?? signal}, no '${wanted}' event\n${stderr.trim()}`));
    });
  });
}

/** The same with this Node binary running a script. */
export function runNodeChild<T extends { event: string }>(script: string, argv: string[], wanted: string): Promise<T> {
  return runChild<T>(process.execPath, [script, ...argv], wanted);
}
