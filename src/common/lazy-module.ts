/**
 * A module loaded on first use. The broker, SQL and mail clients (amqplib, mqtt, nats, mysql2,
 * nodemailer) add ~60 MB and ~0.6 s to every thread that loads them; most deployments use none
 * of them, and each engine process loads the app twice (HTTP thread and job thread).
 */
export function lazyModule<T>(id: string): () => T {
  let loaded: T | undefined;
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- loading on demand is the point
  return () => (loaded ??= require(id) as T);
}
