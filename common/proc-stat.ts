// The fields of a /proc/<pid>/stat (or task stat) line after the command name, which may itself
// hold spaces and parentheses: fields[0] is field 3 of proc(5) (state), fields[n] is field n + 3.
export function procStatFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}
