/** What went wrong, as text for a log line, an alert or a reply: an Error's message, or the value itself. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
