// RFC 4180 CSV: CRLF line ends; a field holding a comma, a double quote, CR or LF is quoted,
// and its quotes doubled. NULL is an empty field; a BLOB is written as base64.

export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  let text: string;
  if (Buffer.isBuffer(v)) text = v.toString('base64');
  else if (typeof v === 'object') text = JSON.stringify(v);
  else text = String(v);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function toCsv(columns: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const lines = [columns, ...rows].map((r) => r.map(csvField).join(','));
  return lines.join('\r\n') + '\r\n';
}
