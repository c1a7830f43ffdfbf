/** Checking that the Redis server answers before a queue or worker waits on it forever. */
import { Redis } from 'ioredis';

export const QUEUE_NAME = 'prune-once-stages';

export class RedisUnreachableError extends Error {}

export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RedisUnreachableError(`--redis ${url}: not a URL; write it as redis://host:6379`);
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:')
    throw new RedisUnreachableError(`--redis ${url}: expected a redis:// or rediss:// URL, e.g. redis://127.0.0.1:6379`);
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => {}); // reported below, once
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    throw new RedisUnreachableError(
      `--redis ${url}: Redis does not answer (${(e as Error).message}); start it (e.g. redis-server --port ${parsed.port || 6379}) or point --redis at a running server`,
    );
  } finally {
    client.disconnect();
  }
}
