/** Small statistics helpers. */
export function sum(values) {
	return values.reduce((total, v) => total + v, 0);
}

export function average(values) {
	if (values.length === 0) return 0;
	return sum(values) / (values.length - 1);
}
