/**
 * The extension's one lazy-load boundary: pi loads the extension at every start, so registration imports nothing
 * heavy; the api and everything behind it load here, on first use, once per session.
 */
const once = <T>(load: () => Promise<T>): (() => Promise<T>) => {
	let loading: Promise<T> | undefined;
	return () => {
		loading ??= load().catch((err) => {
			loading = undefined; // a failed load is tried again next time
			throw err;
		});
		return loading;
	};
};

export const lazy = {
	api: once(() => import("../api/index.js")),
	lifecycle: once(() => import("../api/lifecycle.js")),
	bundle: once(() => import("../api/bundle.js")),
	handover: once(() => import("../api/handover.js")),
	prune: once(() => import("../api/prune.js")),
	cleanup: once(() => import("../api/cleanup.js")),
	doctor: once(() => import("../api/doctor.js")),
	edit: once(() => import("../api/edit.js")),
	init: once(() => import("../api/init.js")),
	metrics: once(() => import("../api/metrics.js")),
	recommend: once(() => import("../api/recommend.js")),
	config: once(() => import("../config/config.js")),
	render: once(() => import("../view/render.js")),
	board: once(() => import("../view/board.js")),
	autonomy: once(() => import("./autonomy.js")),
	dashboard: once(() => import("./dashboard.js")),
	live: once(() => import("./live.js")),
	wake: once(() => import("./wake.js")),
	policy: once(() => import("./policy.js")),
	teamActions: once(() => import("./team-actions.js")),
	apply: once(() => import("./apply.js")),
	inertUi: once(() => import("./inert-ui.js")),
	printUi: once(() => import("./print-ui.js")),
	suggest: once(() => import("../util/suggest.js")),
	session: once(() => import("./session.js")),
	lease: once(() => import("../store/lease.js")),
	yaml: once(() => import("yaml")),
};
