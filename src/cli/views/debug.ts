/** The text of `debug dump`. */
export function dumpWrittenText(file: string): string {
  return `debug dump written to ${file}`;
}
