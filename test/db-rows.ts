import Database from 'better-sqlite3';

/** The rows a query returns from a results database, read through its own read-only connection. */
export function rows<T>(db: string, sql: string, ...params: unknown[]): T[] {
  const conn = new Database(db, { readonly: true });
  try {
    return conn.prepare(sql).all(...params) as T[];
  } finally {
    conn.close();
  }
}
