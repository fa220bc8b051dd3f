/** Whether `error` is a Node.js system error with this `code` (ENOENT, EEXIST, ESRCH…). */
export function isErrnoCode(error: unknown, code: string): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === code;
}
