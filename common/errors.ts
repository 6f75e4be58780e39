// Every failure the user must fix is a UserError: it says where (file, line:column, dataset,
// key), what value was wrong, and what to do. The CLI prints it the same way everywhere and
// exits with 2. Anything else that escapes is a bug or an environment failure (exit 1).

export interface ErrorLocation {
  file?: string;
  line?: number;
  column?: number;
  /** A path inside the file: an HDF5 dataset, a YAML key path, a JSON pointer. */
  at?: string;
}

export class UserError extends Error {
  readonly location: ErrorLocation;
  readonly value: unknown;
  readonly hint: string | undefined;
  readonly exitCode = 2;

  constructor(message: string, opts: { location?: ErrorLocation; value?: unknown; hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'UserError';
    this.location = opts.location ?? {};
    this.value = opts.value;
    this.hint = opts.hint;
  }
}

export function isUserError(err: unknown): err is UserError {
  return err instanceof UserError;
}

/** "file:line:column (at)" with whatever parts are known, or '' when none are. */
export function formatLocation(loc: ErrorLocation): string {
  let where = loc.file ?? '';
  if (loc.line !== undefined) where += `${where ? ':' : 'line '}${loc.line}${loc.column !== undefined ? `:${loc.column}` : ''}`;
  if (loc.at) where += where ? ` (${loc.at})` : loc.at;
  return where;
}

/** One shape for every message: "error: WHERE: MESSAGE\n  value: V\n  hint: H". */
export function formatError(err: unknown): string {
  if (err instanceof FileSystemError) {
    const where = formatLocation(err.location);
    return [`error: ${where ? `${where}: ` : ''}${err.message}`, ...(err.hint ? [`  hint: ${err.hint}`] : [])].join('\n');
  }
  if (!isUserError(err)) {
    const e = err instanceof Error ? err : new Error(String(err));
    return `error: ${e.message}`;
  }
  const where = formatLocation(err.location);
  const lines = [`error: ${where ? `${where}: ` : ''}${err.message}`];
  if (err.value !== undefined) lines.push(`  value: ${typeof err.value === 'string' ? err.value : JSON.stringify(err.value)}`);
  if (err.hint) lines.push(`  hint: ${err.hint}`);
  return lines.join('\n');
}

/**
 * A file the machine would not let us write or read (full disk, read-only medium, no
 * permission): not bad input, so exit 1, but printed in the same shape, with the path.
 */
export class FileSystemError extends Error {
  readonly location: ErrorLocation;
  readonly hint: string | undefined;

  constructor(message: string, opts: { location: ErrorLocation; hint?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'FileSystemError';
    this.location = opts.location;
    this.hint = opts.hint;
  }
}
