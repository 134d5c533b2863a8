/**
 * A promise rejected with nobody listening is a bug, but not one that should take every in-flight
 * request and job down with it: log it loudly and keep serving (committed work is safe either way).
 */
export function logUnhandledRejections(): void {
  process.on('unhandledRejection', (reason: unknown) => {
    process.stderr.write(
      `${JSON.stringify({ level: 50, time: Date.now(), msg: 'unhandled promise rejection', err: String((reason as Error)?.stack ?? reason) })}\n`,
    );
  });
}
