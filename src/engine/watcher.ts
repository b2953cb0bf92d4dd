/**
 * Heartbeats of running tasks. Any output of a worker is a beat (and workers beat on their own while a tool runs).
 * The watcher polls, reports each change of level once (healthy < warn < stale < dead), and after `deadTicks`
 * consecutive dead polls stops the worker so its task can be dead-lettered.
 */
import type { HeartbeatLevel, HeartbeatPolicy } from "../store/settings.js";

export function heartbeatLevel(silentMs: number, p: HeartbeatPolicy): HeartbeatLevel {
	if (silentMs >= p.deadMs) return "dead";
	if (silentMs >= p.staleMs) return "stale";
	if (silentMs >= p.warnMs) return "warn";
	return "healthy";
}

interface Tracked {
	lastBeat: number;
	/** Open waits on a person (a question): a silent worker is not a hung one meanwhile. */
	paused: number;
	level: HeartbeatLevel;
	deadTicks: number;
	kill: (silentMs: number) => void;
}

export class HeartbeatWatcher {
	private readonly tasks = new Map<string, Tracked>();
	private timer: NodeJS.Timeout | undefined;

	constructor(
		private readonly policy: HeartbeatPolicy,
		private readonly onLevel: (taskId: string, level: HeartbeatLevel, silentMs: number) => void,
		private readonly now: () => number = Date.now,
	) {}

	start(): void {
		this.timer = setInterval(() => this.tick(), this.policy.pollMs);
		this.timer.unref();
	}

	stop(): void {
		clearInterval(this.timer);
	}

	/** A worker of `taskId` started; `kill` stops it when it has been dead for `deadTicks` polls. */
	track(taskId: string, kill: (silentMs: number) => void): void {
		this.tasks.set(taskId, { lastBeat: this.now(), paused: 0, level: "healthy", deadTicks: 0, kill });
	}

	untrack(taskId: string): void {
		this.tasks.delete(taskId);
	}

	beat(taskId: string): void {
		const t = this.tasks.get(taskId);
		if (t) t.lastBeat = this.now();
	}

	/** The task's worker waits on a person until `resume`: its silence does not count. */
	pause(taskId: string): void {
		const t = this.tasks.get(taskId);
		if (t) t.paused++;
	}

	resume(taskId: string): void {
		const t = this.tasks.get(taskId);
		if (!t) return;
		t.paused = Math.max(0, t.paused - 1);
		t.lastBeat = this.now();
	}

	tick(): void {
		for (const [taskId, t] of this.tasks) {
			if (t.paused > 0) t.lastBeat = this.now();
			const silentMs = this.now() - t.lastBeat;
			const level = heartbeatLevel(silentMs, this.policy);
			if (level !== t.level) {
				t.level = level;
				this.onLevel(taskId, level, silentMs);
			}
			t.deadTicks = level === "dead" ? t.deadTicks + 1 : 0;
			if (t.deadTicks === this.policy.deadTicks) t.kill(silentMs);
		}
	}
}
