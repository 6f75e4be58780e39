import { answerOf, runCheck, type CheckAnswer, type ReadCheck } from './check.js';

// The child process of a bounded read (bounded.ts): runs one check given as JSON in argv[2]
// and prints its answer as one JSON line. Its parent kills it when the time limit passes.

async function main(): Promise<void> {
  let answer: CheckAnswer;
  try {
    await runCheck(JSON.parse(process.argv[2] ?? '') as ReadCheck);
    answer = { ok: true };
  } catch (err) {
    answer = answerOf(err);
  }
  process.stdout.write(JSON.stringify(answer) + '\n', () => process.exit(0));
}

void main();
