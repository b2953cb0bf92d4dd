import { sandbox, soloTeam } from "./support.js";

const n = Number(process.argv[2]);
const box = await sandbox(`scale${n}`);
const steps = Array.from({ length: n }, (_, i) => {
	const layer = Math.floor(i / 100);
	const previous = (k: number) => `n${(layer - 1) * 100 + (k % 100)}`;
	return { id: `n${i}`, dependsOn: layer === 0 ? [] : [previous(i), ...(i % 3 === 0 ? [previous(i + 1)] : [])] };
});
await soloTeam(box, "wide", steps, "ls");
await box.write("scenario.yaml", 'default:\n  - say: "ok"\n');
console.log(box.dir);
