// Local stacks a benchmark starts: each stopped when its phase ends, and every one still running
// stopped by stopStacks() when the benchmark ends early (an error, SIGINT, SIGTERM).
import { type LocalStack, startLocalStack } from "../../scripts/lib/local-stack.ts";

const running = new Set<LocalStack>();

export async function withStack<T>(opts: Parameters<typeof startLocalStack>[0], fn: (stack: LocalStack) => Promise<T>): Promise<T> {
  const stack = await startLocalStack(opts);
  running.add(stack);
  try {
    return await fn(stack);
  } finally {
    running.delete(stack);
    await stack.stop();
  }
}

export async function stopStacks(): Promise<void> {
  await Promise.all([...running].map((s) => s.stop().catch(() => {})));
  running.clear();
}
