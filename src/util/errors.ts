/**
 * Errors whose message explains itself to a user: each class says how the CLI exits with it (2: bad input, 1: an
 * operation that could not complete). Anything else that reaches the CLI is a bug and is printed with its stack.
 */
export class CrewError extends Error {
	constructor(
		message: string,
		/** The CLI's exit code for this error. */
		readonly exitCode: 1 | 2,
	) {
		super(message);
		this.name = new.target.name;
	}
}

/** Bad input (arguments, files, ids, a run in the wrong state for the request): exit 2. */
export class UsageError extends CrewError {
	constructor(message: string) {
		super(message, 2);
	}
}

/** An operation that could not complete for a reason the message explains: exit 1. */
export class OperationError extends CrewError {
	constructor(message: string) {
		super(message, 1);
	}
}
