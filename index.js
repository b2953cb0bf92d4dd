// pi's entry to the extension (the package's `pi` manifest). At the package root so that pi's extension list names it
// after the package ("pi-crew"), not after the directory of the compiled entry.
export { default } from "./dist/extension/index.js";
