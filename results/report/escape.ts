// Every piece of text that reaches the page (sweep names, tags, errors, params) goes through
// here: it is escaped for text and attribute positions alike, and C0 control characters that
// HTML and XML reject are dropped.

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeText(value: unknown): string {
  return String(value)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '')
    .replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}
