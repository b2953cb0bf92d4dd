/**
 * What the model does through the team tool only with the user's yes (interactive sessions only; without a UI it is
 * refused): edit the user's own resources, delete run data, push to a remote.
 */

/** Asks the user (an interactive session's `ctx.ui.confirm`). */
export type Confirm = (title: string, message: string) => Promise<boolean>;

/**
 * The user's own resources apply to every repository and can override builtins: the model edits them only with the
 * user's confirmation.
 */
export async function confirmUserScope(confirm: Confirm | undefined, scope: string | undefined, what: string) {
	if (scope !== "user") return;
	if (!confirm)
		throw new Error(
			`${what} in the user's resources needs the user's confirmation: ask them to do it, or use scope "project"`,
		);
	if (!(await confirm("pi-crew", `Allow the agent to ${what} in your pi-crew resources (all repositories)?`)))
		throw new Error(`the user declined: ${what}`);
}

/** Deleting run data needs the user's yes to the very list that goes: a model's call alone never deletes a run. */
export async function confirmRemoval(confirm: Confirm | undefined, action: string, what: string, items: string[]) {
	if (!confirm)
		throw new Error(
			`${what} needs the user's confirmation: ask them to do it (pi-crew ${action}), or use dryRun to list what it would remove`,
		);
	const shown = items.slice(0, 20).join("\n") + (items.length > 20 ? `\n… and ${items.length - 20} more` : "");
	if (!(await confirm("pi-crew", `Allow the agent to ${what}? This deletes:\n${shown}`)))
		throw new Error(`the user declined: ${what}`);
}

/** The model's push, put to the user with the remote and its URL; none to ask (no UI): refused. */
export function pushConfirmation(confirm: Confirm | undefined, remote: string | undefined) {
	if (!remote) return undefined;
	if (!confirm)
		throw new Error(
			`pushing to ${remote} needs the user's confirmation: ask them to do it (/team-apply or pi-crew apply with --push), or apply without push`,
		);
	return (name: string, url: string, branch: string) =>
		confirm("pi-crew", `Allow the agent to push branch ${branch} to ${name} (${url})? A push cannot be undone.`);
}
