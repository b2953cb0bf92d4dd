/** Retry policy: validated up front, exponential backoff with jitter from an injected random source. */
import type { RetryPolicy } from "../store/settings.js";

/** Delay before the attempt after `failedAttempt` (1-based): backoff × factor^(n-1), ± jitter. */
export function retryDelay(policy: RetryPolicy, failedAttempt: number, random: () => number): number {
	const base = policy.backoffMs * policy.factor ** (failedAttempt - 1);
	return Math.max(0, Math.round(base + (random() * 2 - 1) * policy.jitter * base));
}
